"""`EnvHost`: one environment behind a uniform interface, whatever its API.

Gymnasium envs, PettingZoo parallel envs and PettingZoo AEC envs all look the same to the runner: reset
with a seed, step with a dict of actions by agent, get dicts by agent back, render to a payload the browser
draws. A Gymnasium env has one agent, named by the scene (`player` by default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from mug.client.trajectory import is_parallel_env
from mug.refs import RefError, resolve_ref

EnvKind = Literal["gymnasium", "parallel", "aec"]


class EnvError(Exception):
    """The environment could not be built or used; the message says what and how to fix it."""


@dataclass
class Outcome:
    """What one step produced, by agent."""

    obs: dict[str, Any]
    rewards: dict[str, float]
    terminated: dict[str, bool]
    truncated: dict[str, bool]
    infos: dict[str, Any]
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
        if "render_mode" not in str(exc):
            raise EnvError(f"env {ref!r}({kwargs}) raised TypeError: {exc}") from exc
    return factory(**kwargs)


def as_action(space: Any, value: Any) -> Any:
    """Convert a JSON action (from key bindings or a policy) to what the space expects."""
    dtype = getattr(space, "dtype", None)
    if isinstance(value, list | tuple) or (dtype is not None and np.issubdtype(dtype, np.floating)):
        return np.asarray(value, dtype=dtype)
    return value


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
        joint: allow a Gymnasium env played by several agents (a multiplayer match): its action is the
            tuple of the agents' actions in sorted agent order (Tuple space) or a dict by agent (Dict space);
            every agent sees the one observation and reward.
    """

    def __init__(self, ref: str, kwargs: dict[str, Any], agents: list[str], joint: bool = False) -> None:
        self.env = make_env(ref, kwargs)
        self.joint = False
        if hasattr(self.env, "agent_selection"):
            self.kind: EnvKind = "aec"
        elif is_parallel_env(self.env):
            self.kind = "parallel"
        else:
            self.kind = "gymnasium"
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
            unknown = sorted(set(agents) - set(possible))
            if unknown:
                raise EnvError(
                    f"env {ref!r} has agents {possible}; the scene names {unknown}, which it does not "
                    f"have. Set GameScene(agents={{...}}) with a controller for each of {possible}."
                )
            missing = sorted(set(possible) - set(agents))
            if missing:
                raise EnvError(f"env {ref!r}: agents {missing} have no controller: add them to the scene's agents")
        if self.joint:
            self.agents = sorted(agents)
        else:
            self.agents = list(agents) if self.kind == "gymnasium" else list(self.env.possible_agents)

    @property
    def single(self) -> bool:
        """True for a Gymnasium env played by one agent."""
        return self.kind == "gymnasium" and not self.joint

    def action_space(self, agent: str) -> Any:
        if self.joint:
            space = self.env.action_space
            return space[agent] if type(space).__name__ == "Dict" else space[self.agents.index(agent)]
        return self.env.action_space if self.kind == "gymnasium" else self.env.action_space(agent)

    def reset(self, seed: int) -> dict[str, Any]:
        """Reset with `seed`; return the observation of each agent."""
        if self.kind == "gymnasium":
            obs, _ = self.env.reset(seed=seed)
            return dict.fromkeys(self.agents, obs)
        if self.kind == "parallel":
            obs, _ = self.env.reset(seed=seed)
            return dict(obs)
        self.env.reset(seed=seed)
        return {a: self.env.observe(a) for a in self.env.agents}

    def step(self, actions: dict[str, Any]) -> Outcome:
        """Step with one action per (live) agent."""
        if self.joint:
            return self._step_joint(actions)
        if self.single:
            agent = self.agents[0]
            obs, reward, term, trunc, info = self.env.step(as_action(self.env.action_space, actions[agent]))
            return Outcome(
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
            return Outcome(
                dict(obs),
                {a: float(r) for a, r in rewards.items()},
                {a: bool(v) for a, v in terms.items()},
                {a: bool(v) for a, v in truncs.items()},
                dict(infos),
                done,
            )
        return self._step_aec(actions)

    def _step_joint(self, actions: dict[str, Any]) -> Outcome:
        space = self.env.action_space
        if type(space).__name__ == "Dict":
            action: Any = {a: as_action(space[a], actions[a]) for a in self.agents}
        else:
            action = tuple(as_action(space[i], actions[a]) for i, a in enumerate(self.agents))
        obs, reward, term, trunc, info = self.env.step(action)
        every = self.agents
        return Outcome(
            dict.fromkeys(every, obs),
            dict.fromkeys(every, float(reward)),
            dict.fromkeys(every, bool(term)),
            dict.fromkeys(every, bool(trunc)),
            dict.fromkeys(every, info),
            bool(term) or bool(trunc),
        )

    def step_turn(self, action: Any) -> tuple[str, Outcome]:
        """AEC only: the selected agent acts once (None for a done agent). Returns (who acted, outcome)."""
        env = self.env
        agent = env.agent_selection
        ended = self._ended(agent)
        env.step(None if ended else as_action(env.action_space(agent), action))
        rewards = {a: float(r) for a, r in env.rewards.items()}
        return agent, self._aec_outcome(rewards, {agent: ended} if ended else {})

    def _step_aec(self, actions: dict[str, Any]) -> Outcome:
        # One full turn per tick: every live agent acts once, in the env's own order.
        env = self.env
        rewards = dict.fromkeys(env.agents, 0.0)
        removed: dict[str, tuple[bool, bool]] = {}
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

    def _ended(self, agent: str) -> tuple[bool, bool] | None:
        """AEC: (terminated, truncated) of a done agent (its next step is the dead step), else None."""
        term, trunc = bool(self.env.terminations[agent]), bool(self.env.truncations[agent])
        return (term, trunc) if term or trunc else None

    def _aec_outcome(self, rewards: dict[str, float], removed: dict[str, tuple[bool, bool]]) -> Outcome:
        """The AEC env's state by live agent; agents that a dead step just removed keep their (terminated,
        truncated) flags, so the step that empties the env still says how the episode ended."""
        env = self.env
        agents = list(env.agents)
        terminated = {a: bool(env.terminations[a]) for a in agents}
        truncated = {a: bool(env.truncations[a]) for a in agents}
        for a, (term, trunc) in removed.items():
            if a not in terminated:
                terminated[a], truncated[a] = term, trunc
        return Outcome(
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
