"""The single-player game runner the browser worker drives, one tick per frame.

The worker owns the clock and the keyboard state; the runner owns the environment. Per tick it maps keys to
the human agents' actions, lets the episode core (`mug.client.episode`: policies, step, score, row) play
the frame, renders once and returns the frame with the step's row. Between episodes it waits for the
page (`next_episode`). It never reads time or touches the page, so CPython tests drive it exactly as the
worker does.

A turn-based (AEC) env steps one agent per tick: a policy's turn or a dead step at once, a human's turn
only when they make a legal move (or their time is up, see `mug.client.turns`); a waiting tick returns no
row and no new picture. Keys the action mask forbids do nothing, in every kind of env.

Seeding: see `mug.client.episode`, with the scene's seed as the root. The same seed and the same keys
give the same rows (except `t_ms`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mug.client.agents import AgentId, from_label, label, ordered
from mug.client.controls import Controls
from mug.client.episode import Controllers, EpisodeCore
from mug.client.host import EnvHost, StepResult
from mug.client.keys import KeyMapper
from mug.client.pointer import Click
from mug.client.pyodide_compat import install_pygame_stub
from mug.client.spec import GameSpec

HumanInput = Callable[[AgentId, Any], Any]  # (agent, legal) -> the human's action (or move) this frame


class Runner:
    """Plays the episodes of one game scene."""

    def __init__(self) -> None:
        self.host: EnvHost | None = None
        self.spec: GameSpec | None = None
        self.core: EpisodeCore | None = None
        self.frame = 0
        self._controls: Controls | None = None

    # -- lifecycle
    def start(self, scene: GameSpec | Mapping[str, Any], seed: int, first_episode: int = 0) -> dict[str, Any]:
        """Build the env for a game scene (a `GameSpec`, or a SceneSpec dict) and reset episode `first_episode`.

        Returns:
            The first frame, as `tick` returns it (with no rows).
        """
        self.close()
        self.frame = 0  # frames count from each start, so a scene's rows never depend on an earlier scene
        spec = scene if isinstance(scene, GameSpec) else GameSpec.parse(scene)
        self.spec = spec
        agents = {from_label(a): c for a, c in spec.agents.items()}
        who = Controllers.parse(agents)
        self._controls = Controls(KeyMapper(spec.key_bindings, spec.default_action, spec.input_mode), spec.pointer)
        if spec.pygame_stub:
            install_pygame_stub()  # before the env's module is imported
        self.host = EnvHost(spec.env, dict(spec.env_kwargs), ordered(agents))
        self.core = EpisodeCore(
            self.host, spec, int(seed), who.humans, who.policies, onnx=who.onnx, act_every=who.act_every
        )
        self.core.reset(int(first_episode))
        return self._result([])

    def next_episode(self) -> dict[str, Any]:
        """Reset the next episode (after `tick` reported `episode_done`) and return its first frame."""
        core = self._require()
        if not core.done:
            raise RuntimeError(f"episode {core.episode} is still running: next_episode() comes after episode_done")
        if self.scene_done:
            raise RuntimeError(f"all {self.num_episodes} episodes are done")
        core.reset(core.episode + 1)
        return self._result([])

    def close(self) -> None:
        if self.host is not None:
            self.host.close()
            self.host = None
            self.core = None

    @property
    def num_episodes(self) -> int:
        return self.spec.num_episodes if self.spec is not None else 1

    @property
    def episode(self) -> int:
        return self.core.episode if self.core is not None else 0

    @property
    def step(self) -> int:
        return self.core.step if self.core is not None else 0

    @property
    def score(self) -> float:
        return self.core.score if self.core is not None else 0.0

    @property
    def episode_done(self) -> bool:
        return self.core is not None and self.core.done

    @property
    def episode_seed(self) -> int:
        return self.core.episode_seed if self.core is not None else 0

    @property
    def scene_done(self) -> bool:
        """True once the last episode of the scene has ended."""
        return self.episode_done and self.episode + 1 >= self.num_episodes

    def _require(self) -> EpisodeCore:
        if self.core is None:
            raise RuntimeError("start() the runner first")
        return self.core

    # -- ONNX policies: the worker runs their models between frames
    def inference(self) -> list[dict[str, Any]]:
        """The model runs the next tick needs: `[{"agent": label, "model": url, "sha256", "feeds"}]` for each
        ONNX agent that decides at its next step (`EpisodeCore.needs_inference`). The worker runs them and
        passes the outputs to `tick`; the policy then acts on the observation it sees now, so single-player
        rows do not depend on how long inference takes (a slow model makes the frame late, like a slow step).
        """
        core = self._require()
        if core.done or not core.onnx:
            return []
        host = core.host
        if core.turns is not None:
            actor = host.acting()
            targets = [] if actor is None or host.ended(actor) else [actor]
        else:
            targets = [a for a in host.agents if core.live(a)]
        return [
            {"agent": label(a), **core.onnx_specs[a].page(), "feeds": feeds}
            for a, feeds in core.needs_inference(targets)
        ]

    def _give(self, outputs: Mapping[str, Any] | None) -> None:
        core = self._require()
        for name, out in (outputs or {}).items():
            core.give_outputs(from_label(name), out)

    # -- the frame
    def tick(
        self,
        held: list[str],
        pressed: list[str],
        t_ms: float,
        clicks: Sequence[Click] | None = None,
        outputs: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Play one frame.

        Args:
            held: keys held now, in press order (most recent last); empty when the tab is hidden.
            pressed: keys pressed since the previous tick.
            t_ms: the browser's wall clock (ms since the epoch).
            clicks: clicks on the canvas since the previous tick, `(x, y, width, height)` in surface
                coordinates (`mug.client.pointer`); they count like pressed keys.
            outputs: the ONNX models' outputs for the runs `inference` asked for, by agent label.

        Returns:
            `{"render", "pixels", "turn", "rows", "episode", "step", "frame", "score", "episode_done",
            "scene_done"}`: `render` the frame payload (see `EnvHost.render`; `{"kind": "none"}` when nothing
            changed), `pixels` an HxWx4 uint8 array or None, `turn` see `turn_info`, `rows` the StepRow dicts
            of this tick (empty once the episode is over, or while a turn-based game waits for a move).
        """
        core = self._require()
        controls = self._controls
        assert controls is not None
        taps = list(clicks or [])
        self._give(outputs)

        def action(agent: AgentId, legal: Any) -> Any:
            return controls.action(held, pressed, taps, legal, core.host.action_space(agent))

        def move(agent: AgentId, legal: Any) -> Any:
            found, move = controls.move(held, pressed, taps, legal, core.host.action_space(agent))
            return move if found else None

        return self._play(action, move, t_ms, render=True)

    def replay_tick(self, actions: Mapping[AgentId, Any], t_ms: float = 0.0) -> dict[str, Any]:
        """Play one tick with the human agents' recorded actions instead of keys (`mug replay`).

        Everything else is `tick`'s: the policies act, a turn-based human without an entry in `actions`
        makes no move this tick (their turn time runs), and a human's recorded move plays if it is legal.
        An ONNX agent's entry in `actions` is the action its model chose (no model runs in CPython).
        Nothing is rendered.
        """
        core = self._require()
        for agent, act in actions.items():
            core.give_recorded(agent, act)

        def recorded(agent: AgentId, legal: Any) -> Any:
            return actions.get(agent)

        return self._play(recorded, recorded, t_ms, render=False)

    def _play(self, action: HumanInput, move: HumanInput, t_ms: float, render: bool) -> dict[str, Any]:
        """One frame: `action(agent, legal)` is a human's action in a simultaneous game, `move(agent, legal)`
        a human's move on their turn (None: no move); `legal` is the agent's action mask as a predicate."""
        core = self._require()
        if core.done:
            return self._result([], render=render)
        host = core.host
        if core.turns is not None:
            actor = host.acting()
            if actor is None:  # no live agent: the episode is over (a step limit of 0 cannot happen)
                return self._result([], render=render)
            played = core.step_turn(actor, lambda: move(actor, functools.partial(host.legal, actor)))
            if played is None:
                self.frame += 1  # a tick without a step: rows' frames show how long a move took
                return self._result([], render=False)
            return self._after_step(*played, t_ms, render)
        actions: dict[AgentId, Any] = {}
        for a in host.agents:
            if not core.live(a):
                continue
            if a in core.humans:
                actions[a] = action(a, functools.partial(host.legal, a))
            else:
                actions[a] = core.policy_action(a)
        return self._after_step(actions, core.step_joint(actions), t_ms, render)

    def _after_step(self, actions: dict[AgentId, Any], out: StepResult, t_ms: float, render: bool) -> dict[str, Any]:
        self.frame += 1
        return self._result([self._require().record(actions, out, self.frame, t_ms)], render=render)

    def turn_info(self) -> dict[str, Any] | None:
        """Turn-based: `{"agent": label, "yours": bool, "human": bool, "seconds_left": float|None}` for
        the acting agent (`yours`: a human of this page), or None (not turn-based, or the episode is over)."""
        if self.core is None or self.core.done:
            return None
        return self.core.turn_info()

    def _result(self, rows: list[dict[str, Any]], render: bool = True) -> dict[str, Any]:
        """The frame for the page; `render=False` (nothing changed) sends `{"kind": "none"}`: keep the picture."""
        core = self._require()
        payload, pixels = core.host.render() if render else ({"kind": "none"}, None)
        return {
            "render": payload,
            "pixels": pixels,
            "turn": self.turn_info(),
            "rows": rows,
            "episode": core.episode,
            "step": core.step,
            "frame": self.frame,
            "score": core.score,
            "episode_done": core.done,
            "scene_done": self.scene_done,
        }
