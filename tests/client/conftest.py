"""Make `client_envs` importable by "module:callable" references, as the browser imports env factories."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
