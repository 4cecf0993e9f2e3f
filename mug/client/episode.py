"""One game's episodes, shared by the single-player runner and the match runner.

The core owns what both runners do the same way: reset an episode with its seed, seed the action spaces
and the policies' generators, call the policies, step the `EnvHost` with the joint action (or one
agent's turn), keep the step count and score, decide when the episode ends and build its step row. It
never reads keys, a clock or the network: the single-player runner brings the keys and the frame clock,
the match runner the lockstep session's inputs and frames.

Seeding (identical in both runners): episode `e` is reset with `episode_seed(seed, e)`; each agent's
action space is seeded with `derive_seed(seed, "action_space", label, e)` and each policy gets
`np.random.default_rng(derive_seed(seed, "policy", label, e))` (`label`: the agent's label,
`mug.client.agents`). `seed` is the scene's seed (single player) or the match seed.

Policies (`mug.client.policies`, `mug.client.onnx_policies`): a Python policy is called when its agent
acts; an ONNX policy's model runs in the worker between frames, so its outputs are given before the step
that uses them (`needs_inference` says for whom, `give_outputs` hands them over). `act_every=k` (both
kinds): the policy decides on every k-th step of its agent and holds its last action in between
(`mug.client.policies.Every`).

An episode ends on a step whose outcome is done (every agent terminated or truncated) or at the scene's
`max_steps`; the row says `terminated` if some agent terminated, else `truncated`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mug.client.agents import AgentId, by_label, label, ordered
from mug.client.host import EnvHost, StepResult
from mug.client.onnx_policies import OnnxController, OnnxSpec
from mug.client.policies import Controller, Every, PolicyError, load_policy
from mug.client.records import step_row
from mug.client.seeding import derive_seed, episode_seed
from mug.client.spec import HUMAN, GameSpec, SpecError
from mug.client.turns import Turns

PolicySpec = tuple[str, dict[str, Any]]  # (policy ref, kwargs)


@dataclass
class Controllers:
    """Who plays what, from the agents' controller specs: "human", `{"ref", "kwargs", "act_every"}` (a
    Python policy) or `{"kind": "onnx", ...}` (`OnnxSpec`)."""

    humans: list[AgentId] = field(default_factory=list)
    policies: dict[AgentId, PolicySpec] = field(default_factory=dict)
    onnx: dict[AgentId, OnnxSpec] = field(default_factory=dict)
    act_every: dict[AgentId, int] = field(default_factory=dict)

    @classmethod
    def parse(cls, agents: Mapping[AgentId, Any]) -> Controllers:
        """Read agent -> controller spec.

        Raises:
            SpecError: a controller is neither "human" nor a policy (the message names the agent).
        """
        out = cls()
        for agent in ordered(agents):
            ctrl = agents[agent]
            where = f"agent {agent!r}"
            if ctrl == HUMAN:
                out.humans.append(agent)
            elif isinstance(ctrl, Mapping) and ctrl.get("kind") == "onnx":
                out.onnx[agent] = spec = OnnxSpec.parse(where, ctrl)
                out.act_every[agent] = spec.act_every
            elif isinstance(ctrl, Mapping) and isinstance(ctrl.get("ref"), str):
                out.policies[agent] = (ctrl["ref"], dict(ctrl.get("kwargs") or {}))
                every = ctrl.get("act_every", 1)
                if not isinstance(every, int) or isinstance(every, bool) or every < 1:
                    raise SpecError(f"{where}: 'act_every' must be a whole number of steps (1 or more), not {every!r}")
                out.act_every[agent] = every
            else:
                raise SpecError(f"{where}: expected 'human', {{ref, kwargs, act_every}} or {{kind: 'onnx', ...}}")
        return out


class EpisodeCore:
    """Plays the episodes of one env: seeds, policies, steps, score, rows, turns.

    Args:
        host: the env's host.
        spec: the game scene (fps, default action, max_steps, turn).
        seed: the root seed (scene or match).
        humans: the agents played by people, ordered.
        policies: agent -> (policy ref, kwargs), for agents played by a policy.
        scored: the agents whose rewards make the score; None: the humans, or with no humans the agents
            that acted on the step.
        onnx: agent -> ONNX policy, for agents whose actions this core computes from a model's outputs.
        act_every: agent -> k, for policies that act every k steps (default 1).
        entered: turn-based: agents whose moves are given to `step_turn` like a human's but wait with no time
            limit (a match's ONNX agents: their owner's move arrives through the lockstep).
    """

    def __init__(
        self,
        host: EnvHost,
        spec: GameSpec,
        seed: int,
        humans: list[AgentId],
        policies: Mapping[AgentId, PolicySpec],
        scored: list[AgentId] | None = None,
        onnx: Mapping[AgentId, OnnxSpec] | None = None,
        act_every: Mapping[AgentId, int] | None = None,
        entered: list[AgentId] | None = None,
    ) -> None:
        self.host = host
        self.entered = list(entered or ())
        self.seed = int(seed)
        self.humans = humans
        self.policies = dict(policies)
        self.onnx_specs = dict(onnx or {})
        self.onnx: dict[AgentId, OnnxController] = {}
        every = dict(act_every or {})
        self._every = {a: Every(int(every.get(a, 1))) for a in [*self.policies, *self.onnx_specs]}
        self._outputs: dict[AgentId, Mapping[str, Any]] = {}
        self._recorded: dict[AgentId, Any] = {}
        self.max_steps = spec.max_steps
        self.scored = scored
        self.turns: Turns | None = None
        self.fallback_played = False  # the step being recorded was played by the turn fallback
        if host.kind == "aec":
            self.turns = Turns(host, spec.turn, spec.fps, humans, spec.default_action, self.seed)
        self.episode = 0
        self.step = 0
        self.score = 0.0
        self.done = False
        self.episode_seed = 0
        self.obs: dict[AgentId, Any] = {}
        self.controllers: dict[AgentId, Controller] = {}
        self._rngs: dict[AgentId, np.random.Generator] = {}

    def reset(self, episode: int) -> None:
        """Start episode `episode` (0-based): reset the env with its seed, reseed spaces and policies."""
        host = self.host
        self.episode, self.step, self.score, self.done = episode, 0, 0.0, False
        self.episode_seed = episode_seed(self.seed, episode)
        self.obs = host.reset(self.episode_seed)
        for agent in host.agents:
            host.action_space(agent).seed(derive_seed(self.seed, "action_space", label(agent), episode))
        self._rngs = {
            a: np.random.default_rng(derive_seed(self.seed, "policy", label(a), episode))
            for a in [*self.policies, *self.onnx_specs]
        }
        if not self.controllers and not self.onnx:  # once, after the first reset (a space may only be complete then)
            self.controllers = {
                a: load_policy(ref, a, host.action_space(a), kw) for a, (ref, kw) in self.policies.items()
            }
            self.onnx = {a: OnnxController(spec, a, host.action_space(a)) for a, spec in self.onnx_specs.items()}
        for every in self._every.values():
            every.reset()
        self._outputs = {}
        self._recorded = {}
        if self.turns is not None:
            self.turns.reset(episode)

    def live(self, agent: AgentId) -> bool:
        """Whether `agent` has an observation now (it takes part in the next joint step)."""
        return agent in self.obs

    def is_policy(self, agent: AgentId) -> bool:
        """Whether this core computes `agent`'s actions (a Python or an ONNX policy)."""
        return agent in self.controllers or agent in self.onnx

    def policy_action(self, agent: AgentId) -> Any:
        """The policy's action for `agent` now (its observation, its generator, its mask), or the action it
        holds (`act_every`). An ONNX policy that decides now needs its outputs first (`give_outputs`).

        Raises:
            PolicyError: an ONNX policy decides now and no outputs were given.
        """
        every = self._every[agent]
        if not every.due(lambda a: self.host.legal(agent, a)):
            return every.hold()
        mask = self.host.mask(agent)
        if agent in self.onnx:
            if agent in self._recorded:  # a replay: the action the model chose then (CPython runs no model)
                return every.took(self._recorded.pop(agent))
            outputs = self._outputs.pop(agent, None)
            if outputs is None:
                raise PolicyError(
                    f"ONNX policy for agent {agent!r}: no model outputs for this step (the worker runs the model "
                    "for the agents `needs_inference` names before each frame)"
                )
            return every.took(self.onnx[agent].action(outputs, self._rngs[agent], mask))
        return every.took(self.controllers[agent](self.obs.get(agent), self._rngs[agent], mask))

    def decides(self, agent: AgentId) -> bool:
        """Whether `agent`'s policy decides at its next step (rather than holding its action)."""
        return self._every[agent].due(lambda a: self.host.legal(agent, a))

    def needs_inference(self, agents: list[AgentId]) -> list[tuple[AgentId, dict[str, Any]]]:
        """For the ONNX agents among `agents` that decide at their next step: (agent, the model's feeds)."""
        return [(a, self.onnx[a].feeds(self.obs.get(a))) for a in agents if a in self.onnx and self.decides(a)]

    def give_outputs(self, agent: AgentId, outputs: Mapping[str, Any]) -> None:
        """The model's outputs for `agent`'s next decision (`{name: {"type", "dims", "data"}}`)."""
        if agent not in self.onnx:
            raise PolicyError(f"agent {agent!r} is not played by an ONNX policy here")
        self._outputs[agent] = outputs

    def give_recorded(self, agent: AgentId, action: Any) -> None:
        """A replay: the recorded action of an ONNX agent stands in for its model's next decision."""
        if agent in self.onnx:
            self._recorded[agent] = action

    def onnx_decision(self, agent: AgentId, outputs: Mapping[str, Any]) -> Any:
        """The ONNX policy's action from these outputs now (the match's owner peer: see `mug.client.match`)."""
        return self.onnx[agent].action(outputs, self._rngs[agent], self.host.mask(agent))

    # -- stepping
    def step_joint(self, actions: dict[AgentId, Any]) -> StepResult:
        """Step a simultaneous env with the actions of the live agents among `actions`."""
        return self.host.step({a: v for a, v in actions.items() if a in self.obs})

    def step_turn(self, actor: AgentId, move: Callable[[], Any]) -> tuple[dict[AgentId, Any], StepResult] | None:
        """Turn-based: play `actor`'s turn. A dead step or a policy's move plays at once; a human's `move()`
        (their move this frame, or None) plays if legal, or their fallback once their time is up.

        Returns:
            ({actor: action}, outcome), or None when the human has no move yet (nothing was stepped).
        """
        assert self.turns is not None, "step_turn is for turn-based (AEC) envs"
        act: Any = None
        self.fallback_played = False
        if self.host.ended(actor):
            act = None  # the dead step
        elif actor in self.entered:
            act = move()
            if act is None or not self.host.legal(actor, act):
                return None  # its move has not arrived (or is not legal: no move, on every peer)
        elif self.is_policy(actor):
            act = self.policy_action(actor)
        else:
            go, act = self.turns.resolve(actor, move())
            if not go:
                return None
            self.fallback_played = self.turns.fell_back
        _, out = self.host.step_turn(act)
        self.turns.moved()
        return {actor: act}, out

    def record(self, actions: dict[AgentId, Any], out: StepResult, frame: int, t_ms: float) -> dict[str, Any]:
        """Count the step that `actions` led to: score, episode end; return its step row.

        One agent of a Gymnasium env: plain values; several agents: dicts by agent label, in one row.
        """
        host = self.host
        self.step += 1
        self.obs = out.obs
        scored = self.scored if self.scored is not None else (self.humans or list(actions))
        self.score += sum(out.rewards[a] for a in scored if a in out.rewards)
        limit = self.max_steps is not None and self.step >= self.max_steps
        self.done = out.done or limit
        terminated = out.done and any(out.terminated.values())
        action: Any
        reward: Any
        info: Any
        obs: Any
        if host.single:
            (agent,) = host.agents
            action, reward, info, obs = actions[agent], out.rewards[agent], out.infos[agent], out.obs[agent]
        else:
            action, reward, info, obs = by_label(actions), by_label(out.rewards), by_label(out.infos), out.obs
        return step_row(
            episode=self.episode,
            step=self.step,
            agent="",
            action=action,
            reward=reward,
            terminated=terminated,
            truncated=self.done and not terminated,
            info=info,
            obs=obs,
            episode_seed=self.episode_seed,
            t_ms=t_ms,
            frame=frame,
            turn_fallback=self._take_fallback(),
        )

    def _take_fallback(self) -> bool:
        played, self.fallback_played = self.fallback_played, False
        return played

    # -- what the page sees
    def turn_info(self, local: AgentId | None = None) -> dict[str, Any] | None:
        """Turn-based: `{"agent": label, "yours": bool, "human": bool, "seconds_left": float|None}` for the
        acting agent, or None (not turn-based, or no live agent). `yours`: the acting agent is `local`, or
        with `local` None any human (every human is played on this page)."""
        if self.turns is None:
            return None
        actor = self.host.acting()
        if actor is None:
            return None
        human = actor in self.humans
        return {
            "agent": label(actor),
            "yours": human if local is None else actor == local,
            "human": human,
            "seconds_left": self.turns.seconds_left() if human else None,
        }
