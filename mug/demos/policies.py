"""A heuristic Catch player, usable as an AI controller: `Policy(ref="mug.demos.policies:make_catcher")`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from mug.demos.catch import LEFT, RIGHT, STAY


def make_catcher(
    agent: str, action_space: Any, epsilon: float = 0.05, slack: float = 0.02
) -> Callable[[Any, np.random.Generator], int]:
    """Return `act(observation, rng)`: move towards the lowest fruit, with a random move now and then.

    Works for `catch` (array observation) and `catch_duo` (the same layout per agent).

    Args:
        agent: the agent this policy plays.
        action_space: the agent's action space (Discrete(3)).
        epsilon: probability of a random action on a step.
        slack: how close (fraction of the width) counts as under the fruit.
    """
    if not 0 <= epsilon <= 1:
        raise ValueError(f"make_catcher: epsilon must be in [0, 1], got {epsilon}")

    def act(observation: Any, rng: np.random.Generator) -> int:
        obs = np.asarray(observation, dtype=np.float64)
        if rng.random() < epsilon:
            return int(rng.integers(3))
        paddle, target = obs[0], obs[1]
        if target < 0 or abs(target - paddle) <= slack:
            return STAY
        return RIGHT if target > paddle else LEFT

    return act
