"""Make the client tests' envs (`client_envs`), the browser tests' envs (`mug_e2e_envs`) and this folder's
(`replay_envs`) importable by "module:callable" references, as the browser imports env factories."""

import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "client"))
sys.path.insert(0, str(HERE.parent / "e2e" / "envpkg"))
