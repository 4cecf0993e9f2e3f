"""Pause and resume: a peer away within the grace period, a reloaded peer that rejoins, one that never does."""

from __future__ import annotations

import pytest

from mug.client.lockstep import LockstepSession, SessionState
from mug.client.lockstep.requests import PeerAway, PeerBack, PeerGone, Request, Send, Step
from mug.client.lockstep.wire import (
    History,
    HistoryChunk,
    PeerMessageError,
    Rejoin,
    decode,
    decode_history,
    encode,
    encode_history,
)
from mug.testing.lockstep.network import LinkProfile, SimNetwork
from mug.testing.lockstep.simulate import Simulation

LOSSY = LinkProfile(latency_ms=30, jitter_ms=10, loss=0.05, reorder=0.05, duplicate=0.02)
TWO = {0: "a", 1: "b"}
THREE = {0: "a", 1: "b", 2: "c"}


def sim(
    owners: dict[int, str], seed: int, grace_ms: float = 8000, turn_based: bool = False, **kw: object
) -> Simulation:
    return Simulation(
        owners,
        SimNetwork(seed=seed, default=LOSSY),
        seed=seed,
        input_delay=None,
        frame_ms=20,
        max_frames=500,
        reconnect_grace_ms=grace_ms,
        turn_based=turn_based,
        **kw,  # type: ignore[arg-type]
    )


def assert_identical_and_complete(s: Simulation, frames: int = 500) -> None:
    ref = s.peers["a"].steps
    assert len(ref) == frames
    for p in s.peers.values():
        assert p.steps == ref, f"{p.peer} stepped other actions"
        assert p.states == s.peers["a"].states
        assert p.session.status()["desyncs"] == []
        assert p.session.status()["malformed"] == 0


@pytest.mark.parametrize("turn_based", [False, True])
@pytest.mark.parametrize("owners", [TWO, THREE], ids=["2 peers", "3 peers"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_reloaded_peer_rejoins_replays_and_every_peer_steps_the_same_frames(
    owners: dict[int, str], turn_based: bool, seed: int
) -> None:
    s = sim(owners, seed, turn_based=turn_based)
    s.reload("b", 3000 + seed * 300, 5000 + seed * 500)
    s.run(until_ms=80_000)
    old = s.before_reload["b"]
    assert 0 < len(old.steps) < 500
    assert old.steps == s.peers["a"].steps[: len(old.steps)]  # the frames before the reload were the same
    assert_identical_and_complete(s)
    new = s.peers["b"]
    replayed = [r for r in new.of_type(Step) if r.replay]
    assert len(replayed) >= len(old.steps) - 12  # it replays (about) everything the others played
    assert [r.frame for r in replayed] == list(range(len(replayed)))
    back = s.peers["a"].of_type(PeerBack)
    assert [b.peer for b in back if b.rejoined] == ["b"]
    assert s.peers["a"].session.status()["pauses"][-1]["rejoined"] is True


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_connection_lost_for_5_s_pauses_then_resumes_without_a_rejoin(seed: int) -> None:
    s = sim(TWO, seed)
    s.network.outage("b", 2000, 7000)
    s.run(until_ms=80_000)
    assert_identical_and_complete(s)
    for p, other in (("a", "b"), ("b", "a")):
        peer = s.peers[p]
        (away,) = peer.of_type(PeerAway)
        (back,) = peer.of_type(PeerBack)
        assert away.peer == other and back.peer == other and not back.rejoined
        assert 2500 < back.away_ms < 5500  # away from 2 s of silence on until the connection came back
        assert not peer.of_type(PeerGone)
        assert not any(r.replay for r in peer.of_type(Step))


def test_paused_peers_stand_on_the_same_frame() -> None:
    s = sim(TWO, 3)
    s.network.outage("b", 2000, 7000)
    while s.now < 5000:
        s.tick()
    a, b = s.peers["a"].session, s.peers["b"].session
    assert a.status()["away"] and b.status()["away"]
    assert abs(a.frame - b.frame) <= 1  # each stalls at the first frame that needs the other's inputs


def test_away_longer_than_the_grace_period_is_gone() -> None:
    s = sim(TWO, 0, grace_ms=3000)
    s.reload("b", 2000, 60_000)
    s.run(until_ms=20_000)
    a = s.peers["a"]
    (away,) = a.of_type(PeerAway)
    (gone,) = a.of_type(PeerGone)
    assert gone.peer == "b" and a.session.state is SessionState.ENDED
    gone_at = next(t for t, r in a.requests if isinstance(r, PeerGone))
    away_at = next(t for t, r in a.requests if isinstance(r, PeerAway))
    assert 3000 <= gone_at - away_at <= 3100


def test_without_a_grace_period_silence_is_gone_at_once() -> None:
    s = sim(TWO, 0, grace_ms=0)
    s.network.outage("b", 2000, 7000)
    s.run(until_ms=20_000)
    assert s.peers["a"].of_type(PeerGone) and not s.peers["a"].of_type(PeerAway)


def test_history_round_trips_in_chunks_and_refuses_garbage() -> None:
    steps = tuple((i % 5, [i, -0.0, None, "x"]) for i in range(3000))
    history = History(3000, 3, steps, tuple(range(3000)), {0: (1, 2), 1: ()})
    chunks = encode_history(history, nonce=7)
    assert len(chunks) >= 1 and all(len(encode(c)) <= 16 * 1024 for c in chunks)
    decoded = [decode(encode(c)) for c in chunks]
    assert all(isinstance(c, HistoryChunk) for c in decoded)
    blob = b"".join(c.data for c in decoded if isinstance(c, HistoryChunk))
    assert decode_history(blob, (0, 1)) == History(
        3000, 3, tuple((a, list(b)) for a, b in steps), tuple(range(3000)), {0: (1, 2), 1: ()}
    )
    for bad in (b"", b"not zlib", encode_history(History(1, 3, ((1, 2),), (), {9: ()}), 1)[0].data):
        with pytest.raises(PeerMessageError):
            decode_history(bad, (0, 1))
    with pytest.raises(PeerMessageError):
        decode(encode(HistoryChunk(1, 0, 1, b""))[:-1] + b"\x00\x00\x00\x00\x00")  # index >= total


def test_a_malformed_history_is_counted_and_asked_for_again() -> None:
    fresh = LockstepSession(
        [1], [0, 1], TWO, input_delay=2, frame_ms=20, reconnect_grace_ms=5000, rejoin=True, rejoin_nonce=5
    )
    assert fresh.state is SessionState.REJOINING
    fresh.poll(0.0)
    fresh.receive("a", encode(HistoryChunk(5, 0, 1, b"garbage")))
    assert fresh.status()["malformed"] == 1 and fresh.state is SessionState.REJOINING
    asks = [r for r in fresh.poll(1000.0) if getattr(r, "reliable", False)]
    assert asks, "the rejoin is asked for again"
    fresh.receive("a", encode(HistoryChunk(4, 0, 1, b"stale")))  # another attempt's answer: ignored
    assert fresh.status()["malformed"] == 1


def test_rejoin_requests_get_at_most_one_history_a_second() -> None:
    s = sim(TWO, 0)
    while s.now < 1500:
        s.tick()
    a = s.peers["a"].session
    assert a.state is SessionState.RUNNING
    answers = 0

    def poll(t: float) -> list[Request]:
        out = a.poll(t)
        for r in out:
            if isinstance(r, Step):
                a.report_checksum(r.frame, "00")  # every stepped frame has its checksum, as a caller does
        return out

    for i, t in enumerate((1500.0, 1600.0, 1700.0, 2600.0)):
        poll(t)
        a.receive("b", encode(Rejoin(100 + i)))
        answers += any(isinstance(r, Send) and r.reliable for r in poll(t + 1))
    assert answers == 2  # at 1.5 s and 2.6 s; the two in between were too soon
