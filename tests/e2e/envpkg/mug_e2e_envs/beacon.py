"""Beacon, a PettingZoo ParallelEnv whose observations are known in advance, for ONNX policy tests.

Agent k of `agents` observes, before step t (t = 0 after reset), the float32 vector `beacon_obs(t, k)`: four
small integers, so any linear model's outputs are exact in float32 and a test can recompute what the
policy saw from a row's step alone. Actions: Discrete(4); reward 1 when an agent's action is t % 4. Never
terminates (the scene's max_steps ends it). The info of each agent carries `t` (the step just played).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

STRIDES = np.array([3, 5, 7, 11], dtype=np.int64)
SIZE = 48
# The tests' ONNX partner (tests/e2e/models/beacon_partner.onnx): logits = obs @ PARTNER_W + PARTNER_B
PARTNER_W = np.array([[1, -1, 0, 2], [0, 2, -1, 1], [-2, 1, 1, 0], [1, 0, 2, -1]], dtype=np.float32)
PARTNER_B = np.array([0.0, 0.5, 0.25, 0.0], dtype=np.float32)


def beacon_obs(t: int, k: int) -> np.ndarray:
    """What agent number k observes before step t."""
    return (((t * STRIDES + 2 * k) % 13) - 6).astype(np.float32)


class Beacon(ParallelEnv):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 30, "name": "beacon"}

    def __init__(self, agents: list[str] | None = None, render_mode: str | None = None) -> None:
        self.possible_agents = list(agents or ["player", "ai"])
        self.agents = list(self.possible_agents)
        self.render_mode = render_mode
        self.t = 0
        self.last: dict[str, int] = {}
        self._obs_spaces = {a: spaces.Box(-6, 6, shape=(4,), dtype=np.float32) for a in self.possible_agents}
        self._act_spaces = {a: spaces.Discrete(4) for a in self.possible_agents}

    def observation_space(self, agent: str) -> spaces.Box:
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> spaces.Discrete:
        return self._act_spaces[agent]

    def _obs(self) -> dict[str, np.ndarray]:
        return {a: beacon_obs(self.t, k) for k, a in enumerate(self.possible_agents)}

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        self.agents = list(self.possible_agents)
        self.t = 0
        self.last = {}
        return self._obs(), {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        played = self.t
        rewards = {a: float(int(actions[a]) == played % 4) for a in self.agents}
        self.last = {a: int(actions[a]) for a in self.agents}
        self.t += 1
        done = {a: False for a in self.agents}
        return self._obs(), rewards, done, dict(done), {a: {"t": played} for a in self.agents}

    def render(self) -> np.ndarray:
        frame = np.full((SIZE, SIZE, 3), 20, dtype=np.uint8)
        width = SIZE // max(1, len(self.possible_agents))
        for k, a in enumerate(self.possible_agents):
            height = 8 + 10 * self.last.get(a, 0)
            frame[SIZE - height :, k * width + 2 : (k + 1) * width - 2] = (60 + 60 * k, 200 - 50 * k, 90)
        return frame


def make_env(**kwargs: Any) -> Beacon:
    return Beacon(**kwargs)
