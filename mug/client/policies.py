"""AI controllers: a Policy ref names `make_policy(agent, action_space, **kwargs)`, which returns `act`.

`act(observation, rng) -> action`. Action masks: an environment that follows PettingZoo's convention puts
the mask in the observation (`observation["action_mask"]`), so the policy sees it there. A mask given in
`info["action_mask"]` instead reaches an `act` that declares a keyword parameter `action_mask`:
`act(observation, rng, action_mask=None)` is called with the agent's current mask (a numpy array, or None
when the env gives none). MUG does not correct a policy's choice: a policy must pick a legal action.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from mug.client.agents import AgentId
from mug.refs import RefError, resolve_ref

Act = Callable[..., Any]


class Controller:
    """A loaded policy: `controller(observation, rng, mask)` calls `act`, passing the mask if it asks for it."""

    def __init__(self, act: Act) -> None:
        self.act = act
        try:
            params = inspect.signature(act).parameters
        except (TypeError, ValueError):  # a builtin or C callable: no signature to read
            params = {}  # type: ignore[assignment]
        self.wants_mask = "action_mask" in params or any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
        )

    def __call__(self, observation: Any, rng: np.random.Generator, mask: np.ndarray | None = None) -> Any:
        if self.wants_mask:
            return self.act(observation, rng, action_mask=mask)
        return self.act(observation, rng)


class PolicyError(Exception):
    """A policy could not be loaded or made; the message says what and how to fix it."""


def load_policy(ref: str, agent: AgentId, action_space: Any, kwargs: dict[str, Any] | None = None) -> Controller:
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
    return Controller(act)


class Every:
    """`act_every=k`: a policy acts on its agent's 1st, (k+1)th, (2k+1)th, ... step of an episode and holds
    its last action in between. A held action that the agent's mask now forbids is not held: the policy
    acts anew at that step (the cadence of the others does not change).

    Args:
        k: steps per decision (1: every step).
    """

    def __init__(self, k: int = 1) -> None:
        if not isinstance(k, int) or isinstance(k, bool) or k < 1:
            raise PolicyError(f"act_every={k!r}: use a whole number of steps, 1 or more")
        self.k = k
        self.reset()

    def reset(self) -> None:
        """A new episode: the next step is a decision."""
        self.count = 0
        self.last: Any = None
        self._has = False

    def due(self, legal: Callable[[Any], bool] | None = None) -> bool:
        """Whether the policy decides at this step (else `hold`)."""
        if not self._has or self.count % self.k == 0:
            return True
        return legal is not None and not legal(self.last)

    def hold(self) -> Any:
        """The held action for this step."""
        self.count += 1
        return self.last

    def took(self, action: Any) -> Any:
        """The policy decided `action` at this step; returns it."""
        self.count += 1
        self.last, self._has = action, True
        return action
