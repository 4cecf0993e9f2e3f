"""Stalls with and without the lockstep's pacing (adaptive input delay, pacing, slack sharing), side by side.

The simulated clock and network of `mug.testing.lockstep.simulate` (nothing sleeps, the same seed gives the
same run, so every figure below reproduces exactly on any machine): two peers, each env step costing a time
drawn from a range, and each peer's thread held up at random moments (`hiccups`), as two browsers on a loaded
laptop are. For each case, five seeds with pacing off (the session as it was: the delay agreed at the start,
a stall re-phases the clock) and five with it on.

    .venv/bin/python benchmarks/lockstep_pacing.py [--frames 900] [--seeds 5]

Columns: the agreed delay; frames with a stall (% of frames, the worse peer: median [range] over seeds);
time stalled (% of the game's length); input latency (frames from taking an input to stepping its frame,
which is where a larger own delay shows); the game's pace (frames per second of simulated time over fps).
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import dataclass

from mug.client.lockstep import Stalled, Step
from mug.testing.lockstep.network import LinkProfile, SimNetwork
from mug.testing.lockstep.simulate import Simulation


@dataclass(frozen=True)
class Case:
    name: str
    fps: int
    one_way_ms: float
    step_ms: tuple[float, float]
    hiccups: tuple[float, float, float] | None  # per second, low ms, high ms


CASES = [
    Case("light env, quiet machine, 2 ms rtt", 30, 1, (0.3, 0.6), None),
    Case("heavy env (5-15 ms), quiet, 2 ms rtt", 30, 1, (5, 15), None),
    Case("heavy env, hiccups 10/s of 10-50 ms, 2 ms rtt, 30 fps", 30, 1, (5, 15), (10, 10, 50)),
    Case("heavy env, hiccups 10/s of 10-80 ms, 2 ms rtt, 15 fps", 15, 1, (5, 15), (10, 10, 80)),
    Case("heavy env, hiccups 10/s of 10-50 ms, 150 ms rtt, 30 fps", 30, 75, (5, 15), (10, 10, 50)),
    Case("heavy env, hiccups 20/s of 5-30 ms, 150 ms rtt, 30 fps", 30, 75, (5, 15), (20, 5, 30)),
]


def run(case: Case, seed: int, frames: int, on: bool) -> dict[str, float]:
    names = ["p0", "p1"]
    sim = Simulation(
        {0: "p0", 1: "p1"},
        SimNetwork(seed=seed, default=LinkProfile(latency_ms=case.one_way_ms)),
        seed=seed,
        tick_ms=4,  # the browser worker polls every 4 ms
        step_ms=case.step_ms,
        hiccups={n: case.hiccups for n in names} if case.hiccups else None,
        start_ms={"p1": 11.0},
        frame_ms=1000 / case.fps,
        max_frames=frames,
        adaptive_delay=on,
        pace=on,
    )
    sim.run()
    peers = list(sim.peers.values())
    assert all(p.steps == peers[0].steps for p in peers), "trajectories differ"
    statuses = [p.session.status() for p in peers]
    frame_ms = 1000 / case.fps
    stepped = [[t for t, r in p.requests if isinstance(r, Step)] for p in peers]
    ran_ms = max(times[-1] - times[0] for times in stepped) / (frames - 1) * frames
    return {
        "delay": float(statuses[0]["input_delay"]),
        "stall_frames": 100 * max(len(p.of_type(Stalled)) for p in peers) / frames,
        "stalled": 100 * max(s["stalled_share"] for s in statuses),
        "latency": max(s["input_latency_ms"] for s in statuses) / frame_ms,
        "pace": frames * frame_ms / ran_ms,
    }


def fmt(values: list[float], digits: int = 2) -> str:
    return f"{statistics.median(values):.{digits}f} [{min(values):.{digits}f}-{max(values):.{digits}f}]"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=900)
    ap.add_argument("--seeds", type=int, default=5)
    args = ap.parse_args()
    print(f"{args.frames} frames, seeds 0-{args.seeds - 1}; median [min-max] over seeds; the worse of the two peers")
    print(
        f"{'case':<58}{'pacing':>7}{'D':>3}{'frames stalled %':>22}{'time stalled %':>22}{'latency fr':>20}{'pace':>20}"
    )
    for case in CASES:
        for on in (False, True):
            runs = [run(case, seed, args.frames, on) for seed in range(args.seeds)]
            print(
                f"{case.name if not on else '':<58}{'on' if on else 'off':>7}{runs[0]['delay']:>3.0f}"
                f"{fmt([r['stall_frames'] for r in runs]):>22}{fmt([r['stalled'] for r in runs]):>22}"
                f"{fmt([r['latency'] for r in runs]):>20}{fmt([r['pace'] for r in runs], 3):>20}",
                flush=True,
            )


if __name__ == "__main__":
    main()
