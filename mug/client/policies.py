"""AI controllers: a Policy ref names `make_policy(agent, action_space, **kwargs)`, which returns `act`."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import numpy as np

Act = Callable[[Any, np.random.Generator], Any]


class PolicyError(Exception):
    """A policy could not be loaded or made; the message says what and how to fix it."""


def load_policy(ref: str, agent: str, action_space: Any, kwargs: dict[str, Any] | None = None) -> Act:
    """Import the factory named by `ref` ("package.module:callable") and make the agent's `act` function.

    Raises:
        PolicyError: the module or callable is missing, the factory failed, or it did not return a callable.
    """
    module_name, sep, attr = ref.partition(":")
    if not sep or not module_name or not attr:
        raise PolicyError(f"policy {ref!r} for agent {agent!r} must look like 'package.module:make_policy'")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise PolicyError(
            f"policy {ref!r} for agent {agent!r}: cannot import {module_name!r} ({exc}); add its "
            "package to the scene's `packages` so it is built into the bundle"
        ) from exc
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise PolicyError(f"policy {ref!r} for agent {agent!r}: {module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise PolicyError(f"policy {ref!r} for agent {agent!r}: {attr!r} is not callable")
    try:
        act = obj(agent, action_space, **(kwargs or {}))
    except Exception as exc:
        raise PolicyError(
            f"policy {ref!r} for agent {agent!r}: make_policy(agent, action_space, **kwargs) "
            f"raised {type(exc).__name__}: {exc}"
        ) from exc
    if not callable(act):
        raise PolicyError(
            f"policy {ref!r} for agent {agent!r}: the factory returned {type(act).__name__}, not a "
            "callable act(observation, rng)"
        )
    return act
