"""The single-player game runner the browser worker drives, one tick per frame.

The worker owns the clock and the keyboard state; the runner owns the environment. Per tick it maps keys to
the human agents' actions, asks the policies of AI agents, steps the env, renders once and returns the
frame with the step's row. It never reads time or touches the page, so CPython tests drive it exactly as the
worker does.

A turn-based (AEC) env steps one agent per tick: a policy's turn or a dead step at once, a human's turn
only when they make a legal move (or their time is up, see `mug.client.turns`); a waiting tick returns no
row and no new picture. Keys the action mask forbids do nothing, in every kind of env.

Seeding: episode `e` is reset with `episode_seed(seed, e)`; each agent's action space is seeded with
`derive_seed(seed, "action_space", label, e)` and each policy gets `np.random.default_rng(derive_seed(seed,
"policy", label, e))` (`label`: the agent's label, `mug.client.agents`). The same seed and the same keys
give the same rows (except `t_ms`).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from mug.client.agents import AgentId, by_label, from_label, label, ordered
from mug.client.host import EnvHost, Outcome
from mug.client.keys import KeyMapper
from mug.client.policies import Controller, load_policy
from mug.client.pyodide_compat import install_pygame_stub
from mug.client.records import step_row
from mug.client.seeding import derive_seed, episode_seed
from mug.client.turns import Turns

HUMAN = "human"


class Runner:
    """Plays the episodes of one game scene."""

    def __init__(self) -> None:
        self.host: EnvHost | None = None
        self.scene: dict[str, Any] = {}
        self.seed = 0
        self.episode = 0
        self.step = 0
        self.frame = 0
        self.score = 0.0
        self.episode_done = False
        self.episode_seed = 0
        self._obs: dict[AgentId, Any] = {}
        self._humans: list[AgentId] = []
        self._policies: dict[AgentId, tuple[str, dict[str, Any]]] = {}
        self._acts: dict[AgentId, Controller] = {}
        self._rngs: dict[AgentId, np.random.Generator] = {}
        self._keys: KeyMapper | None = None
        self._turns: Turns | None = None

    # -- lifecycle
    def start(self, scene: dict[str, Any], seed: int, first_episode: int = 0) -> dict[str, Any]:
        """Build the env for a game scene (a SceneSpec dict) and reset episode `first_episode`.

        Returns:
            The first frame, as `tick` returns it (with no rows).
        """
        self.close()
        self.scene = scene
        self.seed = int(seed)
        labelled: dict[str, Any] = scene.get("agents") or {"player": HUMAN}
        agents = {from_label(a): c for a, c in labelled.items()}
        self._humans = ordered(a for a, c in agents.items() if c == HUMAN)
        self._policies = {a: (c["ref"], dict(c.get("kwargs") or {})) for a, c in agents.items() if c != HUMAN}
        self._acts = {}
        self._keys = KeyMapper(
            scene.get("key_bindings") or {}, scene.get("default_action", 0), scene.get("input_mode", "held")
        )
        if scene.get("pygame_stub"):
            install_pygame_stub()  # before the env's module is imported
        self.host = EnvHost(scene["env"], dict(scene.get("env_kwargs") or {}), ordered(agents))
        self._turns = None
        if self.host.kind == "aec":
            self._turns = Turns(
                self.host,
                scene.get("turn"),
                int(scene.get("fps", 30)),
                self._humans,
                scene.get("default_action", 0),
                self.seed,
            )
        self._reset(int(first_episode))
        return self._result([])

    def next_episode(self) -> dict[str, Any]:
        """Reset the next episode (after `tick` reported `episode_done`) and return its first frame."""
        if not self.episode_done:
            raise RuntimeError(f"episode {self.episode} is still running: next_episode() comes after episode_done")
        if self.scene_done:
            raise RuntimeError(f"all {self.num_episodes} episodes are done")
        self._reset(self.episode + 1)
        return self._result([])

    def close(self) -> None:
        if self.host is not None:
            self.host.close()
            self.host = None

    @property
    def num_episodes(self) -> int:
        return int(self.scene.get("num_episodes", 1))

    @property
    def scene_done(self) -> bool:
        """True once the last episode of the scene has ended."""
        return self.episode_done and self.episode + 1 >= self.num_episodes

    def _require(self) -> EnvHost:
        if self.host is None:
            raise RuntimeError("start() the runner first")
        return self.host

    def _reset(self, episode: int) -> None:
        host = self._require()
        self.episode, self.step, self.score, self.episode_done = episode, 0, 0.0, False
        self.episode_seed = episode_seed(self.seed, episode)
        self._obs = host.reset(self.episode_seed)
        for agent in host.agents:
            host.action_space(agent).seed(derive_seed(self.seed, "action_space", label(agent), episode))
        self._rngs = {
            a: np.random.default_rng(derive_seed(self.seed, "policy", label(a), episode)) for a in self._policies
        }
        if not self._acts:
            self._acts = {a: load_policy(ref, a, host.action_space(a), kw) for a, (ref, kw) in self._policies.items()}
        if self._turns is not None:
            self._turns.reset(episode)

    # -- the frame
    def tick(self, held: list[str], pressed: list[str], t_ms: float) -> dict[str, Any]:
        """Play one frame.

        Args:
            held: keys held now, in press order (most recent last); empty when the tab is hidden.
            pressed: keys pressed since the previous tick.
            t_ms: the browser's wall clock (ms since the epoch).

        Returns:
            `{"render", "pixels", "turn", "rows", "episode", "step", "frame", "score", "episode_done",
            "scene_done"}`: `render` the frame payload (see `EnvHost.render`; `{"kind": "none"}` when nothing
            changed), `pixels` an HxWx4 uint8 array or None, `turn` see `turn_info`, `rows` the StepRow dicts
            of this tick (empty once the episode is over, or while a turn-based game waits for a move).
        """
        host = self._require()
        if self.episode_done:
            return self._result([])
        assert self._keys is not None
        if self._turns is not None:
            return self._tick_turn(self._turns, held, pressed, t_ms)
        live = [a for a in host.agents if a in self._obs]
        actions: dict[AgentId, Any] = {}
        for a in live:
            if a in self._humans:
                actions[a] = self._keys.action(held, pressed, functools.partial(host.legal, a))
            else:
                actions[a] = self._acts[a](self._obs[a], self._rngs[a], host.mask(a))
        out = host.step(actions)
        return self._after_step(actions, out, live, t_ms)

    def _tick_turn(self, turns: Turns, held: list[str], pressed: list[str], t_ms: float) -> dict[str, Any]:
        """AEC: the acting agent's move, if it makes one this tick (see the module docstring)."""
        host = self._require()
        assert self._keys is not None
        actor = host.acting()
        if actor is None:  # no live agent: the episode is over (a step limit of 0 cannot happen)
            return self._result([])
        act: Any = None
        if host.ended(actor):
            act = None  # the dead step
        elif actor in self._acts:
            act = self._acts[actor](self._obs.get(actor), self._rngs[actor], host.mask(actor))
        else:
            found, move = self._keys.move(held, pressed, functools.partial(host.legal, actor))
            go, act = turns.resolve(actor, move if found else None)
            if not go:
                self.frame += 1  # a tick without a step: rows' frames show how long a move took
                return self._result([], render=False)
        _, out = host.step_turn(act)
        turns.moved()
        return self._after_step({actor: act}, out, [actor], t_ms)

    def _after_step(
        self, actions: dict[AgentId, Any], out: Outcome, live: list[AgentId], t_ms: float
    ) -> dict[str, Any]:
        host = self._require()
        self.step += 1
        self.frame += 1
        self._obs = out.obs
        counted = [a for a in (self._humans or live) if a in out.rewards]
        self.score += sum(out.rewards[a] for a in counted)
        max_steps = self.scene.get("max_steps")
        limit = max_steps is not None and self.step >= int(max_steps)
        self.episode_done = out.done or limit
        terminated = out.done and any(out.terminated.values())
        truncated = self.episode_done and not terminated
        action: Any
        reward: Any
        info: Any
        obs: Any
        if host.single:  # one agent: plain values; several: dicts by agent label, in one row
            (agent,) = host.agents
            action, reward, info, obs = actions[agent], out.rewards[agent], out.infos[agent], out.obs[agent]
        else:
            action, reward, info, obs = by_label(actions), by_label(out.rewards), by_label(out.infos), out.obs
        row = step_row(
            episode=self.episode,
            step=self.step,
            agent="",
            action=action,
            reward=reward,
            terminated=terminated,
            truncated=truncated,
            info=info,
            obs=obs,
            episode_seed=self.episode_seed,
            t_ms=t_ms,
            frame=self.frame,
        )
        return self._result([row])

    def turn_info(self) -> dict[str, Any] | None:
        """Turn-based: `{"agent": label, "yours": bool, "human": bool, "seconds_left": float|None}` for
        the acting agent (`yours`: a human of this page), or None (not turn-based, or the episode is over)."""
        host = self.host
        if self._turns is None or host is None or self.episode_done:
            return None
        actor = host.acting()
        if actor is None:
            return None
        human = actor in self._humans
        left = self._turns.seconds_left() if human else None
        return {"agent": label(actor), "yours": human, "human": human, "seconds_left": left}

    def _result(self, rows: list[dict[str, Any]], render: bool = True) -> dict[str, Any]:
        """The frame for the page; `render=False` (nothing changed) sends `{"kind": "none"}`: keep the picture."""
        payload, pixels = self._require().render() if render else ({"kind": "none"}, None)
        return {
            "render": payload,
            "pixels": pixels,
            "turn": self.turn_info(),
            "rows": rows,
            "episode": self.episode,
            "step": self.step,
            "frame": self.frame,
            "score": self.score,
            "episode_done": self.episode_done,
            "scene_done": self.scene_done,
        }
