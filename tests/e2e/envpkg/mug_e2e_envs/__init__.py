"""A Gymnasium env that renders rgb_array frames: a colored square that the actions move."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

SIZE = 40


class Pixels(gym.Env[np.ndarray, np.int64]):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(self, render_mode: str | None = None) -> None:
        self.render_mode = render_mode
        self.action_space = gym.spaces.Discrete(3)
        self.observation_space = gym.spaces.Box(0, SIZE, shape=(1,), dtype=np.int64)
        self.x = SIZE // 2

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.x = SIZE // 2
        return np.array([self.x]), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self.x = int(np.clip(self.x + int(action) - 1, 0, SIZE - 8))
        return np.array([self.x]), 0.0, False, False, {}

    def render(self) -> np.ndarray:
        frame = np.zeros((SIZE, SIZE, 3), dtype=np.uint8)
        frame[:, :, 2] = 120  # blue background
        frame[16:24, self.x : self.x + 8] = (255, 0, 0)  # a red square
        return frame


def make_env(**kwargs: Any) -> Pixels:
    return Pixels(**kwargs)
