"""Foragers: a heavier two-player gridworld, the kind of env a lab writes (and the benchmarks' heavy case).

A PettingZoo ParallelEnv with integer agent ids 0 and 1 (as published PettingZoo envs name theirs), rendered
as a 160x128 `rgb_array` cell by cell in Python, the way such envs are usually written. Its step plus render
costs a few milliseconds in Pyodide (see `benchmarks/steps_per_second.py`), against well under one for Catch.

The grid is 40 x 32 cells of 4 x 4 pixels. Each agent moves (0 stay, 1 up, 2 down, 3 left, 4 right); food
regrows on a seeded schedule; eating gives +1. Observation of each agent: its own and the other's position
and the food map, flattened (int8). The episode truncates after `max_steps` steps (default 900).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from gymnasium.spaces import Box, Discrete
from pettingzoo import ParallelEnv

COLS, ROWS, CELL = 40, 32, 4
MOVES = ((0, 0), (0, -1), (0, 1), (-1, 0), (1, 0))
COLORS = {0: (228, 87, 46), 1: (41, 168, 171)}


class ForagersEnv(ParallelEnv):  # type: ignore[misc]
    metadata = {"render_modes": ["rgb_array"], "name": "foragers_v0"}

    def __init__(self, render_mode: str | None = "rgb_array", max_steps: int = 900, regrow: float = 0.002) -> None:
        self.possible_agents = [0, 1]
        self.render_mode = render_mode
        self.max_steps = max_steps
        self.regrow = regrow
        self.agents: list[int] = []
        self.pos = {0: (2, 2), 1: (COLS - 3, ROWS - 3)}
        self.food = np.zeros((ROWS, COLS), dtype=np.int8)
        self.t = 0
        self._rng = np.random.default_rng(0)

    @functools.cache  # noqa: B019 (as in PettingZoo's docs)
    def observation_space(self, agent: int) -> Box:
        return Box(0, max(COLS, ROWS), shape=(4 + ROWS * COLS,), dtype=np.int8)

    @functools.cache  # noqa: B019
    def action_space(self, agent: int) -> Discrete:
        return Discrete(len(MOVES))

    def _observe(self, agent: int) -> np.ndarray:
        me, other = self.pos[agent], self.pos[1 - agent]
        return np.concatenate([np.array([*me, *other], dtype=np.int8), self.food.ravel()])

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, Any]:
        self._rng = np.random.default_rng(seed)
        self.agents = self.possible_agents[:]
        self.t = 0
        self.food = (self._rng.random((ROWS, COLS)) < 0.15).astype(np.int8)
        self.pos = {0: (2, 2), 1: (COLS - 3, ROWS - 3)}
        return {a: self._observe(a) for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions: dict[int, Any]) -> tuple[Any, Any, Any, Any, Any]:
        if not actions:
            self.agents = []
            return {}, {}, {}, {}, {}
        rewards: dict[int, float] = {}
        for agent in self.agents:
            dx, dy = MOVES[int(actions[agent])]
            x, y = self.pos[agent]
            x, y = min(max(x + dx, 0), COLS - 1), min(max(y + dy, 0), ROWS - 1)
            self.pos[agent] = (x, y)
            rewards[agent] = float(self.food[y, x])
            self.food[y, x] = 0
        self.food |= (self._rng.random((ROWS, COLS)) < self.regrow).astype(np.int8)
        self.t += 1
        done = self.t >= self.max_steps
        obs = {a: self._observe(a) for a in self.agents}
        terminations = dict.fromkeys(self.agents, False)
        truncations = dict.fromkeys(self.agents, done)
        infos: dict[int, dict[str, Any]] = {a: {} for a in self.agents}
        if done:
            self.agents = []
        return obs, rewards, terminations, truncations, infos

    def render(self) -> np.ndarray:
        frame = np.zeros((ROWS * CELL, COLS * CELL, 3), dtype=np.uint8)
        for y in range(ROWS):  # cell by cell, as a lab's first version of a renderer usually is
            for x in range(COLS):
                shade = (60, 140, 60) if self.food[y, x] else ((24, 28, 36) if (x + y) % 2 else (30, 34, 44))
                frame[y * CELL : (y + 1) * CELL, x * CELL : (x + 1) * CELL] = shade
        for agent, (x, y) in self.pos.items():
            frame[y * CELL : (y + 1) * CELL, x * CELL : (x + 1) * CELL] = COLORS[agent]
        return frame


def make_env(**kwargs: Any) -> ForagersEnv:
    """Make the two-player foragers gridworld (keyword arguments as `ForagersEnv`)."""
    return ForagersEnv(**kwargs)
