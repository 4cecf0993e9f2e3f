"""Two walkers on a track, a PettingZoo parallel env with integer agent ids 0 and 1, written the way
PettingZoo's parallel-env documentation writes one (as published envs on PyPI name their agents 0, 1, ...).

Each step every walker moves by `action - 1` (0: left, 1: stay, 2: right) along a track of `LENGTH` cells
and gets +1 when it stands on the other walker's cell. The episode truncates after `NUM_ITERS` steps.
Observation of each agent: `[own position, other position]` (int64).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from gymnasium.spaces import Box, Discrete
from pettingzoo import ParallelEnv

LENGTH = 12
NUM_ITERS = 500
CELL = 10


class parallel_env(ParallelEnv):  # type: ignore[misc]
    metadata = {"render_modes": ["rgb_array"], "name": "walkers_v0"}

    def __init__(self, render_mode: str | None = None) -> None:
        self.possible_agents = [0, 1]
        self.render_mode = render_mode
        self.agents: list[int] = []
        self.positions = {0: 2, 1: LENGTH - 3}
        self.num_moves = 0

    @functools.cache  # noqa: B019 (as in PettingZoo's docs)
    def observation_space(self, agent: int) -> Box:
        return Box(0, LENGTH - 1, shape=(2,), dtype=np.int64)

    @functools.cache  # noqa: B019
    def action_space(self, agent: int) -> Discrete:
        return Discrete(3)

    def _observe(self, agent: int) -> np.ndarray:
        return np.array([self.positions[agent], self.positions[1 - agent]], dtype=np.int64)

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[int, np.ndarray], dict[int, dict[str, Any]]]:
        self.agents = self.possible_agents[:]
        self.num_moves = 0
        rng = np.random.default_rng(seed)
        self.positions = {0: int(rng.integers(0, 4)), 1: int(rng.integers(LENGTH - 4, LENGTH))}
        observations = {agent: self._observe(agent) for agent in self.agents}
        infos: dict[int, dict[str, Any]] = {agent: {} for agent in self.agents}
        return observations, infos

    def step(self, actions: dict[int, Any]) -> tuple[Any, Any, Any, Any, Any]:
        if not actions:
            self.agents = []
            return {}, {}, {}, {}, {}
        for agent in self.agents:
            self.positions[agent] = int(np.clip(self.positions[agent] + int(actions[agent]) - 1, 0, LENGTH - 1))
        met = self.positions[0] == self.positions[1]
        rewards = {agent: float(met) for agent in self.agents}
        terminations = dict.fromkeys(self.agents, False)
        self.num_moves += 1
        env_truncation = self.num_moves >= NUM_ITERS
        truncations = dict.fromkeys(self.agents, env_truncation)
        observations = {agent: self._observe(agent) for agent in self.agents}
        infos: dict[int, dict[str, Any]] = {agent: {} for agent in self.agents}
        if env_truncation:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def render(self) -> np.ndarray:
        frame = np.full((3 * CELL, LENGTH * CELL, 3), 30, dtype=np.uint8)
        for agent, color in ((0, (228, 87, 46)), (1, (41, 168, 171))):
            x = self.positions[agent] * CELL
            frame[agent * CELL + 5 : agent * CELL + 5 + CELL, x : x + CELL] = color
        return frame


def make_env(**kwargs: Any) -> parallel_env:
    return parallel_env(**kwargs)
