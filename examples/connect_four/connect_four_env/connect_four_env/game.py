"""Connect four, written the way PettingZoo's documentation writes AEC environments.

- `agent_selection` is set in `reset()` (not in `__init__`); `env()` wraps the raw env with PettingZoo's
  `TerminateIllegalWrapper`, `AssertOutOfBoundsWrapper` and `OrderEnforcingWrapper`, like
  `pettingzoo.classic.connect_four_v3` (which imports pygame; this one draws with numpy);
- the observation is a Dict of two board planes (the observer's discs, the opponent's) and an
  `action_mask`: 1 for each column that is not full, on the observer's turn only;
- action `c` drops a disc into column `c` (0..6, left to right); there is no no-op: a turn waits for a
  move. Four in a row (across, down or diagonal) wins: +1 for the winner, -1 for the other; a full board
  is a draw. An illegal move (a full column) ends the game with -1 for the mover.

`render()` returns an RGB image, 7 columns of 64 px over 6 rows (448 x 384), the board's blue frame with
red ("player_0", who starts) and yellow ("player_1") discs and, while the game runs, a marker over the
board in the colour of the player to move.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv
from pettingzoo.utils import AgentSelector, wrappers

ROWS, COLS = 6, 7
CELL = 64
TOP = 32  # the strip above the board that shows whose turn it is
COLOURS = {0: (235, 64, 52), 1: (245, 200, 40)}
BOARD_BLUE = (30, 80, 180)
HOLE = (232, 236, 244)


def env(render_mode: str | None = None) -> AECEnv:
    """The wrapped environment, as PettingZoo's classic games give it."""
    wrapped: AECEnv = raw_env(render_mode=render_mode)
    wrapped = wrappers.TerminateIllegalWrapper(wrapped, illegal_reward=-1)
    wrapped = wrappers.AssertOutOfBoundsWrapper(wrapped)
    return wrappers.OrderEnforcingWrapper(wrapped)


def four_in_a_row(board: np.ndarray, mark: int) -> bool:
    """Whether `mark` has four in a row on `board` (ROWS x COLS, 0 empty) across, down or diagonally."""
    mine = board == mark
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        for r in range(ROWS):
            for c in range(COLS):
                cells = [(r + i * dr, c + i * dc) for i in range(4)]
                if all(0 <= rr < ROWS and 0 <= cc < COLS and mine[rr, cc] for rr, cc in cells):
                    return True
    return False


class raw_env(AECEnv):  # type: ignore[misc]
    metadata = {"render_modes": ["rgb_array"], "name": "connect_four_numpy_v0", "is_parallelizable": False}

    def __init__(self, render_mode: str | None = None) -> None:
        super().__init__()
        self.render_mode = render_mode
        self.possible_agents = ["player_0", "player_1"]
        self.board = np.zeros((ROWS, COLS), dtype=np.int8)

    @functools.cache  # noqa: B019 (as in PettingZoo's docs)
    def observation_space(self, agent: str) -> spaces.Dict:
        return spaces.Dict(
            {
                "observation": spaces.Box(0, 1, shape=(ROWS, COLS, 2), dtype=np.int8),
                "action_mask": spaces.Box(0, 1, shape=(COLS,), dtype=np.int8),
            }
        )

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> spaces.Discrete:
        return spaces.Discrete(COLS)

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        me = self.possible_agents.index(agent) + 1
        planes = np.stack([self.board == me, self.board == 3 - me], axis=2).astype(np.int8)
        mine = agent == self.agent_selection
        mask = np.array([int(mine and self.board[0, c] == 0) for c in range(COLS)], dtype=np.int8)
        return {"observation": planes, "action_mask": mask}

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        self.agents = self.possible_agents[:]
        self.rewards = dict.fromkeys(self.agents, 0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos: dict[str, dict[str, Any]] = {a: {} for a in self.agents}
        self.board = np.zeros((ROWS, COLS), dtype=np.int8)
        self._agent_selector = AgentSelector(self.agents)
        self.agent_selection = self._agent_selector.reset()

    def step(self, action: Any) -> None:
        if self.terminations[self.agent_selection] or self.truncations[self.agent_selection]:
            self._was_dead_step(action)
            return
        agent = self.agent_selection
        column = int(action)
        assert self.board[0, column] == 0, "dropped a disc into a full column"
        row = int(np.flatnonzero(self.board[:, column] == 0)[-1])  # the lowest free cell
        mark = self.possible_agents.index(agent) + 1
        self.board[row, column] = mark
        self._cumulative_rewards[agent] = 0
        if four_in_a_row(self.board, mark):
            other = self.possible_agents[2 - mark]
            self.rewards[agent], self.rewards[other] = 1, -1
            self.terminations = dict.fromkeys(self.agents, True)
        elif self.board.all():
            self.terminations = dict.fromkeys(self.agents, True)
        self.agent_selection = self._agent_selector.next()
        self._accumulate_rewards()

    def render(self) -> np.ndarray:
        frame = np.full((TOP + ROWS * CELL, COLS * CELL, 3), 250, dtype=np.uint8)
        frame[TOP:] = BOARD_BLUE
        yy, xx = np.mgrid[0:CELL, 0:CELL]
        disc = (yy - CELL / 2 + 0.5) ** 2 + (xx - CELL / 2 + 0.5) ** 2 <= (CELL * 0.4) ** 2
        for r in range(ROWS):
            for c in range(COLS):
                mark = int(self.board[r, c])
                cell = frame[TOP + r * CELL : TOP + (r + 1) * CELL, c * CELL : (c + 1) * CELL]
                cell[disc] = COLOURS[mark - 1] if mark else HOLE
        if not any(self.terminations.values()) and self.agents:
            colour = COLOURS[self.possible_agents.index(self.agent_selection)]
            frame[6 : TOP - 6, :] = 250
            frame[8 : TOP - 8, CELL // 4 : COLS * CELL - CELL // 4] = colour
        return frame

    def close(self) -> None:
        pass


def make_env(**kwargs: Any) -> AECEnv:
    """The factory a GameScene names: `env(**kwargs)`."""
    return env(**kwargs)
