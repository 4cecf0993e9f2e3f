"""Tug of war, a Gymnasium env with a joint action: `Tuple((Discrete(3), Discrete(3)))`, one entry per player.

A rope's knot sits at 0; each step the first entry pulls it by `action - 1` and the second by `1 - action`
(so both pressing the same key cancel out). The episode terminates when the knot reaches +/-`REACH`.
Observation: `[knot, steps]` (int64); reward: the knot's move toward the first player.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

REACH = 200  # more than 2 x 90 steps: the browser test's episodes run to max_steps
SIZE = 60


class Tug(gym.Env[np.ndarray, tuple[Any, ...]]):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(self, render_mode: str | None = None) -> None:
        self.render_mode = render_mode
        self.action_space = spaces.Tuple((spaces.Discrete(3), spaces.Discrete(3)))
        self.observation_space = spaces.Box(-10_000, 10_000, shape=(2,), dtype=np.int64)
        self.knot = 0
        self.steps = 0

    def _obs(self) -> np.ndarray:
        return np.array([self.knot, self.steps], dtype=np.int64)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.knot = 0
        self.steps = 0
        return self._obs(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        first, second = (int(a) for a in action)
        move = (first - 1) + (1 - second)
        self.knot += move
        self.steps += 1
        return self._obs(), float(move), abs(self.knot) >= REACH, False, {}

    def render(self) -> np.ndarray:
        frame = np.full((SIZE, SIZE, 3), 30, dtype=np.uint8)
        frame[SIZE // 2 - 1 : SIZE // 2 + 1, :] = 200  # the rope
        x = int(np.clip(SIZE // 2 + self.knot * (SIZE // 2 - 2) // REACH, 0, SIZE - 2))
        frame[SIZE // 2 - 4 : SIZE // 2 + 4, x : x + 2] = (255, 200, 0)  # the knot
        return frame


def make_env(**kwargs: Any) -> Tug:
    return Tug(**kwargs)
