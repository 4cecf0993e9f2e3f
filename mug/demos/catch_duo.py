"""Catch for two: agents "left" and "right" each move a paddle under the same falling fruit.

A PettingZoo ParallelEnv. Actions per agent: Discrete(3) (0 left, 1 stay, 2 right). Rewards: +1 to the agent
that catches a fruit, -1 to both for a miss (the team shares its lives). Both terminate after `max_misses`
misses. Each agent observes `[own paddle_x, x0, y0, x1, y1, x2, y2, misses_left, other paddle_x]`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from mug.demos.catch import OBS_FRUIT, CatchGame
from mug.rendering import Surface

AGENTS = ("left", "right")


class CatchDuoEnv(ParallelEnv[str, np.ndarray, int]):
    """Two paddles, one stream of fruit."""

    metadata = {"name": "catch_duo_v0", "render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(
        self,
        render_mode: str | None = None,
        max_misses: int = 5,
        width: int = 600,
        height: int = 400,
        paddle_width: float = 0.14,
    ) -> None:
        self.render_mode = render_mode
        self.max_misses = int(max_misses)
        self.size = (int(width), int(height))
        self.paddle_width = float(paddle_width)
        self.possible_agents = list(AGENTS)
        self.agents: list[str] = []
        self._game: CatchGame | None = None
        self._misses = 0
        self._caught = dict.fromkeys(AGENTS, 0)
        # PettingZoo wants the same space object on every call
        self._obs_spaces = {
            a: spaces.Box(-1.0, 1.0, shape=(3 + 2 * OBS_FRUIT,), dtype=np.float32) for a in AGENTS
        }
        self._act_spaces = {a: spaces.Discrete(3) for a in AGENTS}

    def observation_space(self, agent: str) -> spaces.Box:
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> spaces.Discrete:
        return self._act_spaces[agent]

    def _require(self) -> CatchGame:
        if self._game is None:
            raise RuntimeError("call reset() before step() or render()")
        return self._game

    def _obs(self) -> dict[str, np.ndarray]:
        game = self._require()
        fruit = game.fruit_obs()
        left = 1 - self._misses / self.max_misses
        return {
            a: np.array([game.paddles[i], *fruit, left, game.paddles[1 - i]], dtype=np.float32)
            for i, a in enumerate(AGENTS)
        }

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        self._game = CatchGame(
            rng=np.random.default_rng(seed), paddles=[0.3, 0.7], paddle_w=self.paddle_width
        )
        self.agents = list(AGENTS)
        self._misses = 0
        self._caught = dict.fromkeys(AGENTS, 0)
        return self._obs(), {a: {} for a in AGENTS}

    def step(
        self, actions: dict[str, int]
    ) -> tuple[
        dict[str, np.ndarray], dict[str, float], dict[str, bool], dict[str, bool], dict[str, dict[str, Any]]
    ]:
        game = self._require()
        for i, agent in enumerate(AGENTS):
            game.move(i, int(actions.get(agent, 1)))
        catches, misses = game.advance()
        self._misses += misses
        for i, agent in enumerate(AGENTS):
            self._caught[agent] += catches[i]
        done = self._misses >= self.max_misses
        obs = self._obs()
        rewards = {a: float(catches[i] - misses) for i, a in enumerate(AGENTS)}
        terms = dict.fromkeys(AGENTS, done)
        truncs = dict.fromkeys(AGENTS, False)
        infos = {a: {"caught": self._caught[a]} for a in AGENTS}
        if done:
            self.agents = []
        return obs, rewards, terms, truncs, infos

    def render(self) -> Surface:
        game = self._require()
        lives = max(0, self.max_misses - self._misses)
        lines = [f"Left {self._caught['left']}  Right {self._caught['right']}", "Lives " + "\u2665" * lives]
        return game.draw(Surface(*self.size, background="#1b1430"), ["#4dc3ff", "#ffb84d"], lines)


def make_env(**kwargs: Any) -> CatchDuoEnv:
    """Make the two-player Catch environment (keyword arguments as `CatchDuoEnv`)."""
    return CatchDuoEnv(**kwargs)
