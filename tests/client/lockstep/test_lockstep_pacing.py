"""Adaptive input delay (`mug.client.lockstep.pacing`): the rule on its own, then whole simulated matches."""

from __future__ import annotations

import pytest

from mug.client.lockstep import SessionState, Stalled
from mug.client.lockstep.pacing import Pacing
from mug.client.lockstep.timing import LOWER_AFTER, MAX_INPUT_DELAY, SLACK_WINDOW_FRAMES
from mug.client.lockstep.wire import NO_SLACK
from mug.testing.lockstep.network import LinkProfile, SimNetwork
from mug.testing.lockstep.simulate import Simulation

FRAME_MS = 1000 / 30


def decide(pacing: Pacing, report: int, frames: int = 200) -> int:
    """Step `frames` frames, the partner reporting `report` every 15 frames (a ping every 500 ms)."""
    for f in range(frames):
        if f % 15 == 0:
            pacing.reported("b", report)
        pacing.next_delay()
    assert pacing.delay is not None
    return pacing.delay


def test_slack_is_measured_per_frame_and_a_low_one_is_reported() -> None:
    pacing = Pacing(["b"], FRAME_MS)
    pacing.start(2)
    assert pacing.for_ping("b") == NO_SLACK  # until a window is full
    for f in range(SLACK_WINDOW_FRAMES):
        pacing.arrived("b", f, f + 1, now_ms=100.0 * f)
        late = 7.0 if f in (10, 20) else 0.0  # two frames whose inputs came after they were due
        pacing.stepped(f, due_ms=100.0 * f + 30.0 - late - (37.0 if late else 0.0), needed=["b"])
    assert pacing.low_slack("b") == pytest.approx(-14.0)  # the second smallest: one outlier is ignored
    assert pacing.for_ping("b") == -14
    pacing.stepped(SLACK_WINDOW_FRAMES, due_ms=0.0, needed=[])  # a frame that needed nobody's input
    assert pacing.low_slack("b") == pytest.approx(-14.0)


def test_a_partner_short_of_slack_raises_this_peers_delay_one_frame_at_a_time() -> None:
    pacing = Pacing(["b"], FRAME_MS)
    pacing.start(2)
    assert decide(pacing, report=-20, frames=SLACK_WINDOW_FRAMES) == 2  # the first window is still filling
    assert decide(pacing, report=30) == 2  # plenty of slack: nothing changes
    assert decide(pacing, report=-20, frames=1) == 3  # at the first report short of slack
    assert decide(pacing, report=-20, frames=SLACK_WINDOW_FRAMES) == 3  # then it settles under the new delay
    delay = decide(pacing, report=-20, frames=200)
    assert 3 < delay <= 3 + 200 // SLACK_WINDOW_FRAMES  # one frame per settle period, not one per report
    assert pacing.status()["raises"] == delay - 2
    assert decide(pacing, report=-20, frames=5000) == MAX_INPUT_DELAY  # bounded


def test_room_to_spare_gives_frames_back_but_never_below_the_agreed_delay() -> None:
    pacing = Pacing(["b"], FRAME_MS)
    pacing.start(2)
    raised = decide(pacing, report=-5, frames=400)
    assert raised > 3
    roomy = int(FRAME_MS + 15)
    assert decide(pacing, report=roomy, frames=15 * (LOWER_AFTER - 2)) == raised  # not at the first calm moment
    assert decide(pacing, report=roomy, frames=20_000) == 2
    assert pacing.status()["lowers"] == raised - 2
    assert decide(pacing, report=5, frames=2000) == 2  # between the two thresholds: no change


def test_without_adaptation_the_slack_is_measured_and_the_delay_kept() -> None:
    pacing = Pacing(["b"], FRAME_MS, adaptive=False)
    pacing.start(2)
    assert decide(pacing, report=-50, frames=1000) == 2
    pacing.arrived("b", 1000, 1001, now_ms=50.0)
    pacing.stepped(1000, due_ms=50.0, needed=["b"])  # just in time: the next frame waits a little longer
    assert pacing.pace_ms() == pytest.approx(4.0)
    assert Pacing(["b"], FRAME_MS, pace=False).pace_ms() == 0.0


def hiccup_match(adaptive: bool) -> Simulation:
    """Two peers at 30 fps on a 2 ms round trip; each env step takes 5-15 ms and each thread is held up 10 times
    a second for 10-50 ms (two browsers on a loaded laptop)."""
    sim = Simulation(
        {0: "p0", 1: "p1"},
        SimNetwork(seed=3, default=LinkProfile(latency_ms=1)),
        seed=3,
        tick_ms=4,
        step_ms=(5, 15),
        hiccups={"p0": (10, 10, 50), "p1": (10, 10, 50)},
        start_ms={"p1": 11.0},
        frame_ms=FRAME_MS,
        max_frames=1800,
        adaptive_delay=adaptive,
        pace=adaptive,
    )
    sim.run()
    return sim


def stalled(sim: Simulation) -> float:
    return max(len(p.of_type(Stalled)) for p in sim.peers.values()) / 1800


def test_peers_held_up_by_their_machine_send_further_ahead_and_stop_stalling() -> None:
    fixed, adaptive = hiccup_match(adaptive=False), hiccup_match(adaptive=True)
    for sim in (fixed, adaptive):
        p0, p1 = sim.peers["p0"], sim.peers["p1"]
        assert p0.steps == p1.steps and p0.states == p1.states and len(p0.steps) == 1800  # same frames, same inputs
        assert all(p.session.state is SessionState.ENDED for p in (p0, p1))
    agreed = fixed.peers["p0"].session.status()["input_delay"]
    assert stalled(fixed) > 0.01  # with the delay agreed at the start, more than 1% of frames stall...
    assert stalled(adaptive) < 0.01  # ...and under 1% when the delay and the clocks follow what is measured
    pacing = [p.session.status()["pacing"] for p in adaptive.peers.values()]
    assert max(p["max_delay"] for p in pacing) > agreed and sum(p["raises"] for p in pacing) >= 1
    assert all(p.session.status()["input_delay"] == agreed for p in adaptive.peers.values())  # agreed one kept
    assert all(
        p["max_delay"] == agreed and p["raises"] == 0
        for p in (q.session.status()["pacing"] for q in fixed.peers.values())
    )


def test_on_a_quiet_link_with_quick_steps_nothing_changes() -> None:
    sim = Simulation(
        {0: "p0", 1: "p1"},
        SimNetwork(seed=5, default=LinkProfile(latency_ms=1)),
        seed=5,
        tick_ms=4,
        step_ms=(0.2, 0.5),
        start_ms={"p1": 11.0},
        frame_ms=FRAME_MS,
        max_frames=1800,
    )
    sim.run()
    for p in sim.peers.values():
        pacing = p.session.status()["pacing"]
        assert pacing["raises"] == 0 and pacing["local_delay"] == p.session.status()["input_delay"]
        assert pacing["paced_ms"] < 1800 * FRAME_MS * 0.01  # the game ran at its frame rate
    assert stalled(sim) == 0
