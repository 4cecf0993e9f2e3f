"""Turn-based (PettingZoo AEC) play: a human's turn waits for their move.

On a human's turn nothing is played until that player makes a legal move: no default action stands in
for a key not pressed, and a key the action mask forbids does nothing. A scene may set a time limit
(`GameScene.turn_time_limit_s`, counted in frames: `ceil(limit * fps)`); when a human has waited that many
frames without a legal move, the scene's `turn_fallback` plays it: `"default_action"` (the scene's default
action, or the lowest legal action if the mask forbids it) or a policy (called with the agent's
observation, a generator seeded `derive_seed(seed, "turn_fallback", label, episode)` and the mask).

Single player counts ticks, a match counts lockstep frames; either way every peer counts the same frames
and reaches the same decision.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from mug.client.agents import AgentId, label
from mug.client.host import EnvHost, legal_actions
from mug.client.policies import Controller, load_policy
from mug.client.seeding import derive_seed

DEFAULT_ACTION = "default_action"


class Turns:
    """Whose turn it is, how long they have waited, and what plays when their time is up.

    Args:
        host: the AEC env's host.
        turn: the scene's `turn` spec (`{"time_limit_s", "fallback"}`) or None: wait for every move.
        fps: frames (ticks) per second.
        humans: the agents played by people.
        default_action: the scene's default action (for a `"default_action"` fallback).
        seed: the scene's or match's root seed (for a policy fallback's generator).
    """

    def __init__(
        self,
        host: EnvHost,
        turn: dict[str, Any] | None,
        fps: int,
        humans: list[AgentId],
        default_action: Any,
        seed: int,
    ) -> None:
        self.host = host
        self.fps = fps
        self.default_action = default_action
        self.seed = seed
        self.limit_frames: int | None = None
        self.fallback: str | dict[str, Any] = DEFAULT_ACTION
        if turn is not None:
            # ceil, but 0.2 s at 30 fps is 6 frames, not 7 (0.2 * 30 = 6.000000000000001)
            self.limit_frames = max(1, math.ceil(float(turn["time_limit_s"]) * fps - 1e-9))
            self.fallback = turn.get("fallback", DEFAULT_ACTION)
        self._policies: dict[AgentId, Controller] = {}
        if isinstance(self.fallback, dict):
            ref, kwargs = str(self.fallback["ref"]), dict(self.fallback.get("kwargs") or {})
            self._policies = {a: load_policy(ref, a, host.action_space(a), kwargs) for a in humans}
        self._rngs: dict[AgentId, np.random.Generator] = {}
        self.waited = 0
        self.fell_back = False  # the last move `resolve` returned was the fallback's, not the human's

    def reset(self, episode: int) -> None:
        """A new episode: nobody has waited yet; fallback generators are seeded for this episode."""
        self.waited = 0
        self._rngs = {
            a: np.random.default_rng(derive_seed(self.seed, "turn_fallback", label(a), episode)) for a in self._policies
        }

    def moved(self) -> None:
        """The env was stepped: the next turn starts with nothing waited."""
        self.waited = 0

    def resolve(self, actor: AgentId, move: Any) -> tuple[bool, Any]:
        """The human `actor`'s move this frame, or None for none.

        Returns:
            (True, action) to step the env with `action` (the move if legal, or the fallback once time is
            up: `fell_back` then says so), or (False, None) to wait this frame.
        """
        self.fell_back = False
        if move is not None and self.host.legal(actor, move):
            return True, move
        self.waited += 1
        if self.limit_frames is not None and self.waited >= self.limit_frames:
            self.fell_back = True
            return True, self._fallback(actor)
        return False, None

    def seconds_left(self) -> float | None:
        """Seconds left for the current human turn (None without a time limit)."""
        if self.limit_frames is None:
            return None
        return max(0, self.limit_frames - self.waited) / self.fps

    def _fallback(self, actor: AgentId) -> Any:
        mask = self.host.mask(actor)
        if actor in self._policies:
            obs = self.host.env.observe(actor)
            return self._policies[actor](obs, self._rngs[actor], mask)
        if self.host.legal(actor, self.default_action):
            return self.default_action
        allowed = legal_actions(self.host.action_space(actor), mask)
        return allowed[0] if allowed else self.default_action
