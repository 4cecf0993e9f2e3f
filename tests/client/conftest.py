"""Make `client_envs` importable by "module:callable" references, as the browser imports env factories,
and the browser tests' own envs (`tests/e2e/envpkg`: `mug_e2e_envs`), so the same envs are tested here."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "e2e" / "envpkg"))
