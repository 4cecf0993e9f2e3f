"""Whole matches over the seeded, impaired in-memory network, simulated clock (no sockets, no sleeps)."""

from __future__ import annotations

import pytest

from mug.client.lockstep import Desync, PeerGone, Ready, Request, SessionState, Stalled, Step
from mug.client.lockstep.timing import MAX_INPUT_DELAY, PEER_TIMEOUT_MS
from mug.testing.lockstep.network import LinkProfile, SimNetwork
from mug.testing.lockstep.simulate import SimPeer, Simulation, benchmark

PROFILES = {
    "clean": LinkProfile(latency_ms=10),
    "loss5_jitter50": LinkProfile(latency_ms=20, jitter_ms=50, loss=0.05),
    "rtt150_loss_dup_reorder": LinkProfile(latency_ms=75, jitter_ms=10, loss=0.05, duplicate=0.05, reorder=0.05),
}
FRAMES = 2000


def owners(n: int) -> dict[int, str]:
    return {i: f"p{i}" for i in range(n)}


def assert_identical_trajectories(peers: list[SimPeer], frames: int) -> None:
    reference = peers[0]
    assert [f for f, _ in reference.steps] == list(range(frames)), "every frame once, in order"
    for p in peers[1:]:
        assert p.steps == reference.steps, f"{p.peer} stepped differently from {reference.peer}"
        assert p.states == reference.states
    for p in peers:
        assert all(list(actions) == sorted(actions) for _, actions in p.steps), "actions in slot order"
        assert not p.of_type(Desync)
        assert p.session.state is SessionState.ENDED


@pytest.mark.parametrize("n_peers", [2, 3, 4])
@pytest.mark.parametrize("profile", list(PROFILES), ids=list(PROFILES))
def test_peers_step_identical_trajectories(n_peers: int, profile: str) -> None:
    sim = Simulation(
        owners(n_peers),
        SimNetwork(seed=n_peers, default=PROFILES[profile]),
        seed=n_peers,
        max_frames=FRAMES,
        frame_ms=1000 / 60,
        start_ms={"p1": 37.0},  # peers do not start in the same millisecond
    )
    sim.run()
    peers = list(sim.peers.values())
    assert_identical_trajectories(peers, FRAMES)
    distinct_actions = {a for _, actions in peers[0].steps for a in actions.values()}
    assert len(distinct_actions) > 1, "random inputs did reach the trajectory"
    for p in peers:
        status = p.session.status()
        assert status["stalled_share"] < 0.5  # loose: it finished, stalls are reported, not timed
        assert status["stalls"]["count"] == len(p.of_type(Stalled))
        assert status["malformed"] == 0
        assert all(rtt is not None for rtt in status["rtt_ms"].values())


def test_one_peer_owns_several_slots() -> None:
    sim = Simulation(
        {0: "human", 1: "host", 2: "host", 3: "other"},
        SimNetwork(seed=3, default=PROFILES["loss5_jitter50"]),
        seed=3,
        max_frames=1000,
        input_delay=4,
        actions=[0, 1, [0.5, -0.25], "noop"],
    )
    sim.run()
    assert_identical_trajectories(list(sim.peers.values()), 1000)
    assert sim.peers["host"].session.local_slots == (1, 2)


def test_turn_based_match_only_awaits_the_acting_slot() -> None:
    sim = Simulation(
        owners(3),
        SimNetwork(seed=5, default=PROFILES["loss5_jitter50"]),
        seed=5,
        max_frames=1000,
        turn_based=True,
    )
    sim.run()
    peers = list(sim.peers.values())
    assert_identical_trajectories(peers, 1000)
    waited = {slot for p in peers for stall in p.of_type(Stalled) for slot in stall.waiting_for}
    assert len(waited) <= 3
    for p in peers:
        for stall in p.of_type(Stalled):
            assert len(stall.waiting_for) == 1  # only ever the acting slot


def test_automatic_input_delay_is_agreed_and_grows_with_rtt() -> None:
    delays = []
    for one_way in (5.0, 60.0, 150.0):
        profile = LinkProfile(latency_ms=one_way, jitter_ms=5)
        # Asymmetric links: the slowest link decides, for everybody.
        sim = Simulation(
            owners(3),
            SimNetwork(
                seed=1,
                default=LinkProfile(latency_ms=5),
                links={("p1", "p2"): profile, ("p2", "p1"): profile},
            ),
            max_frames=60,
        )
        sim.run()
        agreed = {r.input_delay for p in sim.peers.values() for r in p.of_type(Ready)}
        assert len(agreed) == 1
        delays.append(agreed.pop())
        assert_identical_trajectories(list(sim.peers.values()), 60)
    assert delays[0] < delays[1] < delays[2] <= MAX_INPUT_DELAY, delays


def test_injected_divergence_is_located_at_its_first_frame_on_every_side() -> None:
    sim = Simulation(
        owners(3),
        SimNetwork(seed=9, default=PROFILES["rtt150_loss_dup_reorder"]),
        seed=9,
        max_frames=800,
        diverge={"p1": 500},
    )
    sim.run()
    for name, p in sim.peers.items():
        desyncs = p.of_type(Desync)
        assert desyncs, name
        assert {d.frame for d in desyncs} == {500}
        assert p.session.status()["desyncs"] == [500]
        if name == "p1":
            assert sorted(d.peer for d in desyncs) == ["p0", "p2"]
        else:
            assert [d.peer for d in desyncs] == ["p1"]  # the two healthy peers agree with each other
        assert all(d.local != d.remote for d in desyncs)


def test_vanished_peer_is_declared_gone_within_the_timeout() -> None:
    network = SimNetwork(seed=4, default=PROFILES["loss5_jitter50"])
    vanish_at = 4000.0
    network.cut("p2", vanish_at)
    sim = Simulation(owners(3), network, seed=4, max_frames=100_000)
    sim.run(until_ms=vanish_at + PEER_TIMEOUT_MS + 2000)
    for name in ("p0", "p1"):
        p = sim.peers[name]
        gone = [(t, r) for t, r in p.requests if isinstance(r, PeerGone)]
        assert len(gone) == 1, name
        t, request = gone[0]
        assert request.peer == "p2"
        assert vanish_at < t <= vanish_at + PEER_TIMEOUT_MS + 100
        assert p.session.state is SessionState.ENDED
        steps_after = [r for when, r in p.requests if isinstance(r, Step) and when > t]
        assert not steps_after
        assert p.steps[-1][0] <= request.last_confirmed_frame
    shorter = min(len(sim.peers[n].steps) for n in ("p0", "p1"))
    assert sim.peers["p0"].steps[:shorter] == sim.peers["p1"].steps[:shorter]


def test_garbage_on_the_wire_is_counted_and_the_game_goes_on() -> None:
    import random

    network = SimNetwork(seed=2, default=PROFILES["loss5_jitter50"])
    sim = Simulation(owners(2), network, seed=2, max_frames=600)
    rng = random.Random(0)
    junk_sent = 0
    while sim.now < 60_000 and not all(p.session.state is SessionState.ENDED for p in sim.peers.values()):
        sim.tick()
        if rng.random() < 0.05:
            junk = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
            sim.peers["p0"].session.receive("p1", junk)
            junk_sent += 1
    assert_identical_trajectories(list(sim.peers.values()), 600)
    malformed = sim.peers["p0"].session.status()["malformed"]
    assert 0 < malformed <= junk_sent


def test_same_seed_same_run() -> None:
    def run() -> list[tuple[float, Request]]:
        sim = Simulation(owners(2), SimNetwork(seed=8, default=PROFILES["loss5_jitter50"]), seed=8, max_frames=300)
        sim.run()
        return sim.peers["p0"].requests

    assert run() == run()


def test_benchmark_reports_stalls_and_latency() -> None:
    result = benchmark(peers=2, profile=PROFILES["rtt150_loss_dup_reorder"], frames=600, seed=1)
    assert result.frames == 600
    assert result.input_delay is not None
    assert 0.0 <= result.stalled_share < 0.5
    assert result.mean_input_latency_frames >= result.input_delay
