"""Two tiny environments: a deterministic PettingZoo parallel env and a deliberately nondeterministic one."""

from __future__ import annotations

import random
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import ParallelEnv


class TagParallelEnv(ParallelEnv):
    """Two agents move on a line; each is rewarded for closing in on the other. Seeded, deterministic."""

    metadata = {"name": "tag_v0", "render_modes": []}

    def __init__(self, size: int = 10, max_steps: int = 25) -> None:
        self.possible_agents = ["a", "b"]
        self.size = size
        self.max_steps = max_steps
        self._obs = spaces.Box(0.0, 1.0, shape=(2,), dtype=np.float32)
        self._act = spaces.Discrete(3)

    def observation_space(self, agent: str) -> spaces.Space[Any]:
        return self._obs

    def action_space(self, agent: str) -> spaces.Space[Any]:
        return self._act

    def _observe(self) -> dict[str, np.ndarray]:
        pos = self.pos / self.size
        return {"a": pos.astype(np.float32), "b": pos[::-1].astype(np.float32)}

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        self.rng = np.random.default_rng(seed)
        self.agents = list(self.possible_agents)
        self.pos = self.rng.integers(0, self.size, size=2).astype(np.float64)
        self.t = 0
        return self._observe(), {a: {} for a in self.agents}

    def step(self, actions: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        for i, agent in enumerate(self.possible_agents):
            self.pos[i] = np.clip(self.pos[i] + int(actions[agent]) - 1 + self.rng.normal(0, 0.1), 0, self.size)
        self.t += 1
        dist = float(np.abs(self.pos[0] - self.pos[1]))
        rewards = {a: -dist / self.size for a in self.agents}
        caught = dist < 0.5
        terms = {a: caught for a in self.agents}
        truncs = {a: self.t >= self.max_steps for a in self.agents}
        obs = self._observe()
        if caught or self.t >= self.max_steps:
            self.agents = []
        return obs, rewards, terms, truncs, {a: {} for a in self.possible_agents}


class NoisyEnv(gym.Env):
    """Its observations come from the unseeded `random` module: never reproducible across runs."""

    observation_space = spaces.Box(0.0, 1.0, shape=(1,), dtype=np.float64)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(1), {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        self.t += 1
        # Deterministic for the first 3 steps, so the mismatch is located at step 3.
        noise = random.random() if self.t > 3 else 0.5
        return np.array([noise]), 1.0, False, self.t >= 50, {}


def make_broken() -> gym.Env:
    """A factory that fails, to check that errors are reported clearly."""
    raise RuntimeError("this factory is broken on purpose")
