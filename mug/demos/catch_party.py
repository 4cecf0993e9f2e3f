"""Catch for a party of n players: agents "p0".."p{n-1}" (or the names given) each move a paddle under the
same falling fruit.

A PettingZoo ParallelEnv; `catch_duo` is its two-player form with agents "left" and "right".
Actions per agent: Discrete(3) (0 left, 1 stay, 2 right). Rewards: +1 to the agent that catches a fruit, -1
to everyone for a miss (shared lives). Each agent observes `[own paddle_x, x0, y0, x1, y1, x2, y2,
misses_left, mean of the other paddles' x]`, the layout `mug.demos.policies:make_catcher` expects.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from mug.demos.catch import OBS_FRUIT, CatchGame
from mug.rendering import Surface

COLORS = ["#4dc3ff", "#ffb84d", "#8be38b", "#ff7bac", "#c39bff", "#f4f48a", "#7be0d6", "#ff9a7b"]


class CatchPartyEnv(ParallelEnv[str, np.ndarray, int]):
    """n paddles (2..8), one stream of fruit."""

    metadata = {"name": "catch_party_v0", "render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(
        self,
        render_mode: str | None = None,
        players: int = 3,
        max_misses: int = 5,
        width: int = 600,
        height: int = 400,
        paddle_width: float = 0.12,
        agents: list[str] | None = None,
    ) -> None:
        if agents is not None:
            players = len(agents)
        if not 2 <= int(players) <= len(COLORS):
            raise ValueError(f"catch_party: players must be 2..{len(COLORS)}, got {players}")
        self.render_mode = render_mode
        self.n = int(players)
        self.max_misses = int(max_misses)
        self.size = (int(width), int(height))
        self.paddle_width = float(paddle_width)
        self.possible_agents = list(agents) if agents is not None else [f"p{i}" for i in range(self.n)]
        self.agents: list[str] = []
        self._game: CatchGame | None = None
        self._misses = 0
        self._caught = dict.fromkeys(self.possible_agents, 0)
        self._obs_spaces = {
            a: spaces.Box(-1.0, 1.0, shape=(3 + 2 * OBS_FRUIT,), dtype=np.float32) for a in self.possible_agents
        }
        self._act_spaces = {a: spaces.Discrete(3) for a in self.possible_agents}

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
        out = {}
        for i, a in enumerate(self.possible_agents):
            others = [p for j, p in enumerate(game.paddles) if j != i]
            out[a] = np.array([game.paddles[i], *fruit, left, sum(others) / len(others)], dtype=np.float32)
        return out

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        starts = [(i + 1) / (self.n + 1) for i in range(self.n)]
        self._game = CatchGame(rng=np.random.default_rng(seed), paddles=starts, paddle_w=self.paddle_width)
        self.agents = list(self.possible_agents)
        self._misses = 0
        self._caught = dict.fromkeys(self.possible_agents, 0)
        return self._obs(), {a: {} for a in self.possible_agents}

    def step(
        self, actions: dict[str, int]
    ) -> tuple[dict[str, np.ndarray], dict[str, float], dict[str, bool], dict[str, bool], dict[str, dict[str, Any]]]:
        game = self._require()
        every = self.possible_agents
        for i, agent in enumerate(every):
            game.move(i, int(actions.get(agent, 1)))
        catches, misses = game.advance()
        self._misses += misses
        for i, agent in enumerate(every):
            self._caught[agent] += catches[i]
        done = self._misses >= self.max_misses
        rewards = {a: float(catches[i] - misses) for i, a in enumerate(every)}
        infos = {a: {"caught": self._caught[a]} for a in every}
        obs = self._obs()
        if done:
            self.agents = []
        return obs, rewards, dict.fromkeys(every, done), dict.fromkeys(every, False), infos

    def render(self) -> Surface:
        game = self._require()
        lives = max(0, self.max_misses - self._misses)
        score = "  ".join(f"{a.capitalize()} {self._caught[a]}" for a in self.possible_agents)
        lines = [score, "Lives " + "\u2665" * lives]
        return game.draw(Surface(*self.size, background="#1b1430"), COLORS[: self.n], lines)


def make_env(**kwargs: Any) -> CatchPartyEnv:
    """Make the n-player Catch environment (keyword arguments as `CatchPartyEnv`)."""
    return CatchPartyEnv(**kwargs)
