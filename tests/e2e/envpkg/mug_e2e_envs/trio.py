"""Trio, a PettingZoo AEC race for three players who take turns: "a", "b", then "zai", then "a" again.

On its turn an agent moves its own counter by 1, 2 or 3 (actions 0, 1, 2); a move past `GOAL` is masked
(`observation["action_mask"]`, PettingZoo's convention), so the last steps must land on it exactly. The
first to reach `GOAL` wins (+1, the others -1) and all terminate; `MAX_TURNS` moves truncate the episode.
Each agent observes `{"observation": [moves so far, own counter], "action_mask": int8[3]}`.

The tests' ONNX player (`zai`, tests/e2e/models/trio_partner.onnx): logits = observation @ PARTNER_W +
PARTNER_B, i.e. [0, moves - 4.5, 4.5 - moves]: it moves 3 early in the race and 2 later, when legal.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv

from mug.rendering import Surface

AGENTS = ("a", "b", "zai")
GOAL = 10
MAX_TURNS = 60
COLORS = {"a": "#e4572e", "b": "#29a8ab", "zai": "#f3a712"}
PARTNER_W = np.array([[0, 1, -1], [0, 0, 0]], dtype=np.float32)
PARTNER_B = np.array([0.0, -4.5, 4.5], dtype=np.float32)


def legal(counter: int) -> np.ndarray:
    """The action mask of an agent at `counter`: move 1, 2 or 3 without passing GOAL."""
    return np.array([counter + move <= GOAL for move in (1, 2, 3)], dtype=np.int8)


class Trio(AECEnv):  # type: ignore[misc]
    metadata = {"name": "trio_v0", "render_modes": ["rgb_array"], "is_parallelizable": False}

    def __init__(self, render_mode: str | None = None) -> None:
        super().__init__()
        self.render_mode = render_mode
        self.possible_agents = list(AGENTS)
        self.agents: list[str] = []
        self.counters = dict.fromkeys(AGENTS, 0)
        self.turns = 0
        self._spaces = {a: spaces.Discrete(3) for a in AGENTS}
        box = spaces.Box(0, MAX_TURNS, shape=(2,), dtype=np.int64)
        mask = spaces.Box(0, 1, shape=(3,), dtype=np.int8)
        self._obs_spaces = {a: spaces.Dict({"observation": box, "action_mask": mask}) for a in AGENTS}

    def observation_space(self, agent: str) -> spaces.Dict:
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> spaces.Discrete:
        return self._spaces[agent]

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        obs = np.array([self.turns, self.counters[agent]], dtype=np.int64)
        return {"observation": obs, "action_mask": legal(self.counters[agent])}

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
        if not legal(self.counters[agent])[int(action)]:
            raise ValueError(f"{agent} cannot move {int(action) + 1} from {self.counters[agent]} (masked)")
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self.turns += 1
        self.counters[agent] += int(action) + 1
        if self.counters[agent] == GOAL:
            self.rewards = {a: 1.0 if a == agent else -1.0 for a in self.agents}
            self.terminations = dict.fromkeys(self.agents, True)
        elif self.turns >= MAX_TURNS:
            self.truncations = dict.fromkeys(self.agents, True)
        self.agent_selection = AGENTS[(AGENTS.index(agent) + 1) % len(AGENTS)]
        self._cumulative_rewards = {a: self._cumulative_rewards[a] + self.rewards[a] for a in self.agents}

    def render(self) -> Surface:
        s = Surface(300, 260, background="#1d1d1d")
        s.clear()
        for row, agent in enumerate(AGENTS):
            y = 40 + row * 70
            s.rect(20, y, 260, 30, "#444444", fill=False, width=2)
            s.rect(20, y, 260 * self.counters[agent] / GOAL, 30, COLORS[agent])
            if agent == self.agent_selection and agent in self.agents:
                s.circle(10, y + 15, 6, "#ffffff")
        return s

    def close(self) -> None:
        pass


def make_env(**kwargs: Any) -> Trio:
    return Trio(**kwargs)
