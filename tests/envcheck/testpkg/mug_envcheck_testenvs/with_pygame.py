"""An env whose module imports pygame (as PettingZoo's classic games do) but never uses it."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pygame  # noqa: F401  (imported, never used: the stand-in is enough)


class Walk(gym.Env[np.ndarray, np.int64]):
    def __init__(self) -> None:
        self.action_space = gym.spaces.Discrete(3)
        self.observation_space = gym.spaces.Box(-1000, 1000, shape=(1,), dtype=np.int64)
        self.x = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.x = int(self.np_random.integers(-5, 6))
        return np.array([self.x], dtype=np.int64), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self.x += int(action) - 1
        return np.array([self.x], dtype=np.int64), float(self.x), False, False, {}
