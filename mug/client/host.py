"""`EnvHost`: one environment behind a uniform interface, whatever its API.

Gymnasium envs, PettingZoo parallel envs and PettingZoo AEC envs all look the same to the runner: reset
with a seed, step with a dict of actions by agent, get dicts by agent back, render to a payload the browser
draws. A Gymnasium env has one agent, named by the scene (`player` by default).

The kind comes from the libraries' own base classes (`pettingzoo.AECEnv`, `pettingzoo.ParallelEnv`,
`gymnasium.Env`), which PettingZoo's and Gymnasium's wrappers keep, never from probing attributes:
PettingZoo AEC envs usually create `agent_selection` in `reset()`, and its wrappers raise on attribute
access before reset. Agent ids are the env's own (str or int, see `mug.client.agents`).

Action masks follow PettingZoo's convention: `observation["action_mask"]` (a Dict observation) or
`info["action_mask"]`, one entry per action of a `Discrete` space (1: allowed). `EnvHost.mask(agent)`
returns the agent's current mask and `EnvHost.legal(agent, action)` checks an action against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import gymnasium
import numpy as np
import pettingzoo

from mug.client.agents import AgentId, ordered
from mug.refs import RefError, resolve_ref

EnvKind = Literal["gymnasium", "parallel", "aec"]


def env_kind(env: Any) -> EnvKind | None:
    """The env's API by its base class: PettingZoo ``AECEnv`` ("aec") or ``ParallelEnv`` ("parallel"),
    ``gymnasium.Env`` ("gymnasium"), else None. Wrappers of each library subclass its base class, so a
    wrapped env is recognised too (and no attribute is touched: PettingZoo's wrappers raise before reset)."""
    if isinstance(env, pettingzoo.AECEnv):
        return "aec"
    if isinstance(env, pettingzoo.ParallelEnv):
        return "parallel"
    if isinstance(env, gymnasium.Env):
        return "gymnasium"
    return None


class EnvError(Exception):
    """The environment could not be built or used; the message says what and how to fix it."""


@dataclass
class StepResult:
    """What one step produced, by agent."""

    obs: dict[AgentId, Any]
    rewards: dict[AgentId, float]
    terminated: dict[AgentId, bool]
    truncated: dict[AgentId, bool]
    infos: dict[AgentId, Any]
    done: bool


def make_env(ref: str, kwargs: dict[str, Any]) -> Any:
    """Call the factory `ref` with `kwargs` plus `render_mode="rgb_array"`, or without it if refused."""
    try:
        factory = resolve_ref(ref, "env")
    except RefError as exc:
        raise EnvError(str(exc)) from exc
    try:
        return factory(**kwargs, render_mode="rgb_array")
    except TypeError as exc:
        if "render_mode" not in str(exc) and "takes no arguments" not in str(exc):
            raise EnvError(f"env {ref!r}({kwargs}) raised TypeError: {exc}") from exc
    return factory(**kwargs)


def as_action(space: Any, value: Any) -> Any:
    """Convert a JSON action (from key bindings or a policy) to what the space expects."""
    dtype = getattr(space, "dtype", None)
    if isinstance(value, list | tuple) or (dtype is not None and np.issubdtype(dtype, np.floating)):
        return np.asarray(value, dtype=dtype)
    return value


def action_mask(observation: Any, info: Any) -> np.ndarray | None:
    """The action mask PettingZoo's way: `observation["action_mask"]`, else `info["action_mask"]`, else None."""
    for source in (observation, info):
        if isinstance(source, dict) and "action_mask" in source and source["action_mask"] is not None:
            return np.asarray(source["action_mask"])
    return None


def is_legal(space: Any, mask: np.ndarray | None, action: Any) -> bool:
    """Whether `action` is allowed by `mask` (always, without a mask or for a space other than Discrete)."""
    if mask is None or not isinstance(space, gymnasium.spaces.Discrete):
        return True
    try:
        index = int(action) - int(space.start)
    except (TypeError, ValueError):
        return False
    return 0 <= index < mask.shape[0] and bool(mask[index])


def legal_actions(space: Any, mask: np.ndarray | None) -> list[int]:
    """The allowed actions of a Discrete space, ascending (every action without a mask)."""
    start, n = int(space.start), int(space.n)
    return [start + i for i in range(n) if mask is None or (i < mask.shape[0] and mask[i])]


def rgba_frame(frame: np.ndarray) -> np.ndarray:
    """Return an HxWx3 or HxWx4 uint8 image as a contiguous HxWx4 uint8 array."""
    if frame.ndim != 3 or frame.shape[2] not in (3, 4):
        raise EnvError(f"render() returned an array of shape {frame.shape}: return HxWx3 or HxWx4 uint8 RGB(A)")
    if frame.dtype != np.uint8:
        frame = np.clip(frame, 0, 255).astype(np.uint8)
    if frame.shape[2] == 3:
        alpha = np.full(frame.shape[:2] + (1,), 255, dtype=np.uint8)
        frame = np.concatenate([frame, alpha], axis=2)
    return np.ascontiguousarray(frame)


class EnvHost:
    """Builds and drives one environment.

    Args:
        ref: the factory, "package.module:callable".
        kwargs: the factory's keyword arguments.
        agents: the scene's agent names; a Gymnasium env must have exactly one (or, with `joint`, several
            sharing a Tuple/Dict action space), a PettingZoo env's must be among its `possible_agents`.
            None: every agent the env has (a Gymnasium env's one agent is then `player`).
        joint: allow a Gymnasium env played by several agents (a multiplayer match): its action is the
            tuple of the agents' actions in sorted agent order (Tuple space) or a dict by agent (Dict space);
            every agent sees the one observation and reward.
    """

    def __init__(self, ref: str, kwargs: dict[str, Any], agents: list[AgentId] | None, joint: bool = False) -> None:
        self.env = make_env(ref, kwargs)
        self.joint = False
        kind = env_kind(self.env)
        if kind is None:
            raise EnvError(
                f"env {ref!r} returned a {type(self.env).__name__}, which is neither a gymnasium.Env nor a "
                "PettingZoo AECEnv or ParallelEnv: subclass one of them (wrappers keep the base class)"
            )
        self.kind: EnvKind = kind
        if agents is None:
            agents = ["player"] if kind == "gymnasium" else list(self.env.possible_agents)
        self._obs: dict[AgentId, Any] = {}
        self._infos: dict[AgentId, Any] = {}
        if self.kind == "gymnasium" and joint and len(agents) > 1:
            space = self.env.action_space
            if type(space).__name__ not in ("Tuple", "Dict"):
                raise EnvError(
                    f"env {ref!r} is a single-agent Gymnasium env played by agents {sorted(agents)}: give it a "
                    "Tuple (one entry per agent, sorted by name) or Dict (keyed by agent) action space"
                )
            self.joint = True
        elif self.kind == "gymnasium":
            if len(agents) != 1:
                raise EnvError(
                    f"env {ref!r} is a single-agent Gymnasium env, but the scene names agents {agents}: "
                    "give exactly one, e.g. agents={'player': 'human'}"
                )
        else:
            possible = list(self.env.possible_agents)
            unknown = ordered(set(agents) - set(possible))
            if unknown:
                hint = ""
                if any(isinstance(a, int) for a in possible) and any(isinstance(a, str) for a in unknown):
                    hint = " Its ids are ints: name them as ints, e.g. agents={0: 'human', 1: 'human'}."
                raise EnvError(
                    f"env {ref!r} has agents {possible}; the scene names {unknown}, which it does not "
                    f"have. Set GameScene(agents={{...}}) with a controller for each of {possible}.{hint}"
                )
            missing = ordered(set(possible) - set(agents))
            if missing:
                raise EnvError(f"env {ref!r}: agents {missing} have no controller: add them to the scene's agents")
        if self.joint:
            self.agents: list[AgentId] = ordered(agents)
        else:
            self.agents = list(agents) if self.kind == "gymnasium" else list(self.env.possible_agents)

    @property
    def single(self) -> bool:
        """True for a Gymnasium env played by one agent."""
        return self.kind == "gymnasium" and not self.joint

    def action_space(self, agent: AgentId) -> Any:
        if self.joint:
            space = self.env.action_space
            return space[agent] if type(space).__name__ == "Dict" else space[self.agents.index(agent)]
        return self.env.action_space if self.kind == "gymnasium" else self.env.action_space(agent)

    def reset(self, seed: int) -> dict[AgentId, Any]:
        """Reset with `seed`; return the observation of each agent."""
        if self.kind == "gymnasium":
            obs, info = self.env.reset(seed=seed)
            self._obs, self._infos = dict.fromkeys(self.agents, obs), dict.fromkeys(self.agents, info)
        elif self.kind == "parallel":
            obs, infos = self.env.reset(seed=seed)
            self._obs, self._infos = dict(obs), dict(infos or {})
        else:
            self.env.reset(seed=seed)
            self._obs = {a: self.env.observe(a) for a in self.env.agents}
        return dict(self._obs)

    # -- turns and masks
    def acting(self) -> AgentId | None:
        """AEC only: the agent whose turn it is (None once the env has no live agents)."""
        return self.env.agent_selection if self.env.agents else None

    def ended(self, agent: AgentId) -> bool:
        """AEC only: whether `agent` is terminated or truncated (its next step is the dead step)."""
        return self._ended(agent) is not None

    def mask(self, agent: AgentId) -> np.ndarray | None:
        """The agent's current action mask (see the module docstring), or None."""
        if self.kind == "aec":
            if agent not in self.env.agents:
                return None
            return action_mask(self.env.observe(agent), self.env.infos.get(agent))
        return action_mask(self._obs.get(agent), self._infos.get(agent))

    def legal(self, agent: AgentId, action: Any) -> bool:
        """Whether the agent's current mask allows `action` (True without a mask)."""
        return is_legal(self.action_space(agent), self.mask(agent), action)

    def step(self, actions: dict[AgentId, Any]) -> StepResult:
        """Step with one action per (live) agent."""
        out = self._step(actions)
        self._obs, self._infos = out.obs, out.infos
        return out

    def _step(self, actions: dict[AgentId, Any]) -> StepResult:
        if self.joint:
            return self._step_joint(actions)
        if self.single:
            agent = self.agents[0]
            obs, reward, term, trunc, info = self.env.step(as_action(self.env.action_space, actions[agent]))
            return StepResult(
                {agent: obs},
                {agent: float(reward)},
                {agent: bool(term)},
                {agent: bool(trunc)},
                {agent: info},
                bool(term) or bool(trunc),
            )
        if self.kind == "parallel":
            live = list(self.env.agents)
            obs, rewards, terms, truncs, infos = self.env.step(
                {a: as_action(self.env.action_space(a), actions[a]) for a in live}
            )
            done = not self.env.agents or all(terms.get(a, False) or truncs.get(a, False) for a in live)
            return StepResult(
                dict(obs),
                {a: float(r) for a, r in rewards.items()},
                {a: bool(v) for a, v in terms.items()},
                {a: bool(v) for a, v in truncs.items()},
                dict(infos),
                done,
            )
        return self._step_aec(actions)

    def _step_joint(self, actions: dict[AgentId, Any]) -> StepResult:
        space = self.env.action_space
        if type(space).__name__ == "Dict":
            action: Any = {a: as_action(space[a], actions[a]) for a in self.agents}
        else:
            action = tuple(as_action(space[i], actions[a]) for i, a in enumerate(self.agents))
        obs, reward, term, trunc, info = self.env.step(action)
        every = self.agents
        return StepResult(
            dict.fromkeys(every, obs),
            dict.fromkeys(every, float(reward)),
            dict.fromkeys(every, bool(term)),
            dict.fromkeys(every, bool(trunc)),
            dict.fromkeys(every, info),
            bool(term) or bool(trunc),
        )

    def step_turn(self, action: Any) -> tuple[AgentId, StepResult]:
        """AEC only: the selected agent acts once (None for a done agent). Returns (who acted, outcome)."""
        env = self.env
        agent = env.agent_selection
        ended = self._ended(agent)
        env.step(None if ended else as_action(env.action_space(agent), action))
        rewards = {a: float(r) for a, r in env.rewards.items()}
        out = self._aec_outcome(rewards, {agent: ended} if ended else {})
        self._obs, self._infos = out.obs, out.infos
        return agent, out

    def _step_aec(self, actions: dict[AgentId, Any]) -> StepResult:
        # One full turn per tick: every live agent acts once, in the env's own order.
        env = self.env
        rewards = dict.fromkeys(env.agents, 0.0)
        removed: dict[AgentId, tuple[bool, bool]] = {}
        for _ in range(len(env.agents)):
            if not env.agents:
                break
            agent = env.agent_selection
            ended = self._ended(agent)
            if ended:
                removed[agent] = ended
            env.step(None if ended else as_action(env.action_space(agent), actions[agent]))
            for a, r in env.rewards.items():
                rewards[a] = rewards.get(a, 0.0) + float(r)
        return self._aec_outcome(rewards, removed)

    def _ended(self, agent: AgentId) -> tuple[bool, bool] | None:
        """AEC: (terminated, truncated) of a done agent (its next step is the dead step), else None."""
        term, trunc = bool(self.env.terminations[agent]), bool(self.env.truncations[agent])
        return (term, trunc) if term or trunc else None

    def _aec_outcome(self, rewards: dict[AgentId, float], removed: dict[AgentId, tuple[bool, bool]]) -> StepResult:
        """The AEC env's state by live agent; agents that a dead step just removed keep their (terminated,
        truncated) flags, so the step that empties the env still says how the episode ended."""
        env = self.env
        agents = list(env.agents)
        terminated = {a: bool(env.terminations[a]) for a in agents}
        truncated = {a: bool(env.truncations[a]) for a in agents}
        for a, (term, trunc) in removed.items():
            if a not in terminated:
                terminated[a], truncated[a] = term, trunc
        return StepResult(
            {a: env.observe(a) for a in agents},
            rewards,
            terminated,
            truncated,
            {a: env.infos[a] for a in agents},
            not agents,
        )

    def render(self) -> tuple[dict[str, Any], np.ndarray | None]:
        """Render the current state.

        Returns:
            (payload, pixels): `{"kind": "draw", "width", "height", "commands"}` for a `mug.rendering.Surface`
            (or a list of draw commands), `{"kind": "rgb", "width", "height"}` with an HxWx4 uint8 array for
            an image, `{"kind": "none"}` if `render()` returned None.
        """
        frame = self.env.render()
        if frame is None:
            return {"kind": "none"}, None
        if hasattr(frame, "payload"):
            return frame.payload(), None
        if isinstance(frame, list):
            return {"kind": "draw", "width": None, "height": None, "commands": frame}, None
        if isinstance(frame, np.ndarray):
            pixels = rgba_frame(frame)
            return {"kind": "rgb", "width": int(pixels.shape[1]), "height": int(pixels.shape[0])}, pixels
        raise EnvError(
            f"render() returned a {type(frame).__name__}: return a numpy RGB array (render_mode "
            "'rgb_array') or a mug.rendering.Surface"
        )

    def close(self) -> None:
        close = getattr(self.env, "close", None)
        if close is not None:
            close()
