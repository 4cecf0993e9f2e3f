"""What kept groups and balanced slots cost the live state: N pairs join a lobby, `--in-flight` joins at a
time (as `lobby_load.py` does), on two `RedisState` processes sharing one redis-server (or on one
`LocalState`), as strangers with slots by arrival, as strangers with balanced slots, and as kept pairs with
rotated slots.

    python benchmarks/lobby_groups.py [--pairs 100] [--runs 5] [--in-flight 20] [--local]

Prints, per variant, the median and range over the runs of the wall time until every pair is matched, and
checks that every pair formed exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from typing import Any

from mug.server.live import LiveState, LobbyRules, LocalState
from mug.server.lobby import Group, Matched


async def nothing(_: object) -> None:
    return None


async def one_run(states: list[LiveState], pairs: int, variant: str, tag: str, in_flight: int) -> float:
    rules = LobbyRules(f"{variant}-{tag}", 2, None, {"kept": "rotate", "balanced": "balanced"}.get(variant, "arrival"))
    joins: list[tuple[str, Group | None]] = []
    for i in range(pairs):
        group = Group(f"{tag}-g{i}", (f"{tag}-p{i}a", f"{tag}-p{i}b")) if variant == "kept" else None
        joins += [(f"{tag}-p{i}a", group), (f"{tag}-p{i}b", group)]
    gate = asyncio.Semaphore(in_flight)

    async def join(k: int, pid: str, group: Group | None) -> Any:
        async with gate:
            return await states[k % len(states)].lobby_join(rules, pid, 1.0 + k, None, group)

    t0 = time.perf_counter()
    results = await asyncio.gather(*(join(k, pid, g) for k, (pid, g) in enumerate(joins)))
    elapsed = time.perf_counter() - t0
    matches = [n.match for notices in results for n in notices if isinstance(n, Matched)]
    assert len(matches) == pairs, (variant, len(matches))
    assert sorted(p for m in matches for p in m.members) == sorted(pid for pid, _ in joins)
    return elapsed


async def main(pairs: int, runs: int, in_flight: int, local: bool) -> None:
    server: Any = None
    if local:
        states: list[LiveState] = [LocalState()]
    else:
        from mug.server.live_redis import RedisState
        from mug.testing.services import RedisServer

        server = RedisServer().start()
        states = [RedisState(server.url, "bench"), RedisState(server.url, "bench")]
        for s in states:
            await s.start(nothing)
    try:
        for variant in ("arrival", "balanced", "kept"):
            times = [await one_run(states, pairs, variant, f"{variant}{r}", in_flight) for r in range(runs)]
            ms = sorted(t * 1000 for t in times)
            print(
                f"{variant:9s} {pairs} pairs: median {statistics.median(ms):.0f} ms "
                f"[{ms[0]:.0f} - {ms[-1]:.0f}] ({ms[len(ms) // 2] / (2 * pairs):.1f} ms per join), "
                f"{runs} runs, load {os.getloadavg()[0]:.1f}"
            )
    finally:
        if not local:
            for s in states:
                await s.close()
            server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--in-flight", type=int, default=20)
    parser.add_argument("--local", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.pairs, args.runs, args.in_flight, args.local))
