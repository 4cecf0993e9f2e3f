"""A Gymnasium env drawn by a `Surface` with a sprite from the experiment's assets folder (`red-square.png`,
tests/e2e/assets): a blue 100 x 100 surface with the sprite in its centre half."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from mug.rendering import Surface


class SpriteEnv(gym.Env[np.ndarray, np.int64]):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(self, render_mode: str | None = None) -> None:
        self.render_mode = render_mode
        self.action_space = spaces.Discrete(2)
        self.observation_space = spaces.Box(0, 1000, shape=(1,), dtype=np.int64)
        self.t = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.t = 0
        return np.array([self.t]), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.t += 1
        return np.array([self.t]), 0.0, False, False, {}

    def render(self) -> Surface:  # type: ignore[override]  # a MUG draw list, not an image
        s = Surface(100, 100, background="#0000ff")
        s.clear()
        s.image("red-square.png", 25, 25, 50, 50)
        return s


def make_env(**kwargs: Any) -> SpriteEnv:
    return SpriteEnv(**kwargs)
