"""`LockstepSession`: the sans-IO lockstep core, driven by its caller (after GGRS's request-returning
session).

The caller feeds it bytes (`receive`), local inputs (`add_local_input`), outcome checksums
(`report_checksum`) and transport news (`peer_left`), and calls `poll(now_ms)`, which returns the requests
to fulfil, in order: send these bytes, step the environment with these actions, a stall, a desync, a peer
gone, ready. The session never reads a clock, sleeps or touches a socket, so the browser worker and the
CPython tests run exactly this code.

Protocol in brief:
1. SYNCHRONIZING: with `input_delay=None` each peer pings every other peer (SYNC_PING_SAMPLES round trips,
   or what it got by SYNC_SAMPLE_TIMEOUT_MS) and proposes `choose_input_delay(worst median rtt)`; with a
   fixed delay it proposes that at once. Proposals are repeated until acknowledged. Everyone uses the max of
   all proposals (the same set everywhere, so the same D): `Ready(D)`, then RUNNING.
2. RUNNING: when frame f is due (every `frame_ms`), the local input pending for each local slot is sealed for
   frame f + D and sent; frames below D use `default_action`. Step(f) is emitted only when the inputs of all
   slots (or, in turn-based mode, of the acting slots) for f are known, else `Stalled` once per stall.
   Every INPUTS message carries all input frames the recipient has not acknowledged (up to
   MAX_FRAMES_PER_MESSAGE) and piggy-backs our acknowledgements, so a lost message is repaired by the next
   one; with nothing new to send, unacknowledged data is re-sent every RESEND_INTERVAL_MS, and an owed
   acknowledgement goes alone after ACK_DELAY_MS as a pure acknowledgement (no data).
   Each peer's own delay then follows what its partners measure (pacing.py): a peer whose inputs arrive
   too close to the frames they are for (a slow env, a loaded machine) seals them further ahead, and gives
   the frame back when there is room again. Frames below the agreed D always use `default_action`.
3. Checksums reported by the caller travel in the same messages as 32-bit CRCs, each sent once plus a short
   redundancy and repaired when unacknowledged for a round trip (checks.py); frames are compared in order,
   a mismatch is a `Desync` at the first differing frame.
4. A peer silent for PEER_TIMEOUT_MS, or reported by `peer_left`, yields `PeerGone` and ENDS the session;
   so does stepping the last of `max_frames` frames. An ENDED session still answers pings and re-sends
   unacknowledged data so the other peers can finish; `close()` makes it inert.
   With `reconnect_grace_ms` > 0 such a peer is first `PeerAway`: the match pauses (it stalls at the frame
   that needs the peer's inputs) and goes on where it stood when the peer is heard again (`PeerBack`: its
   connection came back, and resends repair what was lost meanwhile); only after the grace period is it
   `PeerGone`.
5. Rejoin (rejoin.py): a session built with `rejoin=True` (its page was reloaded mid-match) sends REJOIN to
   every peer over the reliable channel; each answers with its HISTORY (every stepped frame's actions and
   checksums, the inputs it holds beyond) and treats the pair as fresh from its current frame. The rejoining
   session then emits `Ready`, `Step(replay=True)` for every frame the others played (the caller steps and
   reports checksums as usual; they are compared with each peer's), and runs live from there.

Turn-based (PettingZoo AEC) mode: construct with `turn_based=True` and call `set_acting_slots(frame, slots)`
before frame `frame` is stepped (e.g. after each Step, from the env's next agent). Only those slots' inputs
are awaited; every other slot gets `default_action` at that frame. A frame whose acting slots are not yet
declared is simply not stepped (no Stalled: the caller owes the answer, not the network). The env decides
the acting agent deterministically, so every peer declares the same slots.

This module is over the house's ~500 lines on purpose: it is the one state machine, and its parts (wire,
inputs, checks, peers, timing, lifecycle, config, and the rejoin's history, reassembly and resume plan in
rejoin.py) already live in their own modules; what remains is orchestration, which touches every part's
state at once, and the public API's docstrings.
"""

from __future__ import annotations

from typing import Any

from .checks import ChecksumExchange, RemoteChecksums
from .config import validate_settings, validate_slots
from .inputs import RECEIVE_AHEAD_FRAMES, LocalInputs, RemoteInputs
from .lifecycle import Lifecycle, SessionState
from .pacing import Pacing
from .peers import PeerLink
from .rejoin import MatchLog, Reassembly, plan_resume
from .requests import PeerAway, PeerBack, PeerGone, Ready, Request, Send, Stalled, Step
from .timing import (
    ACK_DELAY_MS,
    MAX_CATCH_UP_MS,
    MAX_INPUT_DELAY,
    MIN_INPUT_DELAY,
    PEER_TIMEOUT_MS,
    PING_INTERVAL_MS,
    PROPOSAL_RESEND_MS,
    REJOIN_ANSWER_INTERVAL_MS,
    RESEND_INTERVAL_MS,
    SYNC_PING_INTERVAL_MS,
    SYNC_PING_SAMPLES,
    SYNC_SAMPLE_TIMEOUT_MS,
    choose_input_delay,
)
from .wire import (
    MAX_FRAMES_PER_MESSAGE,
    RELIABLE,
    History,
    HistoryChunk,
    Inputs,
    Message,
    PeerMessageError,
    Ping,
    Pong,
    Proposal,
    Rejoin,
    decode,
    encode,
    encode_history,
    normalize_action,
    wire_checksum,
)

_S = SessionState


class LockstepSession:
    """Deterministic lockstep between peers, as a state machine that returns requests.

    Args:
        local_slots: the slots this peer provides inputs for (a human and, e.g., AI slots it hosts).
        slots: every slot of the match (ids 0..254); Step actions are in ascending slot order.
        peers: slot -> peer id, for every slot; identical on every peer. A peer may own several slots.
        input_delay: frames between taking a local input and the frame it applies to; None = automatic
            (measured during synchronization, agreed by all: the max of every peer's proposal).
        frame_ms: duration of a frame (1000 / fps).
        match_seed: the match's seed (reported in status; the caller derives episode seeds from it).
        max_frames: end after stepping this many frames (None: no limit).
        default_action: the action of frames below D, of a slot without input, of non-acting slots in
            turn-based mode; must be the same on every peer.
        turn_based: True for AEC games: only slots declared by `set_acting_slots` are awaited per frame.
        reconnect_grace_ms: how long a silent or lost peer may stay away (the match paused) before it is
            gone; 0: gone at once.
        rejoin: this peer's page was reloaded during the match: get the match so far from the peers first
            (REJOINING), then replay it and run on. `rejoin_nonce` tells this attempt's answers from stale ones.
        adaptive_delay: let this peer's own input delay follow what its partners measure
            (`mug.client.lockstep.pacing`); False: the agreed delay throughout.
        pace: keep pace with a slower partner by longer frames rather than stalls, and share the slack
            (`mug.client.lockstep.pacing`); False only to measure what it does.

    Raises:
        ValueError: inconsistent slots/peers or out-of-range settings (the message names the fix).
    """

    def __init__(
        self,
        local_slots: list[int],
        slots: list[int],
        peers: dict[int, str],
        input_delay: int | None = None,
        frame_ms: float = 1000.0 / 60.0,
        match_seed: int = 0,
        max_frames: int | None = None,
        default_action: Any = 0,
        turn_based: bool = False,
        reconnect_grace_ms: float = 0.0,
        rejoin: bool = False,
        rejoin_nonce: int = 0,
        adaptive_delay: bool = True,
        pace: bool = True,
    ) -> None:
        self._slots = validate_slots(local_slots, slots, peers)
        self._default = validate_settings(input_delay, frame_ms, max_frames, default_action)

        self.local_peer = peers[local_slots[0]]
        self._local_slots = tuple(sorted(local_slots))
        self._owner = dict(peers)
        remote_ids = sorted(set(peers.values()) - {self.local_peer})
        owned = {p: tuple(s for s in self._slots if peers[s] == p) for p in remote_ids}
        self._links = {p: PeerLink(p, owned[p]) for p in remote_ids}
        self._local = LocalInputs(self._local_slots, self._default)
        self._remote = {p: RemoteInputs(owned[p]) for p in remote_ids}
        self._checks = ChecksumExchange(remote_ids)
        self._life = Lifecycle(_S.REJOINING if rejoin else _S.SYNCHRONIZING)
        if reconnect_grace_ms < 0:
            raise ValueError(f"reconnect_grace_ms={reconnect_grace_ms!r}: use 0 or more")
        self._grace_ms = float(reconnect_grace_ms)
        self._log = MatchLog()
        self._rejoin_nonce = rejoin_nonce & 0xFFFFFFFF
        self._histories: dict[str, History] = {}
        self._assembling: dict[str, Reassembly] = {}
        self._rejoin_sent: dict[str, float] = {}
        self._pauses: list[dict[str, Any]] = []
        self._proposal: int | None = input_delay
        self.input_delay: int | None = None  # the agreed delay, once Ready
        self._frame_ms = float(frame_ms)
        self.match_seed = match_seed
        self.max_frames = max_frames
        self.turn_based = turn_based
        self._acting: dict[int, frozenset[int]] = {}

        self._out: list[Request] = []
        self._now: float | None = None
        self._sync_started = 0.0
        self._frame = 0  # the next frame to step
        self._next_due = 0.0
        self._running_since: float | None = None
        self._ended_at: float | None = None
        self._end_reason = ""
        self._stall_start: float | None = None
        self._stall_count = 0
        self._stall_ms = 0.0
        self._latency_ms_sum = 0.0
        self._latency_n = 0
        self._malformed = 0
        self._last_malformed = ""
        self._unknown = 0
        self._pongs: list[tuple[PeerLink, int]] = []
        self._sent_inputs: dict[str, int] = {p: 0 for p in remote_ids}  # next_seal at our last INPUTS
        self._pacing = Pacing(remote_ids, self._frame_ms, adaptive=adaptive_delay, pace=pace)
        self._received_at: float | None = None  # the caller's clock for the bytes being received

    # ------------------------------------------------------------------ public API

    @property
    def state(self) -> SessionState:
        return self._life.state

    @property
    def local_slots(self) -> tuple[int, ...]:
        return self._local_slots

    @property
    def frame(self) -> int:
        """The next frame to be stepped (an input added now is taken at this frame)."""
        return self._frame

    @property
    def next_seal(self) -> int:
        """The next frame this peer's inputs will be sealed for: a poll that raises it sealed the inputs
        added before it (an input added "now" goes into the first frame sealed after it, and only that one)."""
        return self._local.next_seal

    def sealed_ahead(self, slot: int) -> bool:
        """Whether a frame not stepped yet holds a sealed input other than the default for local `slot`."""
        i = self._local_slots.index(slot)
        default = self._local.default_action
        return any(
            row[i] != default for f, row in self._local.sealed.items() if f >= self._frame and f < self._local.next_seal
        )

    def receive(self, peer_id: str, data: bytes, now_ms: float | None = None) -> None:
        """Take bytes that arrived from `peer_id`. Malformed bytes are counted and dropped, never raised.

        Args:
            peer_id: the sending peer.
            data: the message bytes, as sent by the peer's `Send` request.
            now_ms: when they arrived (the caller's clock; None: the last poll's time). Inputs' arrival times
                measure the slack that phase balancing shares out (`mug.client.lockstep.phase`).
        """
        if self._life.state is _S.CLOSED:
            return
        link = self._links.get(peer_id)
        if link is None or link.gone:
            self._unknown += 1
            return
        # a rejoining session ignores play messages: they belong to the old page's protocol state
        stale = False
        try:
            message = decode(data)
            stale = self._life.state is _S.REJOINING and isinstance(message, Inputs | Proposal)
            if not stale:
                self._check(link, message)
        except PeerMessageError as exc:
            self._malformed += 1
            self._last_malformed = f"from {peer_id}: {exc}"
            return
        if self._now is not None:
            link.last_heard_ms = self._now
        if stale:
            return
        if link.away_since is not None and isinstance(message, Inputs):
            self._back(link, rejoined=False)  # play data again: its connection came back
        self._received_at = now_ms if now_ms is not None else self._now
        try:
            self._handle(link, message)
        except PeerMessageError as exc:
            self._malformed += 1
            self._last_malformed = f"from {peer_id}: {exc}"

    def add_local_input(self, slot: int, action: Any, frame: int | None = None) -> None:
        """Give the input of local `slot` taken at local frame `frame` (None: now, i.e. `self.frame`).

        It is scheduled for frame + D; if that frame is already sealed (a late input), it goes to the next
        frame sealed. The latest input for a frame wins; a slot without input gets `default_action`.
        Ignored once the session has ENDED.

        Args:
            slot: one of this peer's slots.
            action: None, bool, int, float, str or a (nested) list of them (numpy values are converted).
            frame: the local frame at which the input was taken, or None.

        Raises:
            ValueError: not a local slot, or an action that cannot be sent.
            IllegalTransition: the session is CLOSED.
        """
        self._life.require(_S.SYNCHRONIZING, _S.REJOINING, _S.RUNNING, _S.ENDED, action="add a local input")
        if slot not in self._local_slots:
            raise ValueError(f"slot {slot} is not local: this peer provides {list(self._local_slots)}")
        if frame is not None and (not isinstance(frame, int) or frame < 0):
            raise ValueError(f"frame={frame!r}: use a non-negative int or None")
        try:
            value = normalize_action(action)
        except PeerMessageError as exc:
            raise ValueError(f"action {action!r} for slot {slot} cannot be sent to peers: {exc}") from None
        if self._life.state is not _S.ENDED:
            self._local.add(slot, value, frame)

    def set_acting_slots(self, frame: int, slots: list[int]) -> None:
        """Turn-based mode: declare which slots act at `frame` (before it is stepped).

        Raises:
            ValueError: not in turn-based mode, a frame already stepped, or an unknown slot.
        """
        if not self.turn_based:
            raise ValueError("set_acting_slots needs LockstepSession(..., turn_based=True)")
        if frame < self._frame:
            raise ValueError(f"frame {frame} was already stepped (next frame is {self._frame})")
        unknown = sorted(set(slots) - set(self._slots))
        if unknown:
            raise ValueError(f"unknown slots {unknown}; the match has slots {list(self._slots)}")
        self._acting[frame] = frozenset(slots)

    def report_checksum(self, frame: int, checksum: str) -> None:
        """Report the outcome checksum of a stepped frame; every frame, in order.

        Peers compare `wire_checksum(checksum)`, its 32-bit CRC (see wire.py); `Desync` reports both sides
        in that form, as 8 hex characters.

        Raises:
            ValueError: out of order, a frame not stepped yet, or a checksum that is not 1..64 ASCII chars.
        """
        self._life.require(_S.RUNNING, _S.ENDED, action="report a checksum")
        if frame >= self._frame:
            raise ValueError(f"frame {frame} has not been stepped yet (next frame is {self._frame})")
        try:
            value = wire_checksum(checksum)
        except PeerMessageError as exc:
            raise ValueError(str(exc)) from None
        self._checks.report(frame, value)
        self._log.checksums.append(value)
        for p, link in self._links.items():
            if not link.gone:
                self._out.extend(self._checks.compare(p))

    def peer_left(self, peer_id: str) -> None:
        """The transport says `peer_id` is gone: PeerGone at the next poll, and the session ends (with a
        reconnect grace period: PeerAway, and PeerGone only if it stays away)."""
        if peer_id not in self._links:
            raise ValueError(f"unknown peer {peer_id!r}; remote peers are {sorted(self._links)}")
        link = self._links[peer_id]
        if self._life.state is _S.CLOSED or link.gone:
            return
        if self._grace_ms > 0 and self._life.state is not _S.ENDED:
            self._away(link, self._now or 0.0)
        else:
            self._peer_gone(link, self._now or 0.0, "left")

    def close(self) -> None:
        """Make the session inert (no more requests); from any state but CLOSED."""
        self._life.to(_S.CLOSED)
        self._out.clear()

    def poll(self, now_ms: float) -> list[Request]:
        """Advance to `now_ms` and return the requests to fulfil, in order.

        Args:
            now_ms: the caller's monotonic clock in milliseconds (never decreasing).

        Returns:
            Send / Ready / Step / Stalled / Desync / PeerGone requests. At most one Step per poll.
        """
        state = self._life.state
        if state is _S.CLOSED:
            return []
        if self._now is None:
            self._sync_started = now_ms
            for link in self._links.values():
                if link.last_heard_ms is None:
                    link.last_heard_ms = now_ms
        self._now = now_ms
        for link, seq in self._pongs:
            link.pong(seq, now_ms)  # measured at this poll: over- rather than under-estimates the rtt
        self._pongs.clear()
        if state in (_S.SYNCHRONIZING, _S.RUNNING, _S.REJOINING):
            for link in self._live():
                assert link.last_heard_ms is not None
                if link.away_since is not None:
                    if now_ms - link.away_since > self._grace_ms:
                        self._peer_gone(link, now_ms, "timeout")
                elif now_ms - link.last_heard_ms > PEER_TIMEOUT_MS:
                    if self._grace_ms > 0:
                        self._away(link, now_ms)
                    else:
                        self._peer_gone(link, now_ms, "timeout")
        if self._life.state is _S.REJOINING:
            self._poll_rejoin(now_ms)
        if self._life.state is _S.SYNCHRONIZING:
            self._poll_sync(now_ms)
        if self._life.state is _S.RUNNING:
            self._poll_run(now_ms)
        self._flush(now_ms)
        out, self._out = self._out, []
        return out

    def status(self) -> dict[str, Any]:
        """A JSON-able snapshot: state, frame, input_delay, stalls, desyncs, rtt per peer, counters."""
        now = self._now or 0.0
        stall_ms = self._stall_ms + (now - self._stall_start if self._stall_start is not None else 0.0)
        running_ms = 0.0
        if self._running_since is not None:
            running_ms = (self._ended_at if self._ended_at is not None else now) - self._running_since
        return {
            "state": self._life.state.value,
            "frame": self._frame,
            "input_delay": self.input_delay,
            "stalls": {"count": self._stall_count, "total_ms": stall_ms},
            "stalled_share": stall_ms / running_ms if running_ms > 0 else 0.0,
            "desyncs": list(self._checks.desync_frames),
            "rtt_ms": {p: link.rtt_ms for p, link in self._links.items()},
            "peers_gone": [p for p, link in self._links.items() if link.gone],
            "input_latency_ms": self._latency_ms_sum / self._latency_n if self._latency_n else None,
            "malformed": self._malformed,
            "last_malformed": self._last_malformed,
            "unknown_sender": self._unknown,
            "end_reason": self._end_reason,
            "match_seed": self.match_seed,
            "unacknowledged": self.unacknowledged(),
            "away": {p: now - link.away_since for p, link in self._links.items() if link.away_since is not None},
            "pauses": list(self._pauses),
            "pacing": self._pacing.status(),
        }

    def checksum_progress(self) -> dict[str, tuple[int, int]]:
        """Per live remote peer: (checksum frames received from them, our checksum frames they acknowledged).

        Both are "next frame needed" counters: a peer whose first number exceeds frame f has stepped f; one
        whose second number exceeds f has our checksums through f. A caller that stops stepping at a known
        last frame keeps polling until every live peer is past it, so nobody is left waiting for its data.
        """
        return {
            link.peer: (self._checks.remote[link.peer].frontier, self._checks.remote[link.peer].their_ack)
            for link in self._live()
        }

    def confirmed_frame(self) -> int:
        """Frames below this have this peer's inputs acknowledged by every remote peer not gone (all our
        frames, when every peer is gone)."""
        live = self._live()
        if not live:
            return self._local.next_seal
        return min(link.their_input_ack for link in live)

    def unacknowledged(self) -> int:
        """Frames of inputs and checksums some live peer has not acknowledged yet (0: safe to close)."""
        total = 0
        for link in self._live():
            if self.input_delay is not None:
                total += max(0, self._local.next_seal - link.their_input_ack)
            total += max(0, self._checks.next_local - self._checks.remote[link.peer].their_ack)
        return total

    # ------------------------------------------------------------------ receiving

    def _check(self, link: PeerLink, m: Message) -> None:
        """Semantic checks a well-formed message must also pass; raise PeerMessageError if not."""
        if isinstance(m, Proposal) and not MIN_INPUT_DELAY <= m.delay <= MAX_INPUT_DELAY:
            raise PeerMessageError(f"proposed input delay {m.delay} is outside {MIN_INPUT_DELAY}..{MAX_INPUT_DELAY}")
        if isinstance(m, Inputs):
            if m.slots != link.slots:
                raise PeerMessageError(f"inputs for slots {list(m.slots)}, but this peer owns {list(link.slots)}")
            # Before the delay is agreed our sealing has not started, yet a faster peer acks frame D.
            if m.input_ack > max(self._local.next_seal, MAX_INPUT_DELAY) or m.checksum_ack > self._checks.next_local:
                raise PeerMessageError("acknowledges frames that were never sent")

    def _handle(self, link: PeerLink, m: Message) -> None:
        if isinstance(m, Ping):
            self._send(link, Pong(m.seq))
            if self._life.state is _S.RUNNING:
                self._pacing.reported(link.peer, m.slack)
        elif isinstance(m, Pong):
            self._pongs.append((link, m.seq))
        elif isinstance(m, Rejoin):
            self._answer_rejoin(link, m.nonce)
        elif isinstance(m, HistoryChunk):
            self._take_history(link, m)
        elif isinstance(m, Proposal):
            if link.proposal is None:
                link.proposal = m.delay
            if m.have_yours:
                link.has_our_proposal = True
            elif self._proposal is not None:
                link.last_proposal_ms = float("-inf")  # answer at the next poll
        else:
            link.has_our_proposal = True  # it runs, so it had our proposal
            link.their_input_ack = max(link.their_input_ack, m.input_ack)
            checks = self._checks.remote[link.peer]
            checks.acknowledged(m.checksum_ack)
            remote = self._remote[link.peer]
            before = remote.frontier
            advanced = remote.receive(m.input_start, m.inputs, self._frame + RECEIVE_AHEAD_FRAMES)
            if advanced and before is not None and remote.frontier is not None and self._received_at is not None:
                self._pacing.arrived(link.peer, before, remote.frontier, self._received_at)
            advanced |= checks.receive(m.checksum_start, m.checksums, self._checks.next_local + RECEIVE_AHEAD_FRAMES)
            # Owe an ack for new data, and for a repeat of data we have (our last ack may have been lost).
            if (advanced or m.inputs or m.checksums) and link.owe_ack_since is None:
                link.owe_ack_since = self._now if self._now is not None else 0.0
            self._out.extend(self._checks.compare(link.peer))

    # ------------------------------------------------------------------ synchronizing

    def _poll_sync(self, now: float) -> None:
        live = self._live()
        if self._proposal is None:
            for link in live:
                if link.sync_samples < SYNC_PING_SAMPLES and now - link.last_ping_ms >= SYNC_PING_INTERVAL_MS:
                    self._send(link, Ping(link.next_ping(now)))
            enough = all(link.sync_samples >= SYNC_PING_SAMPLES for link in live)
            timed_out = now - self._sync_started >= SYNC_SAMPLE_TIMEOUT_MS
            if enough or (timed_out and all(link.sync_samples >= 1 for link in live)):
                worst = max((link.rtt_ms or 0.0 for link in live), default=0.0)
                self._proposal = choose_input_delay(worst, self._frame_ms)
        if self._proposal is not None and all(link.proposal is not None for link in live):
            agreed = max([self._proposal, *(link.proposal or 0 for link in live)])
            self._start(agreed, now)

    def _start(self, input_delay: int, now: float) -> None:
        self.input_delay = input_delay
        self._local.start(input_delay)
        self._pacing.start(input_delay)
        for p, remote in self._remote.items():
            remote.start(input_delay)
            self._links[p].their_input_ack = max(self._links[p].their_input_ack, input_delay)
            self._sent_inputs[p] = input_delay
        self._life.to(_S.RUNNING)
        self._out.append(Ready(input_delay))
        self._running_since = now
        self._next_due = now

    # ------------------------------------------------------------------ running

    def _poll_run(self, now: float) -> None:
        if now < self._next_due:
            return
        f = self._frame
        assert self.input_delay is not None and self._pacing.delay is not None
        last_seal = f + self._pacing.delay  # this peer's local delay (the agreed one, or what pacing made of it)
        if self.max_frames is not None:
            last_seal = min(last_seal, self.max_frames - 1)
        self._local.seal_through(last_seal, now)
        waiting = self._waiting_for(f)
        if waiting is None:
            return  # turn-based: the caller has not declared the acting slots yet
        if waiting:
            if self._stall_start is None:
                self._stall_start = now
                self._stall_count += 1
                self._out.append(Stalled(f, waiting))
            return
        actions = self._actions(f)
        self._out.append(Step(f, actions))
        self._log.steps.append(tuple(actions[s] for s in self._slots))
        self._pacing.stepped(f, self._next_due, self._remote_needed(f))
        self._local.delay = self._pacing.next_delay() or self.input_delay
        if self._stall_start is not None:
            self._stall_ms += now - self._stall_start
            self._stall_start = None
            # Re-phase after a network stall: this frame clock was ahead of the slowest input stream, so
            # catching up would only stall again on the next frame.
            self._next_due = now
        else:
            self._next_due = max(self._next_due, now - MAX_CATCH_UP_MS)
        self._next_due += self._frame_ms + self._pacing.pace_ms()
        seal_time = self._local.seal_times.get(f)
        if seal_time is not None:
            self._latency_ms_sum += now - seal_time
            self._latency_n += 1
        self._frame += 1
        self._acting.pop(f, None)
        self._forget()
        if self.max_frames is not None and self._frame >= self.max_frames:
            self._end(now, "max_frames")

    def _remote_needed(self, f: int) -> list[str]:
        """The remote peers whose inputs frame `f` needed."""
        assert self.input_delay is not None
        if f < self.input_delay:
            return []
        needed = self._acting.get(f, frozenset()) if self.turn_based else self._slots
        return sorted({self._owner[s] for s in needed if self._owner[s] != self.local_peer})

    def _waiting_for(self, f: int) -> list[int] | None:
        assert self.input_delay is not None
        needed: frozenset[int] | tuple[int, ...] = self._slots
        if self.turn_based:
            acting = self._acting.get(f)
            if acting is None:
                return None
            needed = acting
        if f < self.input_delay:
            return []
        return [s for s in self._slots if s in needed and not self._known(s, f)]

    def _known(self, slot: int, f: int) -> bool:
        owner = self._owner[slot]
        if owner == self.local_peer:
            return f in self._local.sealed
        return f in self._remote[owner].frames

    def _actions(self, f: int) -> dict[int, Any]:
        assert self.input_delay is not None
        acting = self._acting.get(f) if self.turn_based else None
        actions: dict[int, Any] = {}
        for s in self._slots:
            if f < self.input_delay or (acting is not None and s not in acting):
                actions[s] = self._default
                continue
            owner = self._owner[s]
            if owner == self.local_peer:
                actions[s] = self._local.sealed[f][self._local_slots.index(s)]
            else:
                actions[s] = self._remote[owner].frames[f][self._remote[owner].slots.index(s)]
        return actions

    def _forget(self) -> None:
        live = self._live()
        acked = min((link.their_input_ack for link in live), default=self._frame)
        self._local.forget_before(min(self._frame, acked))
        for remote in self._remote.values():
            remote.forget_before(self._frame)
        self._checks.forget([link.peer for link in live])

    # ------------------------------------------------------------------ peers gone, ending

    def _peer_gone(self, link: PeerLink, now: float, reason: str) -> None:
        link.gone = True
        frontier = self._remote[link.peer].frontier
        last_confirmed = frontier - 1 if frontier is not None else -1
        self._out.append(PeerGone(link.peer, last_confirmed))
        if self._life.state in (_S.SYNCHRONIZING, _S.REJOINING, _S.RUNNING):
            self._end(now, f"peer {link.peer} {reason}")

    def _end(self, now: float, reason: str) -> None:
        if self._stall_start is not None:
            self._stall_ms += now - self._stall_start
            self._stall_start = None
        self._ended_at = now
        self._end_reason = reason
        self._life.to(_S.ENDED)

    # ------------------------------------------------------------------ away, back, rejoin

    def _away(self, link: PeerLink, now: float) -> None:
        if link.away_since is None:
            link.away_since = now
            self._out.append(PeerAway(link.peer, self._frame, self._grace_ms))

    def _back(self, link: PeerLink, rejoined: bool) -> None:
        now = self._now or 0.0
        link.last_heard_ms = now
        if link.away_since is None and not rejoined:
            return
        away_ms = now - link.away_since if link.away_since is not None else 0.0
        link.away_since = None
        self._pacing.forget_reports()  # the pause re-phased the clocks
        self._pauses.append({"peer": link.peer, "frame": self._frame, "away_ms": away_ms, "rejoined": rejoined})
        self._out.append(PeerBack(link.peer, away_ms, rejoined))

    def _answer_rejoin(self, link: PeerLink, nonce: int) -> None:
        """A peer's page was reloaded: hand it the match so far and treat the pair as fresh from our frame."""
        f = self._frame
        now = self._now if self._now is not None else 0.0
        if self._life.state is not _S.RUNNING or nonce == link.rejoin_nonce or len(self._log.checksums) < f:
            return  # not started (it synchronizes with us anew), answered already, or asked again later
        if now - link.rejoin_answered_ms < REJOIN_ANSWER_INTERVAL_MS:
            return  # a history costs the whole match so far: at most one per interval (it asks again)
        link.rejoin_answered_ms = now
        assert self.input_delay is not None
        link.rejoin_nonce = nonce
        remote = self._remote[link.peer]
        pending: dict[int, tuple[Any, ...]] = {}
        for i, slot in enumerate(self._local_slots):
            pending[slot] = tuple(self._local.sealed[g][i] for g in range(f, self._local.next_seal))
        held = range(f, remote.frontier if remote.frontier is not None else f)
        for i, slot in enumerate(remote.slots):
            pending[slot] = tuple(remote.frames[g][i] for g in held)
        # inputs of frames we stepped without them (turn-based: not its turn) are never needed now
        if remote.frontier is not None and remote.frontier < f:
            remote.frontier = f
            remote.forget_before(f)
        for chunk in encode_history(self._log.history(f, self.input_delay, pending), nonce):
            self._send(link, chunk)
        # the pair starts over at our frame: it has every input and checksum below it from the history
        link.their_input_ack = f
        self._sent_inputs[link.peer] = f
        link.owe_ack_since = None
        link.last_sent_ms = float("-inf")
        checks = RemoteChecksums()
        checks.frontier = checks.their_ack = checks.compared = checks.next_send = f
        self._checks.remote[link.peer] = checks
        self._back(link, rejoined=True)

    def _poll_rejoin(self, now: float) -> None:
        live = self._live()
        for link in live:
            if link.peer not in self._histories and link.peer not in self._assembling:
                if now - self._rejoin_sent.get(link.peer, float("-inf")) >= PROPOSAL_RESEND_MS * 10:
                    self._rejoin_sent[link.peer] = now
                    self._send(link, Rejoin(self._rejoin_nonce))
        if not live or any(link.peer not in self._histories for link in live):
            return
        self._resume(now)

    def _take_history(self, link: PeerLink, chunk: HistoryChunk) -> None:
        if self._life.state is not _S.REJOINING or link.peer in self._histories:
            return
        if chunk.nonce != self._rejoin_nonce:
            return  # the answer to an earlier attempt of this page
        assembly = self._assembling.setdefault(link.peer, Reassembly(self._rejoin_nonce))
        try:
            complete = assembly.add(chunk)
            if complete:
                self._histories[link.peer] = assembly.history(self._slots)
        except PeerMessageError:
            del self._assembling[link.peer]  # ask again
            raise
        if complete:
            del self._assembling[link.peer]

    def _resume(self, now: float) -> None:
        """Every peer's history is in: set up inputs and checksums where each peer stands, then replay."""
        live = {link.peer: link for link in self._live()}
        owned = {p: link.slots for p, link in live.items()}
        plan = plan_resume({p: self._histories[p] for p in live}, self._slots, self._local_slots, owned)
        self._start(plan.input_delay, now)
        start = min([*plan.local, plan.frame]) if plan.local else plan.frame
        start = max(start, plan.input_delay)
        self._local.next_seal = start
        while self._local.next_seal in plan.local:
            self._local.sealed[self._local.next_seal] = plan.local[self._local.next_seal]
            self._local.next_seal += 1
        for p, link in live.items():
            self._remote[p].frontier = max(plan.frame, plan.input_delay)
            self._remote[p].frames = dict(plan.remote[p])
            self._remote[p]._advance()
            link.their_input_ack = max(plan.peer_frame[p], plan.input_delay)
            self._sent_inputs[p] = link.their_input_ack
            h = self._histories[p]
            checks = RemoteChecksums()
            checks.frames = dict(enumerate(h.checksums))
            checks.frontier = len(h.checksums)
            checks.their_ack = checks.next_send = h.frame
            self._checks.remote[p] = checks
        self._histories.clear()
        for f, row in enumerate(plan.steps):
            actions = dict(zip(self._slots, row, strict=True))
            self._out.append(Step(f, actions, replay=True))
            self._log.steps.append(row)
        self._frame = plan.frame

    # ------------------------------------------------------------------ sending

    def _live(self) -> list[PeerLink]:
        return [link for link in self._links.values() if not link.gone]

    def _send(self, link: PeerLink, message: Message) -> None:
        self._out.append(Send(link.peer, encode(message), reliable=isinstance(message, RELIABLE)))
        if isinstance(message, Inputs) and (message.inputs or message.checksums):
            link.last_sent_ms = self._now if self._now is not None else 0.0

    def _flush(self, now: float) -> None:
        """Per live peer: repeat our proposal, ping, and send inputs/checksums/acks when due."""
        if self._life.state is _S.REJOINING:
            for link in self._live():
                if now - link.last_ping_ms >= PING_INTERVAL_MS:
                    self._send(link, Ping(link.next_ping(now)))
            return
        for link in self._live():
            if (
                self._proposal is not None
                and not link.has_our_proposal
                and now - link.last_proposal_ms >= PROPOSAL_RESEND_MS
            ):
                link.last_proposal_ms = now
                self._send(link, Proposal(self._proposal, link.proposal is not None))
            if self._life.state is _S.SYNCHRONIZING:
                continue
            if now - link.last_ping_ms >= PING_INTERVAL_MS:
                self._send(link, Ping(link.next_ping(now), self._pacing.for_ping(link.peer)))
            self._flush_inputs(link, now)

    def _flush_inputs(self, link: PeerLink, now: float) -> None:
        p = link.peer
        start = link.their_input_ack
        checks = self._checks
        unacked = self._local.next_seal > start or checks.next_local > checks.remote[p].their_ack
        # New inputs go out at once (they are what peers wait for); new checksums and acks ride along with
        # them. Unacknowledged data is re-sent after RESEND_INTERVAL_MS without sending data; an ack owed
        # for ACK_DELAY_MS goes alone, without data (a pure ack is small and is not acknowledged in turn).
        new = self._local.next_seal > self._sent_inputs[p]
        resend = unacked and now - link.last_sent_ms >= RESEND_INTERVAL_MS
        ack_due = link.owe_ack_since is not None and now - link.owe_ack_since >= ACK_DELAY_MS
        if not (new or resend or ack_due):
            return
        limit = MAX_FRAMES_PER_MESSAGE if new or resend else 0
        remote = self._remote[p]
        assert remote.frontier is not None
        while True:
            rows = self._local.window(start, limit)
            check_start, checksums = checks.window(p, limit, now, link.rtt_ms) if limit else (0, ())
            message = Inputs(
                input_ack=remote.frontier,
                checksum_ack=checks.remote[p].frontier,
                input_start=start,
                slots=self._local_slots,
                inputs=rows,
                checksum_start=check_start,
                checksums=checksums,
            )
            try:
                self._send(link, message)
                break
            except PeerMessageError:
                if limit <= 1:
                    raise
                limit //= 2  # big actions: fewer frames per message; the rest follow
        checks.sent(p, check_start, len(checksums), now)
        link.owe_ack_since = None
        self._sent_inputs[p] = self._local.next_seal
