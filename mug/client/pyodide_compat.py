"""Stand-ins for what Pyodide lacks, installed by the worker before anything imports gymnasium.

gymnasium imports `multiprocessing.synchronize` (through its async vector env), which needs the C module
`_multiprocessing`; Pyodide has none. An inert module lets the import succeed; actually using it (gymnasium's
AsyncVectorEnv, a multiprocessing lock) raises OSError saying why.
"""

from __future__ import annotations

import sys
import types
from typing import Any

_WHY = "multiprocessing is not available in the browser (Pyodide)"


class _SemLock:
    SEM_VALUE_MAX = 2147483647

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise OSError(_WHY)


def _sem_unlink(name: str) -> None:
    raise OSError(_WHY)


def install() -> None:
    """Register the inert `_multiprocessing` module unless a real one exists."""
    if "_multiprocessing" in sys.modules:
        return
    try:
        import _multiprocessing  # noqa: F401  (CPython has it)

        return
    except ImportError:
        pass
    module = types.ModuleType("_multiprocessing", _WHY)
    module.SemLock = _SemLock  # type: ignore[attr-defined]
    module.sem_unlink = _sem_unlink  # type: ignore[attr-defined]
    module.flags = {}  # type: ignore[attr-defined]
    sys.modules["_multiprocessing"] = module
