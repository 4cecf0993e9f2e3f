"""What the lockstep sends: 32-bit checksums that still locate a desync at its frame, checksums sent once with a
short redundancy and repaired when lost, pure acknowledgements, and the bytes per frame that result."""

from __future__ import annotations

import statistics
import zlib
from typing import Any

import pytest

from mug.client.lockstep import Desync, LockstepSession, Send, SessionState, Step
from mug.client.lockstep.timing import CHECKSUM_REDUNDANCY_FRAMES
from mug.client.lockstep.wire import Inputs, decode
from mug.testing.lockstep.network import LinkProfile, SimNetwork
from mug.testing.lockstep.simulate import Simulation, benchmark

OWNERS = {0: "a", 1: "b"}


def pair(frame_ms: float = 10.0) -> dict[str, LockstepSession]:
    return {
        p: LockstepSession(local_slots=[s], slots=[0, 1], peers=OWNERS, frame_ms=frame_ms, input_delay=2)
        for s, p in OWNERS.items()
    }


def run_pair(
    sessions: dict[str, LockstepSession],
    until_ms: int,
    checksum: Any,
    blocked: Any = lambda src, t: False,
    log: list[tuple[str, Any]] | None = None,
) -> None:
    """Instant delivery at the next ms; `checksum(peer, frame)` is what each peer reports after a Step."""
    in_flight: list[tuple[str, str, bytes]] = []
    for t in range(until_ms):
        flights, in_flight = in_flight, []
        for src, dst, data in flights:
            sessions[dst].receive(src, data)
        for name, s in sessions.items():
            for r in s.poll(float(t)):
                if isinstance(r, Send):
                    if not blocked(name, t):
                        in_flight.append((name, r.peer, r.data))
                elif log is not None:
                    log.append((name, r))
                if isinstance(r, Step):
                    s.report_checksum(r.frame, checksum(name, r.frame))


def test_desync_is_located_at_its_frame_even_when_only_the_high_half_differs() -> None:
    def checksum(peer: str, frame: int) -> str:
        low = f"{frame * 2654435761 % 2**32:08x}"
        if peer == "b" and frame in (20, 41, 42):
            return "ffffffff" + low  # the low 32 bits agree: a truncated checksum would miss this
        return "00000000" + low

    sessions = pair()
    log: list[tuple[str, Any]] = []
    run_pair(sessions, 800, checksum, log=log)
    for name, other in (("a", "b"), ("b", "a")):
        desyncs = [r for who, r in log if who == name and isinstance(r, Desync)]
        assert [d.frame for d in desyncs] == [20, 41], name  # 41-42 is one divergence, reported once
        assert all(d.peer == other for d in desyncs)
        assert sessions[name].status()["desyncs"] == [20, 41]
        mine, theirs = checksum(name, 20), checksum(other, 20)
        assert (desyncs[0].local, desyncs[0].remote) == (
            f"{zlib.crc32(mine.encode()):08x}",
            f"{zlib.crc32(theirs.encode()):08x}",
        )


def test_lost_checksums_are_repaired_after_a_round_trip() -> None:
    """b's messages are lost for 200 ms: everything it sent then (checksums included) is sent again."""
    sessions = pair()
    run_pair(sessions, 1200, lambda peer, frame: f"{frame:016x}", blocked=lambda src, t: src == "b" and 300 <= t < 500)
    a, b = sessions["a"], sessions["b"]
    assert a.state is b.state is SessionState.RUNNING and a.frame > 80
    got_from_b, _ = a.checksum_progress()["b"]
    assert got_from_b >= b.frame - 3  # everything b stepped, but the last frames still in flight
    assert a.status()["desyncs"] == [] and b.status()["desyncs"] == []


@pytest.mark.parametrize("loss", [0.05, 0.2])
def test_checksums_are_sent_once_with_a_short_redundancy_and_all_arrive(loss: float) -> None:
    sizes: list[int] = []
    checksums_per_message: list[int] = []
    network = SimNetwork(seed=2, default=LinkProfile(latency_ms=150, loss=loss))
    send = network.send

    def spy(src: str, dst: str, data: bytes, now_ms: float, reliable: bool = False) -> None:
        m = decode(data)
        if isinstance(m, Inputs) and (m.inputs or m.checksums):
            sizes.append(len(data))
            checksums_per_message.append(len(m.checksums))
        send(src, dst, data, now_ms, reliable)

    network.send = spy  # type: ignore[method-assign]
    sim = Simulation({0: "p0", 1: "p1"}, network, seed=2, max_frames=600, frame_ms=1000 / 30)
    sim.run(settle_ms=2000)
    for p in sim.peers.values():
        assert p.session.state is SessionState.ENDED and len(p.steps) == 600
        assert p.session.unacknowledged() == 0  # every checksum arrived, despite the losses
        assert p.session.checksum_progress() == {q: (600, 600) for q in sim.peers if q != p.peer}
        assert not p.of_type(Desync)
    # At a 300 ms round trip about 10 frames are unacknowledged at any time; a message carries the new one
    # and CHECKSUM_REDUNDANCY_FRAMES more (repairs after losses add a few).
    assert statistics.median(checksums_per_message) == 1 + CHECKSUM_REDUNDANCY_FRAMES
    assert statistics.mean(checksums_per_message) < 1 + CHECKSUM_REDUNDANCY_FRAMES + 1
    assert statistics.median(sizes) < 60  # version 1: about 210 bytes


def test_acknowledgements_alone_carry_no_data() -> None:
    """At 30 fps a frame is longer than ACK_DELAY_MS: owed acks go alone, as pure acks, never acked back."""
    kinds: dict[str, int] = {"data": 0, "pure": 0}
    pure_sizes: set[int] = set()
    network = SimNetwork(seed=1, default=LinkProfile(latency_ms=75))
    send = network.send

    def spy(src: str, dst: str, data: bytes, now_ms: float, reliable: bool = False) -> None:
        m = decode(data)
        if isinstance(m, Inputs):
            pure = not m.inputs and not m.checksums
            kinds["pure" if pure else "data"] += 1
            if pure:
                pure_sizes.add(len(data))
        send(src, dst, data, now_ms, reliable)

    network.send = spy  # type: ignore[method-assign]
    sim = Simulation({0: "p0", 1: "p1"}, network, seed=1, max_frames=300, frame_ms=1000 / 30)
    sim.run()
    frames = 2 * 300  # per peer
    assert kinds["data"] <= 1.1 * frames  # one data message per frame, not two
    assert kinds["pure"] <= kinds["data"]
    assert pure_sizes <= {22}  # 21 bytes + one slot


def test_bytes_per_frame_at_a_high_round_trip_with_loss() -> None:
    result = benchmark(peers=2, profile=LinkProfile(latency_ms=150, loss=0.05), frames=900, fps=30)
    assert result.frames == 900
    assert result.bytes_per_frame_per_peer < 90  # version 1: about 270
    assert result.stalled_share < 0.01
