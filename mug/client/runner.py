"""The single-player game runner the browser worker drives, one tick per frame.

The worker owns the clock and the keyboard state; the runner owns the environment. Per tick it maps keys to
the human agents' actions, asks the policies of AI agents, steps the env, renders once and returns the
frame with the step's row. It never reads time or touches the page, so CPython tests drive it exactly as the
worker does.

Seeding: episode `e` is reset with `episode_seed(seed, e)`; each agent's action space is seeded with
`derive_seed(seed, "action_space", agent, e)` and each policy gets `np.random.default_rng(derive_seed(seed,
"policy", agent, e))`. The same seed and the same keys give the same rows (except `t_ms`).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mug.client.host import EnvHost
from mug.client.keys import KeyMapper
from mug.client.policies import Act, load_policy
from mug.client.records import step_row
from mug.client.seeding import derive_seed, episode_seed

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
        self._obs: dict[str, Any] = {}
        self._humans: list[str] = []
        self._policies: dict[str, tuple[str, dict[str, Any]]] = {}
        self._acts: dict[str, Act] = {}
        self._rngs: dict[str, np.random.Generator] = {}
        self._keys: KeyMapper | None = None

    # -- lifecycle
    def start(self, scene: dict[str, Any], seed: int, first_episode: int = 0) -> dict[str, Any]:
        """Build the env for a game scene (a SceneSpec dict) and reset episode `first_episode`.

        Returns:
            The first frame, as `tick` returns it (with no rows).
        """
        self.close()
        self.scene = scene
        self.seed = int(seed)
        agents: dict[str, Any] = scene.get("agents") or {"player": HUMAN}
        self._humans = sorted(a for a, c in agents.items() if c == HUMAN)
        self._policies = {a: (c["ref"], dict(c.get("kwargs") or {})) for a, c in agents.items() if c != HUMAN}
        self._acts = {}
        self._keys = KeyMapper(
            scene.get("key_bindings") or {}, scene.get("default_action", 0), scene.get("input_mode", "held")
        )
        self.host = EnvHost(scene["env"], dict(scene.get("env_kwargs") or {}), sorted(agents))
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
            host.action_space(agent).seed(derive_seed(self.seed, "action_space", agent, episode))
        self._rngs = {a: np.random.default_rng(derive_seed(self.seed, "policy", a, episode)) for a in self._policies}
        if not self._acts:
            self._acts = {a: load_policy(ref, a, host.action_space(a), kw) for a, (ref, kw) in self._policies.items()}

    # -- the frame
    def tick(self, held: list[str], pressed: list[str], t_ms: float) -> dict[str, Any]:
        """Play one frame.

        Args:
            held: keys held now, in press order (most recent last); empty when the tab is hidden.
            pressed: keys pressed since the previous tick.
            t_ms: the browser's wall clock (ms since the epoch).

        Returns:
            `{"render", "pixels", "rows", "episode", "step", "frame", "score", "episode_done", "scene_done"}`:
            `render` the frame payload (see `EnvHost.render`), `pixels` an HxWx4 uint8 array or None, `rows`
            the StepRow dicts of this tick (empty once the episode is over).
        """
        host = self._require()
        if self.episode_done:
            return self._result([])
        assert self._keys is not None
        key_action = self._keys.action(held, pressed)
        live = [a for a in host.agents if a in self._obs]
        actions = {a: key_action if a in self._humans else self._acts[a](self._obs[a], self._rngs[a]) for a in live}
        out = host.step(actions)
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
        if host.single:  # one agent: plain values; several: dicts by agent, in one row
            (agent,) = host.agents
            action, reward, info, obs = actions[agent], out.rewards[agent], out.infos[agent], out.obs[agent]
        else:
            action, reward, info, obs = actions, out.rewards, out.infos, out.obs
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

    def _result(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        render, pixels = self._require().render()
        return {
            "render": render,
            "pixels": pixels,
            "rows": rows,
            "episode": self.episode,
            "step": self.step,
            "frame": self.frame,
            "score": self.score,
            "episode_done": self.episode_done,
            "scene_done": self.scene_done,
        }
