"""References to Python callables written as ``"package.module:callable"`` (the callable may be dotted).

The one place that checks and imports them: the configurations check the form when an experiment is built
(server side, never importing), the browser's client imports environment factories and policies with
:func:`resolve_ref`, and so does the env checker in CPython. This module imports only the standard library,
so both sides of the house may use it; it ships in the client wheel.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

_REF = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
EXAMPLE = "my_envs.catch:make_env"


class RefError(ValueError):
    """A reference is malformed, cannot be imported, or does not name a callable.

    The message starts with what the reference is for (e.g. ``env``, ``policy``) and says how to fix it.
    """


def check_ref(ref: object, what: str) -> str:
    """Check that `ref` has the form ``"package.module:callable"``, without importing anything.

    Args:
        ref: the reference.
        what: what it names, for the message (e.g. ``"env"``, ``"policy for agent 'left'"``).

    Returns:
        The reference, unchanged.

    Raises:
        RefError: it is not of that form.
    """
    if not isinstance(ref, str) or not _REF.match(ref):
        raise RefError(f"{what}: {ref!r} is not a 'package.module:callable' reference (e.g. {EXAMPLE!r})")
    return ref


def resolve_ref(ref: str, what: str) -> Callable[..., Any]:
    """Import the module of `ref` and return the callable it names.

    Args:
        ref: ``"package.module:callable"``; the callable may be an attribute path (``"pkg.mod:Class.make"``).
        what: what it names, for the message (e.g. ``"env"``, ``"policy for agent 'left'"``).

    Returns:
        The callable.

    Raises:
        RefError: the reference is malformed, its module cannot be imported (the cause is chained), the
            attribute is missing, or it is not callable.
    """
    check_ref(ref, what)
    module_name, _, attr = ref.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        if isinstance(exc, ModuleNotFoundError) and exc.name == "pygame":  # no pygame at all, as in Pyodide
            raise RefError(
                f"{what}: {ref!r}: importing {module_name!r} imports pygame, which has no Pyodide build; set "
                "GameScene(pygame_stub=True) to give it MUG's stand-in (the env then renders with a "
                "mug.rendering.Surface or an rgb_array of its own)"
            ) from exc
        raise RefError(
            f"{what}: {ref!r}: cannot import {module_name!r} ({type(exc).__name__}: {exc}); add its package to "
            "the scene's `packages` so it is built into the bundle"
        ) from exc
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise RefError(f"{what}: {ref!r}: {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise RefError(f"{what}: {ref!r}: {attr!r} is a {type(obj).__name__}, not a callable")
    return obj  # type: ignore[no-any-return]
