"""Tic-tac-toe, a PettingZoo AEC env written the way PettingZoo's documentation writes AEC envs.

Like `pettingzoo.classic.tictactoe_v3` (which needs pygame) but drawn with numpy: `agent_selection` is set
in `reset()`, the observation is a Dict of the board planes and an `action_mask`, there is no no-op action,
and `env()` wraps the raw env with PettingZoo's `TerminateIllegalWrapper`, `AssertOutOfBoundsWrapper` and
`OrderEnforcingWrapper` (which raise on attribute access before reset). Action `i` marks cell `i` (row
major, 0..8). "player_1" plays X and moves first; an illegal move ends the game with -1 for the mover.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv
from pettingzoo.utils import AgentSelector, wrappers

LINES = [(0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6)]
CELL = 30
COLORS = {1: (228, 87, 46), 2: (41, 168, 171)}


def env(render_mode: str | None = None) -> AECEnv:
    env = raw_env(render_mode=render_mode)
    env = wrappers.TerminateIllegalWrapper(env, illegal_reward=-1)
    env = wrappers.AssertOutOfBoundsWrapper(env)
    env = wrappers.OrderEnforcingWrapper(env)
    return env


class raw_env(AECEnv):  # type: ignore[misc]
    metadata = {"render_modes": ["rgb_array"], "name": "tictactoe_numpy_v0", "is_parallelizable": False}

    def __init__(self, render_mode: str | None = None) -> None:
        super().__init__()
        self.render_mode = render_mode
        self.possible_agents = ["player_1", "player_2"]
        self.board = [0] * 9

    @functools.cache  # noqa: B019 (as in PettingZoo's docs)
    def observation_space(self, agent: str) -> spaces.Dict:
        return spaces.Dict(
            {
                "observation": spaces.Box(0, 1, shape=(3, 3, 2), dtype=np.int8),
                "action_mask": spaces.Box(0, 1, shape=(9,), dtype=np.int8),
            }
        )

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> spaces.Discrete:
        return spaces.Discrete(9)

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        me = self.possible_agents.index(agent) + 1
        board = np.array(self.board).reshape(3, 3)
        planes = np.stack([board == me, board == 3 - me], axis=2).astype(np.int8)
        mine = agent == self.agent_selection
        mask = np.array([int(mine and c == 0) for c in self.board], dtype=np.int8)
        return {"observation": planes, "action_mask": mask}

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        self.agents = self.possible_agents[:]
        self.rewards = dict.fromkeys(self.agents, 0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos: dict[str, dict[str, Any]] = {a: {} for a in self.agents}
        self.board = [0] * 9
        self._agent_selector = AgentSelector(self.agents)
        self.agent_selection = self._agent_selector.reset()

    def step(self, action: Any) -> None:
        if self.terminations[self.agent_selection] or self.truncations[self.agent_selection]:
            self._was_dead_step(action)
            return
        agent = self.agent_selection
        assert self.board[int(action)] == 0, "played an occupied cell"
        mark = self.possible_agents.index(agent) + 1
        self.board[int(action)] = mark
        self._cumulative_rewards[agent] = 0
        won = any(all(self.board[i] == mark for i in line) for line in LINES)
        if won:
            other = self.possible_agents[2 - mark]
            self.rewards[agent], self.rewards[other] = 1, -1
            self.terminations = dict.fromkeys(self.agents, True)
        elif all(self.board):
            self.terminations = dict.fromkeys(self.agents, True)
        self.agent_selection = self._agent_selector.next()
        self._accumulate_rewards()

    def render(self) -> np.ndarray:
        frame = np.full((3 * CELL, 3 * CELL, 3), 235, dtype=np.uint8)
        for i, mark in enumerate(self.board):
            r, c = divmod(i, 3)
            if mark:
                frame[r * CELL + 4 : (r + 1) * CELL - 4, c * CELL + 4 : (c + 1) * CELL - 4] = COLORS[mark]
        frame[CELL - 1 : CELL + 1, :] = frame[2 * CELL - 1 : 2 * CELL + 1, :] = 40
        frame[:, CELL - 1 : CELL + 1] = frame[:, 2 * CELL - 1 : 2 * CELL + 1] = 40
        return frame

    def close(self) -> None:
        pass


def make_env(**kwargs: Any) -> AECEnv:
    return env(**kwargs)


def make_first_legal(agent: str, action_space: Any) -> Any:
    """A policy that reads the mask from the observation, PettingZoo's way: the lowest free cell."""

    def act(observation: dict[str, np.ndarray], rng: np.random.Generator) -> int:
        return int(np.flatnonzero(observation["action_mask"])[0])

    return act


def make_random_legal(agent: str, action_space: Any) -> Any:
    """A policy that takes the mask as a keyword: a random legal cell."""

    def act(observation: Any, rng: np.random.Generator, action_mask: np.ndarray | None = None) -> int:
        assert action_mask is not None
        return int(rng.choice(np.flatnonzero(action_mask)))

    return act


def click_to_cell(x: float, y: float, width: float, height: float) -> int | None:
    """A pointer function (`GameScene(pointer="mug_e2e_envs.tictactoe:click_to_cell")`): the cell under a
    click, or None for a click on a grid line (2 px either side), which does nothing."""
    col, row = x * 3 / width, y * 3 / height
    margin_x, margin_y = 2 * 3 / width, 2 * 3 / height
    if min(col % 1, 1 - col % 1) < margin_x or min(row % 1, 1 - row % 1) < margin_y:
        return None
    return int(row) * 3 + int(col)
