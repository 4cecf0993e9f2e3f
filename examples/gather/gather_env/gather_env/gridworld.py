"""Gather: two agents collect apples on a grid, a PettingZoo parallel env as packages on PyPI write them.

Nothing here knows about MUG: the agents are the integers 0 and 1 (`possible_agents = [0, 1]`), the
observation is a numpy array per agent, `render()` returns an `rgb_array` (H x W x 3 uint8), and
`parallel_env(**kwargs)` is the factory.

- The grid is `size` x `size` cells; each agent moves one cell per step: 0 stay, 1 up, 2 down, 3 left,
  4 right (walls stop it).
- `apples` apples lie on the grid; stepping onto one scores +1 for that agent and a new apple appears on a
  free cell drawn from the env's generator (seeded by `reset(seed=...)`).
- Observation of agent `i`: int8 planes (3, size, size): its own position, the other agent's, the apples.
- An episode is truncated after `max_cycles` steps.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

MOVES = ((0, 0), (-1, 0), (1, 0), (0, -1), (0, 1))  # stay, up, down, left, right: (row, col)
CELL = 20
AGENT_COLOURS = {0: (40, 110, 220), 1: (230, 120, 30)}
APPLE = (60, 170, 70)
FLOOR = (238, 238, 232)
GRID = (205, 205, 198)


class GatherEnv(ParallelEnv):  # type: ignore[misc]
    metadata = {"render_modes": ["rgb_array"], "name": "gather_v0"}

    def __init__(self, size: int = 8, apples: int = 4, max_cycles: int = 300, render_mode: str | None = None) -> None:
        if size < 3:
            raise ValueError(f"size={size}: the grid needs at least 3 x 3 cells")
        if not 1 <= apples <= size * size - 2:
            raise ValueError(f"apples={apples}: use 1 to {size * size - 2} on a {size} x {size} grid")
        self.size, self.n_apples, self.max_cycles = size, apples, max_cycles
        self.render_mode = render_mode
        self.possible_agents = [0, 1]
        self._obs_space = spaces.Box(0, 1, shape=(3, size, size), dtype=np.int8)
        self._act_space = spaces.Discrete(5)

    def observation_space(self, agent: int) -> spaces.Box:
        return self._obs_space

    def action_space(self, agent: int) -> spaces.Discrete:
        return self._act_space

    def _free_cell(self) -> tuple[int, int]:
        taken = {*self.pos.values(), *self.apples}
        free = [(r, c) for r in range(self.size) for c in range(self.size) if (r, c) not in taken]
        r, c = free[int(self.rng.integers(len(free)))]
        return r, c

    def _observe(self, agent: int) -> np.ndarray:
        planes = np.zeros((3, self.size, self.size), dtype=np.int8)
        planes[(0, *self.pos[agent])] = 1
        planes[(1, *self.pos[1 - agent])] = 1
        for r, c in self.apples:
            planes[2, r, c] = 1
        return planes

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[dict, dict]:
        self.rng = np.random.default_rng(seed)
        self.agents = list(self.possible_agents)
        self.pos: dict[int, tuple[int, int]] = {0: (0, 0), 1: (self.size - 1, self.size - 1)}
        self.apples: list[tuple[int, int]] = []
        for _ in range(self.n_apples):
            self.apples.append(self._free_cell())
        self.t = 0
        self.scores = dict.fromkeys(self.possible_agents, 0)
        return {a: self._observe(a) for a in self.agents}, {a: {} for a in self.agents}

    def step(self, actions: dict[int, Any]) -> tuple[dict, dict, dict, dict, dict]:
        rewards = dict.fromkeys(self.agents, 0.0)
        for agent in self.agents:  # agent 0 moves first: ties go to it
            dr, dc = MOVES[int(actions[agent])]
            r = min(max(self.pos[agent][0] + dr, 0), self.size - 1)
            c = min(max(self.pos[agent][1] + dc, 0), self.size - 1)
            if (r, c) != self.pos[1 - agent]:
                self.pos[agent] = (r, c)
            if self.pos[agent] in self.apples:
                self.apples.remove(self.pos[agent])
                rewards[agent] = 1.0
                self.scores[agent] += 1
                self.apples.append(self._free_cell())
        self.t += 1
        done = self.t >= self.max_cycles
        obs = {a: self._observe(a) for a in self.agents}
        terms = dict.fromkeys(self.agents, False)
        truncs = dict.fromkeys(self.agents, done)
        infos = {a: {"score": self.scores[a]} for a in self.agents}
        if done:
            self.agents = []
        return obs, rewards, terms, truncs, infos

    def render(self) -> np.ndarray:
        px = self.size * CELL
        frame = np.full((px, px, 3), FLOOR, dtype=np.uint8)
        frame[::CELL, :] = GRID
        frame[:, ::CELL] = GRID
        for r, c in self.apples:
            frame[r * CELL + 6 : (r + 1) * CELL - 5, c * CELL + 6 : (c + 1) * CELL - 5] = APPLE
        for agent, (r, c) in self.pos.items():
            frame[r * CELL + 3 : (r + 1) * CELL - 2, c * CELL + 3 : (c + 1) * CELL - 2] = AGENT_COLOURS[agent]
        return frame


def parallel_env(**kwargs: Any) -> GatherEnv:
    """The factory (PettingZoo's convention for parallel envs)."""
    return GatherEnv(**kwargs)
