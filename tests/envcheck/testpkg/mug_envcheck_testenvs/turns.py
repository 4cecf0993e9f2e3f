"""Nim as a PettingZoo AEC env written as PettingZoo documents them: `agent_selection` set in `reset()`, a
Dict observation with an `action_mask`, no no-op action, wrapped in PettingZoo's usual wrappers.

A pile of stones (its size drawn from the reset's seed); each turn takes 1, 2 or 3 (actions 0, 1, 2) but no
more than are left; whoever takes the last stone wins. An illegal move ends the game with -1 for the mover.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv
from pettingzoo.utils import AgentSelector, wrappers


def env(render_mode: str | None = None) -> AECEnv:
    wrapped: AECEnv = raw_env(render_mode=render_mode)
    wrapped = wrappers.TerminateIllegalWrapper(wrapped, illegal_reward=-1)
    wrapped = wrappers.AssertOutOfBoundsWrapper(wrapped)
    return wrappers.OrderEnforcingWrapper(wrapped)


class raw_env(AECEnv):  # type: ignore[misc]
    metadata = {"render_modes": ["rgb_array"], "name": "nim_v0", "is_parallelizable": False}

    def __init__(self, render_mode: str | None = None) -> None:
        super().__init__()
        self.render_mode = render_mode
        self.possible_agents = ["first", "second"]

    @functools.cache  # noqa: B019 (as in PettingZoo's docs)
    def observation_space(self, agent: str) -> spaces.Dict:
        return spaces.Dict(
            {
                "observation": spaces.Box(0, 40, shape=(1,), dtype=np.int16),
                "action_mask": spaces.Box(0, 1, shape=(3,), dtype=np.int8),
            }
        )

    @functools.cache  # noqa: B019
    def action_space(self, agent: str) -> spaces.Discrete:
        return spaces.Discrete(3)

    def observe(self, agent: str) -> dict[str, np.ndarray]:
        mine = agent == self.agent_selection
        mask = np.array([int(mine and take <= self.pile) for take in (1, 2, 3)], dtype=np.int8)
        return {"observation": np.array([self.pile], dtype=np.int16), "action_mask": mask}

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        rng = np.random.default_rng(seed)
        self.pile = int(rng.integers(5, 30))
        self.agents = self.possible_agents[:]
        self.rewards = dict.fromkeys(self.agents, 0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos: dict[str, dict[str, Any]] = {a: {} for a in self.agents}
        self._selector = AgentSelector(self.agents)
        self.agent_selection = self._selector.reset()

    def step(self, action: Any) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        take = int(action) + 1
        assert take <= self.pile, "took more stones than are left"
        self.pile -= take
        self._cumulative_rewards[agent] = 0
        if self.pile == 0:
            other = self.possible_agents[1 - self.possible_agents.index(agent)]
            self.rewards[agent], self.rewards[other] = 1, -1
            self.terminations = dict.fromkeys(self.agents, True)
        self.agent_selection = self._selector.next()
        self._accumulate_rewards()

    def render(self) -> np.ndarray:
        frame = np.zeros((10, 40, 3), dtype=np.uint8)
        frame[:, : self.pile] = 200
        return frame
