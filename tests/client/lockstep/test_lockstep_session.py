"""LockstepSession with exact requests: delay, stalls, lifecycle, validation, AEC, peers gone."""

from __future__ import annotations

from typing import Any

import pytest

from mug.client.lockstep import (
    IllegalTransition,
    LockstepSession,
    PeerGone,
    Ready,
    Request,
    Send,
    SessionState,
    Stalled,
    Step,
)
from mug.client.lockstep.lifecycle import Lifecycle
from mug.client.lockstep.timing import PEER_TIMEOUT_MS
from mug.client.lockstep.wire import WIRE_VERSION

OWNERS = {0: "a", 1: "b"}


def pair(**kwargs: Any) -> dict[str, LockstepSession]:
    return {
        "a": LockstepSession(local_slots=[0], slots=[0, 1], peers=OWNERS, frame_ms=10.0, **kwargs),
        "b": LockstepSession(local_slots=[1], slots=[0, 1], peers=OWNERS, frame_ms=10.0, **kwargs),
    }


class Wire:
    """Instant delivery (at the next tick), optionally blocking one direction."""

    def __init__(self, sessions: dict[str, LockstepSession]) -> None:
        self.sessions = sessions
        self.in_flight: list[tuple[str, str, bytes]] = []
        self.blocked: set[str] = set()  # senders whose messages are lost
        self.log: dict[str, list[Request]] = {p: [] for p in sessions}

    def tick(self, now: float) -> None:
        flights, self.in_flight = self.in_flight, []
        for src, dst, data in flights:
            self.sessions[dst].receive(src, data)
        for name, session in self.sessions.items():
            for r in session.poll(now):
                if isinstance(r, Send):
                    if name not in self.blocked:
                        self.in_flight.append((name, r.peer, r.data))
                else:
                    self.log[name].append(r)
                    if isinstance(r, Step):
                        session.report_checksum(r.frame, "00")

    def steps(self, name: str) -> list[Step]:
        return [r for r in self.log[name] if isinstance(r, Step)]


def test_single_peer_runs_alone_with_the_input_delay() -> None:
    s = LockstepSession(local_slots=[0, 1], slots=[0, 1], peers={0: "me", 1: "me"}, input_delay=2, frame_ms=10)
    s.add_local_input(0, 7)
    first = s.poll(0.0)
    assert first == [Ready(2), Step(0, {0: 0, 1: 0})]
    s.add_local_input(1, [1, 2])
    assert s.poll(5.0) == []  # not due yet
    assert s.poll(10.0) == [Step(1, {0: 0, 1: 0})]  # frames 0..D-1 use the default action
    assert s.poll(20.0) == [Step(2, {0: 7, 1: 0})]  # taken at frame 0, applied at 0 + D
    assert s.poll(30.0) == [Step(3, {0: 0, 1: [1, 2]})]  # taken at frame 1, applied at 1 + D


def test_explicit_input_frame_and_late_inputs() -> None:
    s = LockstepSession(local_slots=[0], slots=[0], peers={0: "me"}, input_delay=3, frame_ms=10, default_action=9)
    s.add_local_input(0, 5, frame=2)  # for frame 5
    steps = [r for t in range(0, 80, 10) for r in s.poll(float(t)) if isinstance(r, Step)]
    assert [st.actions[0] for st in steps] == [9, 9, 9, 9, 9, 5, 9, 9]
    s.add_local_input(0, 6, frame=0)  # late: frame 3 is long sealed, goes to the next frame sealed
    nxt = [r for r in s.poll(80.0) if isinstance(r, Step)]
    assert nxt == [Step(8, {0: 9})]
    assert [r for r in s.poll(90.0) if isinstance(r, Step)] == [Step(9, {0: 9})]
    assert [r for r in s.poll(100.0) if isinstance(r, Step)] == [Step(10, {0: 9})]
    assert [r for r in s.poll(110.0) if isinstance(r, Step)] == [Step(11, {0: 6})]


def test_two_peers_fixed_delay_exact_schedule() -> None:
    sessions = pair(input_delay=2)
    wire = Wire(sessions)
    sessions["a"].add_local_input(0, 4)
    sessions["b"].add_local_input(1, 8)
    for t in range(0, 100):
        wire.tick(float(t))
    assert wire.log["a"][0] == Ready(2) and wire.log["b"][0] == Ready(2)
    assert [s for s in wire.steps("a")] == [s for s in wire.steps("b")]
    assert wire.steps("a")[2] == Step(2, {0: 4, 1: 8})
    assert [st.frame for st in wire.steps("a")] == list(range(len(wire.steps("a"))))


def test_stall_is_reported_once_with_the_missing_slots_and_ends_when_inputs_arrive() -> None:
    sessions = pair(input_delay=1)
    wire = Wire(sessions)
    for t in range(0, 30):
        wire.tick(float(t))
    wire.blocked.add("b")
    for t in range(30, 200):
        wire.tick(float(t))
    stalls = [r for r in wire.log["a"] if isinstance(r, Stalled)]
    assert len(stalls) == 1 and stalls[0].waiting_for == [1]
    frozen = len(wire.steps("a"))
    assert wire.steps("a")[-1].frame == stalls[0].frame - 1
    wire.blocked.clear()
    for t in range(200, 400):
        wire.tick(float(t))
    assert len(wire.steps("a")) > frozen
    status = sessions["a"].status()
    assert status["stalls"]["count"] == 1 and status["stalls"]["total_ms"] > 100
    assert wire.steps("a")[: len(wire.steps("b"))] == wire.steps("b")[: len(wire.steps("a"))]


def test_automatic_delay_agreement_needs_both_peers() -> None:
    sessions = pair()
    wire = Wire(sessions)
    for t in range(0, 400):
        wire.tick(float(t))
    ready = [[r for r in wire.log[p] if isinstance(r, Ready)] for p in "ab"]
    assert ready[0] == ready[1] and len(ready[0]) == 1
    assert sessions["a"].state is SessionState.RUNNING


def test_mismatched_fixed_delays_resolve_to_the_max() -> None:
    a = LockstepSession(local_slots=[0], slots=[0, 1], peers=OWNERS, input_delay=2, frame_ms=10)
    b = LockstepSession(local_slots=[1], slots=[0, 1], peers=OWNERS, input_delay=5, frame_ms=10)
    wire = Wire({"a": a, "b": b})
    for t in range(0, 200):
        wire.tick(float(t))
    assert a.input_delay == b.input_delay == 5
    assert wire.steps("a")[: len(wire.steps("b"))] == wire.steps("b")[: len(wire.steps("a"))]


def test_peer_left_ends_the_session_at_once() -> None:
    sessions = pair(input_delay=2)
    wire = Wire(sessions)
    for t in range(0, 100):
        wire.tick(float(t))
    sessions["a"].peer_left("b")
    gone = [r for r in sessions["a"].poll(100.0) if isinstance(r, PeerGone)]
    assert len(gone) == 1 and gone[0].peer == "b"
    assert gone[0].last_confirmed_frame >= wire.steps("a")[-1].frame
    assert sessions["a"].state is SessionState.ENDED
    assert not [r for r in sessions["a"].poll(500.0) if isinstance(r, Step | PeerGone)]
    sessions["a"].peer_left("b")  # twice: still one PeerGone
    assert not [r for r in sessions["a"].poll(600.0) if isinstance(r, PeerGone)]


def test_silence_during_synchronization_times_out() -> None:
    a = pair()["a"]
    requests = [r for t in range(0, int(PEER_TIMEOUT_MS) + 50, 10) for r in a.poll(float(t))]
    assert [r for r in requests if isinstance(r, PeerGone)] == [PeerGone("b", -1)]
    assert a.state is SessionState.ENDED


def test_turn_based_awaits_only_the_acting_slot() -> None:
    sessions = pair(input_delay=1, turn_based=True)
    wire = Wire(sessions)
    for t in range(0, 20):  # both ready, inputs flowing
        if t == 0:
            for s in sessions.values():
                s.set_acting_slots(0, [0])
        wire.tick(float(t))
        for s in sessions.values():
            s.set_acting_slots(s.frame, [0])
    wire.blocked.add("b")  # b's inputs stop arriving at a
    a = sessions["a"]
    for t in range(20, 120):
        wire.tick(float(t))
        a.set_acting_slots(a.frame, [0])  # only a's slot acts: a never waits for b
    assert not [r for r in wire.log["a"] if isinstance(r, Stalled)]
    assert all(st.actions[1] == 0 for st in wire.steps("a"))  # non-acting slot: the default action
    a.set_acting_slots(a.frame, [1])
    for t in range(120, 200):
        wire.tick(float(t))
    stalls = [r for r in wire.log["a"] if isinstance(r, Stalled)]
    assert len(stalls) == 1 and stalls[0].waiting_for == [1]


def test_turn_based_frame_waits_for_the_caller_to_declare_acting_slots() -> None:
    s = LockstepSession(local_slots=[0], slots=[0], peers={0: "me"}, input_delay=1, frame_ms=10, turn_based=True)
    assert [r for r in s.poll(0.0) if isinstance(r, Step)] == []
    s.set_acting_slots(0, [0])
    assert [r for r in s.poll(1.0) if isinstance(r, Step)] == [Step(0, {0: 0})]
    with pytest.raises(ValueError, match="already stepped"):
        s.set_acting_slots(0, [0])
    with pytest.raises(ValueError, match="turn_based"):
        LockstepSession(local_slots=[0], slots=[0], peers={0: "me"}).set_acting_slots(0, [0])


def test_max_frames_ends_the_session() -> None:
    s = LockstepSession(local_slots=[0], slots=[0], peers={0: "me"}, input_delay=1, frame_ms=1, max_frames=5)
    steps = [r for t in range(50) for r in s.poll(float(t)) if isinstance(r, Step)]
    assert [st.frame for st in steps] == [0, 1, 2, 3, 4]
    assert s.state is SessionState.ENDED and s.status()["end_reason"] == "max_frames"
    s.report_checksum(0, "ab")  # checksums of stepped frames are still accepted after the end
    s.add_local_input(0, 1)  # ignored once ended


def test_illegal_lifecycle_transitions_raise() -> None:
    life = Lifecycle()
    with pytest.raises(IllegalTransition, match="SYNCHRONIZING to SYNCHRONIZING"):
        life.to(SessionState.SYNCHRONIZING)
    life.to(SessionState.RUNNING)
    with pytest.raises(IllegalTransition, match="RUNNING to SYNCHRONIZING"):
        life.to(SessionState.SYNCHRONIZING)
    life.to(SessionState.ENDED)
    with pytest.raises(IllegalTransition):
        life.to(SessionState.RUNNING)
    s = pair()["a"]
    with pytest.raises(IllegalTransition, match="report a checksum"):
        s.report_checksum(0, "00")
    s.close()
    assert s.poll(0.0) == []
    with pytest.raises(IllegalTransition, match="CLOSED"):
        s.close()
    with pytest.raises(IllegalTransition, match="add a local input"):
        s.add_local_input(0, 1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"peers": {0: "a", 1: "a"}}, "owns slots"),
        ({"local_slots": [0, 1]}, "several peers"),
        ({"peers": {0: "a"}}, "map every slot"),
        ({"slots": [0, 0]}, "each slot id once"),
        ({"input_delay": 0}, "input_delay"),
        ({"input_delay": 13}, "input_delay"),
        ({"frame_ms": 0}, "frame_ms"),
        ({"max_frames": 0}, "max_frames"),
        ({"default_action": object()}, "default_action"),
    ],
)
def test_constructor_validates_at_the_edge(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"local_slots": [0], "slots": [0, 1], "peers": dict(OWNERS)} | kwargs
    with pytest.raises(ValueError, match=message):
        LockstepSession(**args)


def test_bad_calls_raise_value_errors() -> None:
    s = LockstepSession(local_slots=[0], slots=[0], peers={0: "me"}, input_delay=1)
    with pytest.raises(ValueError, match="not local"):
        s.add_local_input(1, 0)
    with pytest.raises(ValueError, match="cannot be sent"):
        s.add_local_input(0, {"x": 1})
    with pytest.raises(ValueError, match="unknown peer"):
        s.peer_left("nobody")
    s.poll(0.0)
    with pytest.raises(ValueError, match="not been stepped"):
        s.report_checksum(3, "00")
    with pytest.raises(ValueError, match="ASCII"):
        s.report_checksum(0, "")


def test_malformed_bytes_are_counted_and_dropped() -> None:
    sessions = pair(input_delay=2)
    wire = Wire(sessions)
    for t in range(0, 50):
        wire.tick(float(t))
    a = sessions["a"]
    v = WIRE_VERSION
    junk = [b"", bytes([v]), bytes([v + 1, 1, 0, 0]), b"\xff" * 20000, bytes([v, 4]) + bytes(30)]
    junk.append(b"\x01\x04" + bytes(22))  # a well-formed version 1 INPUTS message: an older MUG's peer
    for data in junk:
        a.receive("b", data)
    a.receive("stranger", b"\x01\x01\x00\x00")
    for t in range(50, 100):
        wire.tick(float(t))
    status = a.status()
    assert status["malformed"] == 6 and status["unknown_sender"] == 1
    assert "wire version 1, expected" in status["last_malformed"]
    assert status["state"] == "running" and len(wire.steps("a")) >= 9  # 100 ms at 10 ms per frame
