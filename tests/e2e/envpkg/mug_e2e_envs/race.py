"""Race to 10, a PettingZoo AEC env for two players who take turns: "left" then "right", then "left" again.

On its turn an agent either waits (action 0: nothing changes, the turn stays with it) or moves its own
counter by 1 or 2 (actions 1, 2), which passes the turn. The first to reach `GOAL` wins (+1, the other -1)
and both terminate; a player who keeps waiting truncates the episode after `MAX_TURNS` steps. Each agent
observes `[own counter, other counter, 1 if it is its turn else 0]` (int64).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv

from mug.rendering import Surface

AGENTS = ("left", "right")
GOAL = 10
MAX_TURNS = 600
COLORS = {"left": "#e4572e", "right": "#29a8ab"}


class Race(AECEnv):  # type: ignore[misc]
    metadata = {"name": "race_v0", "render_modes": ["rgb_array"], "is_parallelizable": False}

    def __init__(self, render_mode: str | None = None) -> None:
        super().__init__()
        self.render_mode = render_mode
        self.possible_agents = list(AGENTS)
        self.agents: list[str] = []
        self.counters = dict.fromkeys(AGENTS, 0)
        self.turns = 0
        self.agent_selection = AGENTS[0]
        self._spaces = {a: spaces.Discrete(3) for a in AGENTS}
        self._obs_spaces = {a: spaces.Box(0, GOAL + 2, shape=(3,), dtype=np.int64) for a in AGENTS}

    def observation_space(self, agent: str) -> spaces.Box:
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> spaces.Discrete:
        return self._spaces[agent]

    def observe(self, agent: str) -> np.ndarray:
        other = AGENTS[1 - AGENTS.index(agent)]
        mine = int(agent == self.agent_selection and agent in self.agents)
        return np.array([self.counters[agent], self.counters[other], mine], dtype=np.int64)

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        self.agents = list(AGENTS)
        self.counters = dict.fromkeys(AGENTS, 0)
        self.turns = 0
        self.rewards = dict.fromkeys(AGENTS, 0.0)
        self._cumulative_rewards = dict.fromkeys(AGENTS, 0.0)
        self.terminations = dict.fromkeys(AGENTS, False)
        self.truncations = dict.fromkeys(AGENTS, False)
        self.infos: dict[str, dict[str, Any]] = {a: {} for a in AGENTS}
        self.agent_selection = AGENTS[0]

    def step(self, action: Any) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)  # removes the agent, selects the next done one
            return
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self.turns += 1
        move = int(action)
        if move:
            self.counters[agent] += move
            if self.counters[agent] >= GOAL:
                self.rewards = {a: 1.0 if a == agent else -1.0 for a in self.agents}
                self.terminations = dict.fromkeys(self.agents, True)
            else:
                self.agent_selection = AGENTS[1 - AGENTS.index(agent)]
        if self.turns >= MAX_TURNS and not any(self.terminations.values()):
            self.truncations = dict.fromkeys(self.agents, True)
        self._cumulative_rewards = {a: self._cumulative_rewards[a] + self.rewards[a] for a in self.agents}

    def render(self) -> Surface:
        s = Surface(300, 200, background="#1d1d1d")
        s.clear()
        for row, agent in enumerate(AGENTS):
            y = 40 + row * 80
            s.rect(20, y, 260, 30, "#444444", fill=False, width=2)
            s.rect(20, y, 260 * min(self.counters[agent], GOAL) / GOAL, 30, COLORS[agent])
            if agent == self.agent_selection and agent in self.agents:
                s.circle(10, y + 15, 6, "#ffffff")
        return s

    def close(self) -> None:
        pass


def make_env(**kwargs: Any) -> Race:
    return Race(**kwargs)
