"""The multiplayer match runner the browser worker drives: one environment kept in lockstep with the peers.

The worker owns the clock, the keyboard and the bytes; the runner owns the env and a `LockstepSession`.
Per `poll(now_ms, held, pressed, t_ms)`: the local key state becomes this participant's input (its slot),
the session is polled, and its requests are fulfilled: `Send` bytes go back to the caller, each `Step`
has the episode core (`mug.client.episode`) step the env with every agent's action (humans by slot, AI
policies computed identically on every peer from generators seeded by the match seed) and record a row;
the runner reports the outcome checksum and renders.

AI players, by kind. A Python policy is computed on every peer, identically: the same bundle's code, its
generator seeded from the match seed, called at the same step with the same observation; nothing crosses
the wire, and it acts on the step's own observation. An ONNX policy is not: a model's floating-point
results are not promised to be bit-identical across machines, and its run is asynchronous JavaScript. So
one peer, the owner (slot 0's member, `MatchPlan.owns_onnx`), runs it: after each step the owner's
worker runs the model on the newest observation (`inference`), the action (argmax, or sampled with the
owner's seeded generator, mask applied) becomes the input of the agent's own lockstep slot
(`take_outputs`), and the lockstep delivers it to every peer for frame f + D, exactly as a key. Every peer
steps with the same inputs, so the records agree by construction, whatever the model computes where.
The AI then sees what a human sees: the observation D frames before its action applies. While the model
runs, the agent's previous action is entered (a model slower than a frame acts on a later observation);
the peers never wait for it. In a turn-based match the ONNX agent's turn waits for its move like a
human's: the owner runs the model on the observation of that turn (every `act_every`-th of its turns; in
between it holds its last move while that is legal), enters the move once in the agent's slot, and every
peer steps it when it arrives; no turn time limit applies to it.

Deterministic episode boundaries: an episode ends on the same frame everywhere (terminated, truncated or
`max_steps` follow from the same inputs), then `pause_frames` lockstep frames pass with no env step
("Episode k of n done"), then the next episode is reset with `episode_seed(match_seed, k)`. Nobody
negotiates. After the last episode the runner is `finished`: it stops stepping but keeps polling (acks,
resends) until every live peer has stepped the last frame and has our checksums up to it (or LINGER_MS
passed), then it is `done` and the page may close the connections.

Turn-based (AEC) games: only the acting agent's owner is awaited (`set_acting_slots`). The owner sends
its move, or None while it has none (no key, a key out of turn, a key the action mask forbids): a frame
whose acting human sent None steps nothing (no row) unless their turn time is up (`mug.client.turns`).
The same checks run again on the frame's inputs, identically on every peer, so an input that arrives
after the turn moved on (the input delay) does nothing either. In a simultaneous game a key the mask
forbids counts as no key (the default action), at the source and again when applied.

States: `mug.client.match_state` (synchronizing -> running <-> pause, running -> finished -> done; any of
the first three -> peer_gone), guarded: an illegal transition raises.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from mug.client.agents import from_label, label, ordered
from mug.client.checksum import checksum
from mug.client.controls import Controls
from mug.client.episode import EpisodeCore
from mug.client.host import EnvHost, StepResult
from mug.client.keys import KeyMapper
from mug.client.lockstep import Desync, LockstepSession, PeerGone, Ready, Send, Stalled, Step
from mug.client.lockstep.requests import PeerAway, PeerBack
from mug.client.lockstep.wire import normalize_action
from mug.client.match_plan import MatchPlan
from mug.client.match_state import PLAYING, MatchLifecycle, MatchState
from mug.client.pointer import Click
from mug.client.pyodide_compat import install_pygame_stub
from mug.client.spec import GameSpec

PAUSE_S = 2.0  # between episodes, in frames of the scene's fps
LINGER_MS = 3000.0  # at most this long after the last frame, waiting for peers to catch up


class MatchRunner:
    """Plays the episodes of one multiplayer game scene in lockstep.

    Args:
        scene: the game scene (a `GameSpec`, or its SceneSpec dict).
        start: the server's `match_start` (a `MatchPlan`, or the payload dict).
        pause_s: the pause between episodes, in seconds (turned into a whole number of frames).
    """

    def __init__(
        self,
        scene: GameSpec | Mapping[str, Any],
        start: MatchPlan | Mapping[str, Any],
        pause_s: float = PAUSE_S,
    ) -> None:
        self.plan = start if isinstance(start, MatchPlan) else MatchPlan.from_start(start)
        self.spec = spec = scene if isinstance(scene, GameSpec) else GameSpec.parse(scene)
        self.fps = spec.fps
        self.num_episodes = spec.num_episodes
        self.pause_frames = max(1, round(pause_s * self.fps))
        agents = ordered([*self.plan.humans, *self.plan.policies, *self.plan.onnx])
        if spec.pygame_stub:
            install_pygame_stub()  # before the env's module is imported
        self.host = EnvHost(spec.env, dict(spec.env_kwargs), agents, joint=True)
        self.turn_based = self.host.kind == "aec"
        self.default_action = spec.default_action
        self.keys = KeyMapper(spec.key_bindings, self.default_action, spec.input_mode)
        self.controls = Controls(self.keys, spec.pointer)  # keys and clicks: mug.client.controls
        mine = self.plan.local_agent
        self.core = EpisodeCore(
            self.host,
            spec,
            self.plan.seed,
            ordered(self.plan.humans),
            self.plan.policies,
            scored=[mine],
            onnx=self.plan.onnx if self.plan.owns_onnx else None,  # only the owner runs the models
            act_every=self.plan.act_every,
            entered=list(self.plan.onnx),  # their moves are the inputs of their slots, on every peer
        )
        # the owner's ONNX agents: the action each enters now (turn-based: the move it enters once), and which
        # decision was last asked of the model
        self._onnx_action: dict[Any, Any] = {}
        self._onnx_move: dict[Any, Any] = {}
        self._onnx_entered: set[Any] = set()
        self._onnx_asked: dict[Any, tuple[int, int]] = {}
        self._inflight: tuple[int, list[Any]] | None = None  # (episode, agents) of the run the worker is doing
        self.session = LockstepSession(
            self.plan.local_slots,
            self.plan.slots,
            self.plan.peers,
            input_delay=self.plan.input_delay,
            frame_ms=1000.0 / self.fps,
            match_seed=self.plan.seed,
            # turn-based: a frame without an input is no move; simultaneous: the scene's default action
            default_action=None if self.turn_based else self.default_action,
            turn_based=self.turn_based,
            reconnect_grace_ms=spec.reconnect_grace_s * 1000.0,
            rejoin=self.plan.rejoin,
            rejoin_nonce=secrets.randbits(32),
            # a delay the scene fixes is an experimental condition: it stays as set
            adaptive_delay=self.plan.input_delay is None,
        )
        self._life = MatchLifecycle()
        self._held: list[dict[str, Any]] = []  # rows not yet safe to record (see `_release`)
        self._queue: list[Any] = []  # the session's requests from `exchange`, for `advance`
        self.replayed = 0
        self.last_frame = -1  # the last frame stepped (env or pause)
        self.final_frame: int | None = None
        self.stalls = 0
        self.desyncs: list[int] = []
        self.gone: dict[str, Any] | None = None
        self._pause_left = 0
        self._finished_at: float | None = None
        self._pressed: list[str] = []
        self._clicks: list[Click] = []  # like _pressed: kept until the next frame is sealed
        self._last_check = ""
        self._offline = False
        self._reset(0)

    @property
    def state(self) -> MatchState:
        return self._life.state

    @property
    def episode(self) -> int:
        return self.core.episode

    @property
    def step(self) -> int:
        return self.core.step

    @property
    def score(self) -> float:
        return self.core.score

    @property
    def episode_seed(self) -> int:
        return self.core.episode_seed

    # -- episodes
    def _reset(self, episode: int, declare: bool = True) -> None:
        self.core.reset(episode)
        self._onnx_action = {a: self.default_action for a in self.core.onnx}
        self._onnx_move = {}
        self._onnx_entered = set()
        self._last_check = checksum(self.core.obs)
        if declare:
            self._declare_acting()

    def _release(self) -> list[dict[str, Any]]:
        """The held rows that are now safe to record.

        A row is recorded once every peer holds this participant's inputs of its frame (acknowledged), or
        once no peer can need them any more (the match finished or ended). Should this page be reloaded,
        its rejoin then replays exactly those frames with exactly those inputs, so a row, once recorded,
        is never contradicted by a later one of the same step.
        """
        if not self._held:
            return []
        if self.state in PLAYING:
            confirmed = self.session.confirmed_frame()
            n = 0
            while n < len(self._held) and self._held[n]["frame"] < confirmed:
                n += 1
        else:
            n = len(self._held)
        out, self._held = self._held[:n], self._held[n:]
        return out

    def _declare_acting(self) -> None:
        """Turn-based: tell the session whose input the next frame waits for (nobody's for an AI or a pause)."""
        if not self.turn_based or self.state not in PLAYING:
            return
        slots: list[int] = []
        env = self.host.env
        if self.state is not MatchState.PAUSE and env.agents:
            agent = env.agent_selection
            slot = self.plan.humans.get(agent, self.plan.onnx_slots.get(agent))
            if slot is not None and not (env.terminations[agent] or env.truncations[agent]):
                slots = [slot]
        self.session.set_acting_slots(self.session.frame, slots)

    # -- the caller's entry points
    def receive(self, peer: str, data: bytes, now_ms: float | None = None) -> None:
        """Bytes from `peer`'s data channel, arrived at `now_ms` (the page's clock; None: the last poll)."""
        self.session.receive(peer, data, now_ms)

    def peer_left(self, peer: str) -> None:
        """The transport lost `peer` (its connection closed or failed)."""
        self.session.peer_left(peer)

    def poll(
        self, now_ms: float, held: list[str], pressed: list[str], t_ms: float, clicks: Sequence[Click] | None = None
    ) -> dict[str, Any]:
        """Advance the session to `now_ms` and fulfil its requests: `exchange` then `advance`.

        Args:
            now_ms: the worker's monotonic clock (ms).
            held: keys held now, in press order (empty when the tab is hidden).
            pressed: keys pressed since the previous poll (kept until the next frame is sealed).
            t_ms: the browser's wall clock (ms since the epoch), stored on rows.
            clicks: clicks on the canvas since the previous poll (`mug.client.pointer`), kept like `pressed`.

        Returns:
            `{"sends": [(peer, bytes, reliable)], "frame": FrameInfo | None, "events": [event]}`. `frame` is
            the latest stepped frame (see `frame_info`); events are dicts with `kind` "ready" {input_delay},
            "stalled" {frame, waiting_for}, "desync" {frame, peer}, "episode_done" {episode, score, steps},
            "finished" {frame}, "done" {}, "peer_gone" {peer, last_confirmed_frame}.
        """
        sends = self.exchange(now_ms, held, pressed, clicks)
        out = self.advance(now_ms, t_ms)
        return {"sends": sends, "frame": out["frame"], "events": out["events"]}

    def exchange(
        self, now_ms: float, held: list[str], pressed: list[str], clicks: Sequence[Click] | None = None
    ) -> list[tuple[str, bytes, bool]]:
        """The cheap half of a poll: take the local input, poll the session, return the bytes to send now.

        The session's other requests (steps, events) wait for `advance`, so the caller can send our
        inputs before stepping the environment: with an environment that takes 10 ms to step and render,
        that is 10 ms less input latency for the peers, every frame."""
        self._pressed.extend(pressed)
        self._clicks.extend(clicks or ())
        sealed_before = self.session.next_seal
        if self.state in PLAYING:
            self.session.add_local_input(self.plan.slot, self._local_input(held))
            for agent, slot in self.plan.onnx_slots.items() if self.core.onnx else ():
                self.session.add_local_input(slot, self._onnx_input(agent))
        if self.state is MatchState.DONE:
            return []
        sends: list[tuple[str, bytes, bool]] = []
        for req in self.session.poll(now_ms):
            if isinstance(req, Send):
                sends.append((req.peer, req.data, req.reliable))
            else:
                self._queue.append(req)
        if self._onnx_entered and self.session.next_seal > sealed_before:
            for agent in self._onnx_entered:  # this poll sealed the move into a frame: it is entered once
                self._onnx_move.pop(agent, None)
            self._onnx_entered.clear()
        return sends

    def advance(self, now_ms: float, t_ms: float) -> dict[str, Any]:
        """The rest of a poll: step the environment for the requests `exchange` queued.

        Returns:
            `{"frame": FrameInfo | None, "events": [event]}` (see `poll`)."""
        events: list[dict[str, Any]] = []
        frame: dict[str, Any] | None = None
        queue, self._queue = self._queue, []
        replayed = 0
        for req in queue:
            if isinstance(req, Step) and req.replay:
                self._pressed.clear()
                self._clicks.clear()
                if self.state in PLAYING:
                    self._step(req, t_ms, [], now_ms)
                    replayed += 1
            elif isinstance(req, Step):
                if replayed:
                    self._declare_acting()
                self._pressed.clear()
                self._clicks.clear()
                if self.state in PLAYING:
                    frame = self._step(req, t_ms, events, now_ms)
            elif isinstance(req, Ready):
                self._life.to(MatchState.RUNNING)
                events.append({"kind": "ready", "input_delay": req.input_delay, "rejoin": self.plan.rejoin})
            elif isinstance(req, Stalled):
                self.stalls += 1
                events.append({"kind": "stalled", "frame": req.frame, "waiting_for": list(req.waiting_for)})
            elif isinstance(req, Desync):
                self.desyncs.append(req.frame)
                events.append({"kind": "desync", "frame": req.frame, "peer": req.peer})
            elif isinstance(req, PeerAway) and self.state in PLAYING:  # (after the last frame: peers close)
                events.append({"kind": "peer_away", "peer": req.peer, "frame": req.frame, "grace_ms": req.grace_ms})
            elif isinstance(req, PeerBack) and self.state in PLAYING:
                events.append({"kind": "peer_back", "peer": req.peer, "away_ms": req.away_ms, "rejoined": req.rejoined})
            elif isinstance(req, PeerGone) and self.state in PLAYING:
                self._life.to(MatchState.PEER_GONE)
                self.gone = {"peer": req.peer, "last_confirmed_frame": req.last_confirmed_frame}
                events.append({"kind": "peer_gone", **self.gone})
        if replayed:
            # the frames the others played, stepped here at once: show where the match stands now
            self._declare_acting()
            self.replayed += replayed
            events.append({"kind": "replayed", "frames": replayed, "frame": self.last_frame})
            if frame is None:
                frame = self.frame_info([], render=True)
            if self.state is MatchState.FINISHED:
                events.append({"kind": "finished", "frame": self.last_frame})
        released = self._release()
        if released:
            frame = frame if frame is not None else self.frame_info([], render=False)
            frame["rows"] = released
        if self.state is MatchState.FINISHED and self._caught_up(now_ms):
            self._life.to(MatchState.DONE)
            self.session.close()
            events.append({"kind": "done"})
        return {"frame": frame, "events": events}

    def _local_input(self, held: list[str]) -> Any:
        """This participant's input now: turn-based, their legal move on their own turn, else None;
        simultaneous, the key's action (a key the mask forbids counts as none: the default action). A click
        counts like a pressed key (`mug.client.controls`)."""
        mine = self.plan.local_agent
        if not self.turn_based:
            if not self.core.live(mine):
                return self.default_action
            legal = functools.partial(self.host.legal, mine)
            return self.controls.action(held, self._pressed, self._clicks, legal, self.host.action_space(mine))
        if self.state is not MatchState.RUNNING or self.host.acting() != mine or self.host.ended(mine):
            return None
        legal = functools.partial(self.host.legal, mine)
        found, move = self.controls.move(held, self._pressed, self._clicks, legal, self.host.action_space(mine))
        return move if found else None

    # -- ONNX policies, on the owner peer
    def _onnx_input(self, agent: Any) -> Any:
        if not self.turn_based:
            return self._onnx_action[agent] if self.core.live(agent) else self.default_action
        if self.state is not MatchState.RUNNING or self.host.acting() != agent or self.host.ended(agent):
            return None
        move = self._onnx_move.get(agent)  # None while the model runs
        if move is not None:
            self._onnx_entered.add(agent)  # entered again at each poll until a poll seals it
        return move

    def inference(self) -> list[dict[str, Any]]:
        """The model runs the owner's worker should do now: `[{"agent", "model", "sha256", "feeds"}]` for
        each live ONNX agent whose next decision (every `act_every` steps, from the newest observation) has
        not been asked for; empty on other peers, between episodes, or while a run is in flight.

        The worker runs them asynchronously and hands the outputs to `take_outputs`; the action is then
        entered as that agent's input, like a key, and the lockstep gives it to every peer for the frame
        D frames on. Until then the agent's last action is entered again: a model slower than a frame
        makes the AI act on a later observation, never makes the peers disagree. Turn-based: a run is asked
        for on the agent's turn, and the match waits for its move.
        """
        core = self.core
        if not core.onnx or self.state is not MatchState.RUNNING or self._inflight is not None:
            return []
        due: list[Any] = []
        if self.turn_based:
            agent = self.host.acting()
            turn = (core.episode, core.step)
            if agent not in core.onnx or self.host.ended(agent) or self._onnx_asked.get(agent) == turn:
                return []
            if self.session.sealed_ahead(self.plan.onnx_slots[agent]):
                return []  # its move is sealed already, on its way (a page reloaded after sealing it)
            self._onnx_asked[agent] = turn
            if not core.decides(agent):  # act_every: it holds its last move (legal, or it decides anew)
                self._onnx_move[agent] = normalize_action(core.policy_action(agent))
                return []
            due.append(agent)
        for agent in core.onnx if not self.turn_based else ():
            every = max(1, self.plan.act_every.get(agent, 1))
            decision = (core.episode, core.step // every)
            if core.live(agent) and self._onnx_asked.get(agent) != decision:
                self._onnx_asked[agent] = decision
                due.append(agent)
        if not due:
            return []
        self._inflight = (core.episode, due)
        return [
            {"agent": label(a), **core.onnx_specs[a].page(), "feeds": core.onnx[a].feeds(core.obs.get(a))} for a in due
        ]

    def take_outputs(self, outputs: Mapping[str, Any]) -> None:
        """The outputs of the run `inference` asked for, by agent label: each agent's new action (entered
        from the next poll on). Outputs of an episode that has ended meanwhile are dropped."""
        inflight, self._inflight = self._inflight, None
        if inflight is None:
            raise RuntimeError("take_outputs without a run asked for by inference()")
        episode, _ = inflight
        if episode != self.core.episode or self.state is not MatchState.RUNNING:
            return
        for name, out in outputs.items():
            agent = from_label(name)
            if self.turn_based and agent in self.core.onnx and self.host.acting() == agent:
                self.core.give_outputs(agent, out)
                self._onnx_move[agent] = normalize_action(self.core.policy_action(agent))
            elif agent in self.core.onnx and self.core.live(agent):
                self._onnx_action[agent] = normalize_action(self.core.onnx_decision(agent, out))

    def _caught_up(self, now_ms: float) -> bool:
        assert self.final_frame is not None and self._finished_at is not None
        if now_ms - self._finished_at >= LINGER_MS:
            return True
        progress = self.session.checksum_progress().values()
        return all(got > self.final_frame and acked > self.final_frame for got, acked in progress)

    # -- one lockstep frame
    def _report(self, frame: int) -> None:
        if not self._offline:  # a replay (`replay_frame`) has no session to report to
            self.session.report_checksum(frame, self._last_check)

    def _step(self, req: Step, t_ms: float, events: list[dict[str, Any]], now_ms: float) -> dict[str, Any]:
        self.last_frame = req.frame
        core = self.core
        if self.state is MatchState.PAUSE:
            self._pause_left -= 1
            resumed = self._pause_left <= 0
            if resumed:
                self._life.to(MatchState.RUNNING)
                self._reset(core.episode + 1, declare=not req.replay)
            elif not req.replay:
                self._declare_acting()
            self._report(req.frame)
            return self.frame_info([], render=resumed)
        actions = {self.plan.agent_of_slot[s]: a for s, a in req.actions.items()}
        out: StepResult
        if core.turns is not None:
            actor = self.host.env.agent_selection
            played = core.step_turn(actor, lambda: actions.get(actor))
            if played is None:  # the acting human has no move yet: nothing happens this frame
                self._report(req.frame)
                if not req.replay:
                    self._declare_acting()
                return self.frame_info([], render=False)
            actions, out = played
        else:
            for agent in [*self.plan.humans, *self.plan.onnx]:
                if core.live(agent) and not self.host.legal(agent, actions[agent]):
                    actions[agent] = self.default_action  # a masked input is no input, on every peer
            for agent in core.controllers:
                if core.live(agent):
                    actions[agent] = core.policy_action(agent)
            out = core.step_joint(actions)
        row = core.record(actions, out, req.frame, t_ms)
        row["match_id"] = self.plan.match_id
        self._held.append(row)
        self._last_check = row["obs_checksum"]
        self._report(req.frame)
        if core.done:
            events.append({"kind": "episode_done", "episode": core.episode, "score": core.score, "steps": core.step})
            if core.episode + 1 >= self.num_episodes:
                self._life.to(MatchState.FINISHED)
                self.final_frame = req.frame
                self._finished_at = now_ms
                events.append({"kind": "finished", "frame": req.frame})
            else:
                self._life.to(MatchState.PAUSE)
                self._pause_left = self.pause_frames
        if not req.replay:
            self._declare_acting()
        return self.frame_info([], render=not req.replay)

    def replay_frame(self, frame: int, inputs: Mapping[int, Any]) -> list[dict[str, Any]]:
        """Step lockstep frame `frame` with these inputs by slot, as a rejoining page replays a frame from
        its peers' history (no session, no rendering), and return the rows it recorded (`mug replay`).

        Frames must come in order from 0, as the session emits them; after the last episode nothing is
        stepped any more.
        """
        if self.state is MatchState.SYNCHRONIZING:
            self._offline = True
            self._life.to(MatchState.RUNNING)
        if self.state in PLAYING:
            self._step(Step(frame, dict(inputs), replay=True), 0.0, [], 0.0)
        rows, self._held = self._held, []
        return rows

    # -- what the page sees
    def frame_info(self, rows: list[dict[str, Any]], render: bool = True) -> dict[str, Any]:
        """`{"render", "pixels", "turn", "rows", "episode", "step", "frame", "score", "state", "pause_left"}`;
        `render` is `{"kind": "none"}` (keep the picture) when nothing changed; `turn` see `turn_info`."""
        payload, pixels = self.host.render() if render else ({"kind": "none"}, None)
        return {
            "render": payload,
            "pixels": pixels,
            "turn": self.turn_info(),
            "rows": rows,
            "episode": self.episode,
            "step": self.step,
            "frame": self.last_frame,
            "score": self.score,
            "state": self.state.value,
            "pause_left": self._pause_left if self.state is MatchState.PAUSE else 0,
            "episode_done": self.state in (MatchState.PAUSE, MatchState.FINISHED),
            "scene_done": self.state is MatchState.FINISHED,
        }

    def turn_info(self) -> dict[str, Any] | None:
        """Turn-based, while running: `{"agent": label, "yours": bool, "human": bool, "seconds_left":
        float|None}` for the acting agent (`yours`: this participant's agent), else None."""
        if self.state is not MatchState.RUNNING:
            return None
        return self.core.turn_info(self.plan.local_agent)

    def status(self) -> dict[str, Any]:
        """The match part of the page's status: state, input delay, stalls, desyncs, rtt by peer."""
        s = self.session.status()
        return {
            "away_ms": s["away"],
            "replayed": self.replayed,
            "state": self.state.value,
            "frame": self.last_frame,
            "input_delay": s["input_delay"],
            "stalls": self.stalls,
            "stall_ms": round(float(s["stalls"]["total_ms"]), 1),
            "desyncs": list(self.desyncs),
            "rtt_ms": s["rtt_ms"],
            "episode": self.episode,
            "pacing": s["pacing"],
        }

    def close(self) -> None:
        self.host.close()
