"""A policy for the env checker's tests: the lowest legal action under the observation's mask."""

from __future__ import annotations

from typing import Any

import numpy as np


def make_lowest_legal(agent: str, action_space: Any) -> Any:
    def act(observation: dict[str, np.ndarray], rng: np.random.Generator) -> int:
        return int(np.flatnonzero(observation["action_mask"])[0])

    return act


CALLS: list[str] = []  # one entry per call of a counting policy's act (CPython tests read it)


def make_counting(agent: str, action_space: Any) -> Any:
    def act(observation: Any, rng: np.random.Generator) -> int:
        CALLS.append(agent)
        return 0

    return act
