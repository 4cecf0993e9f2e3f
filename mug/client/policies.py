"""AI controllers: a Policy ref names `make_policy(agent, action_space, **kwargs)`, which returns `act`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mug.refs import RefError, resolve_ref

Act = Callable[[Any, np.random.Generator], Any]


class PolicyError(Exception):
    """A policy could not be loaded or made; the message says what and how to fix it."""


def load_policy(ref: str, agent: str, action_space: Any, kwargs: dict[str, Any] | None = None) -> Act:
    """Import the factory named by `ref` ("package.module:callable") and make the agent's `act` function.

    Raises:
        PolicyError: the module or callable is missing, the factory failed, or it did not return a callable.
    """
    try:
        factory = resolve_ref(ref, f"policy for agent {agent!r}")
    except RefError as exc:
        raise PolicyError(str(exc)) from exc
    try:
        act = factory(agent, action_space, **(kwargs or {}))
    except Exception as exc:
        raise PolicyError(
            f"policy for agent {agent!r}: {ref!r}: make_policy(agent, action_space, **kwargs) "
            f"raised {type(exc).__name__}: {exc}"
        ) from exc
    if not callable(act):
        raise PolicyError(
            f"policy for agent {agent!r}: {ref!r}: the factory returned {type(act).__name__}, not a "
            "callable act(observation, rng)"
        )
    return act
