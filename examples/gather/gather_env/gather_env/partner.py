"""An AI partner for Gather, a MUG policy (`make_policy(agent, action_space) -> act(observation, rng)`).

It walks towards the nearest apple (ties broken by the seeded generator MUG passes in), so the same seed
and the same human moves give the same game on every machine.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def make_greedy(agent: int, action_space: Any) -> Any:
    def act(observation: np.ndarray, rng: np.random.Generator) -> int:
        me = np.argwhere(observation[0] == 1)[0]
        apples = np.argwhere(observation[2] == 1)
        if len(apples) == 0:
            return 0
        dist = np.abs(apples - me).sum(axis=1)
        nearest = apples[rng.choice(np.flatnonzero(dist == dist.min()))]
        dr, dc = int(nearest[0] - me[0]), int(nearest[1] - me[1])
        if dr and (not dc or rng.random() < 0.5):
            return 2 if dr > 0 else 1
        if dc:
            return 4 if dc > 0 else 3
        return 0

    return act
