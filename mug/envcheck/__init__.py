"""The env checker: is an environment deterministic across CPython and Pyodide (the participant's browser)?"""

from mug.envcheck.check import check_env
from mug.envcheck.report import CheckReport

__all__ = ["CheckReport", "check_env"]
