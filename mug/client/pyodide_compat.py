"""Stand-ins for what Pyodide lacks, installed by the worker before anything imports gymnasium.

gymnasium imports `multiprocessing.synchronize` (through its async vector env), which needs the C module
`_multiprocessing`; Pyodide has none. An inert module lets the import succeed; actually using it (gymnasium's
AsyncVectorEnv, a multiprocessing lock) raises OSError saying why.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Sequence
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


# -- pygame: an opt-in stand-in (GameScene.pygame_stub, `mug check-env --pygame-stub`)

PYGAME_WHY = (
    "pygame is not in the browser bundle (there is no Pyodide build of pygame-ce to bundle): this is MUG's "
    "stand-in (GameScene.pygame_stub=True), which lets `import pygame` succeed but cannot draw. Render with a "
    "mug.rendering.Surface or an rgb_array of your own (wrap the env and override render())."
)


class PygameUnavailable(RuntimeError):
    """Something used pygame's stand-in: pygame itself is not available."""


class _Missing:
    """Any pygame name: attribute access gives another stand-in, calling one raises PygameUnavailable."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attr: str) -> _Missing:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _Missing(f"{self._name}.{attr}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise PygameUnavailable(f"{self._name}() was called: {PYGAME_WHY}")

    def __repr__(self) -> str:
        return f"<stand-in for {self._name}>"


class _PygameModule(types.ModuleType):
    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return _Missing(f"{self.__name__}.{attr}")


class _PygameFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports `pygame` and any `pygame.x.y` as stand-in modules."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname == "pygame" or fullname.startswith("pygame."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _PygameModule(spec.name, PYGAME_WHY)
        module.__path__ = []
        module.MUG_STAND_IN = True  # type: ignore[attr-defined]
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        pass


def pygame_available() -> bool:
    """True if a real pygame can be imported (CPython with pygame installed); False in the browser."""
    module = sys.modules.get("pygame")
    if module is not None:
        return not getattr(module, "MUG_STAND_IN", False)
    spec = importlib.util.find_spec("pygame")
    return spec is not None and not isinstance(spec.loader, _PygameFinder)


def install_pygame_stub() -> str:
    """Make `import pygame` work where pygame is missing; return which pygame the env gets.

    Returns:
        "pygame" when a real pygame is importable (nothing is installed), else "stand-in".
    """
    if pygame_available():
        return "pygame"
    if not any(isinstance(f, _PygameFinder) for f in sys.meta_path):
        sys.meta_path.append(_PygameFinder())
    return "stand-in"


def remove_pygame_stub() -> None:
    """Undo `install_pygame_stub` (for tests): drop the finder and every stand-in module."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _PygameFinder)]
    for name in [n for n, m in sys.modules.items() if getattr(m, "MUG_STAND_IN", False)]:
        del sys.modules[name]
