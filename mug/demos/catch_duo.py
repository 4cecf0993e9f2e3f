"""Catch for two: agents "left" and "right" each move a paddle under the same falling fruit.

A PettingZoo ParallelEnv, the two-player form of `catch_party`. Actions per agent: Discrete(3) (0 left,
1 stay, 2 right). Rewards: +1 to the agent that catches a fruit, -1 to both for a miss (the team shares its
lives). Both terminate after `max_misses` misses. Each agent observes `[own paddle_x, x0, y0, x1, y1, x2, y2,
misses_left, other paddle_x]`.
"""

from __future__ import annotations

from typing import Any

from mug.demos.catch_party import CatchPartyEnv

AGENTS = ("left", "right")


def make_env(**kwargs: Any) -> CatchPartyEnv:
    """Make the two-player Catch environment (keyword arguments as `CatchPartyEnv`, but for `agents`)."""
    return CatchPartyEnv(agents=list(AGENTS), **{"paddle_width": 0.14} | kwargs)
