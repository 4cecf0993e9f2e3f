"""How long the admin view's state takes to read from a busy study's database (`mug.server.admin.view.snapshot`).

Fills a fresh SQLite database (or `--database` URL) with `--participants` participants, half of them in
matches of two (`--live` of those matches running, each member with `--reports` status reports), lobby waits
and `lobby_matched` events, then times `snapshot` `--runs` times and prints the median and range. The admin
page asks for it every 2 s (one read a second at most, whatever the number of admin tabs).

    python benchmarks/admin_state.py [--participants 2000] [--live 200] [--reports 20] [--runs 7]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from mug.configurations import EndScene, Experiment, GameScene
from mug.server.admin.view import snapshot
from mug.server.store import Store

SCENE = GameScene(
    id="duo", env="envs.duo:make", key_bindings={"ArrowLeft": 0}, agents={"left": "human", "right": "human"}
)
EXPERIMENT = Experiment(id="bench", scenes=[SCENE, EndScene(id="end")])


async def fill(store: Store, participants: int, live: int, reports: int) -> None:
    now = time.time()
    pids = []
    for i in range(participants):
        pid = f"p_{i:014d}"
        params = {"PROLIFIC_PID": str(i)}
        await store.create_participant(pid, secrets.token_hex(32), EXPERIMENT.id, "CODE", params, None)
        pids.append(pid)
    pairs = [pids[i : i + 2] for i in range(0, participants // 2, 2)]
    for n, members in enumerate(pairs):
        match_id = f"m{n:06d}"
        for pid in members:
            await store.lobby_wait(pid, "duo", now - 30)
        await store.add_match(match_id, "duo", n, members, {}, now - 20)
        for pid in members:
            await store.add_event(pid, "duo", "lobby_matched", {"match_id": match_id, "waited_s": 10.0})
        if n >= live:
            await store.end_match(match_id, "finished")
            continue
        for pid in members:
            peers = [{"slot": 1, "type": "direct", "rtt_ms": 0.5}]
            await store.add_event(pid, "duo", "match_connected", {"match_id": match_id, "peers": peers})
            for r in range(reports):
                status = {"input_delay": 2, "frames": r * 150, "stalls": 0, "stall_ms": 0, "desyncs": 0}
                await store.add_match_report(match_id, pid, "status", status | {"peers": peers})
    for pid in pids[participants // 2 : participants // 2 + 20]:
        await store.lobby_wait(pid, "duo", now - 5)


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        url = args.database or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        store = await Store.open(url)
        try:
            t0 = time.perf_counter()
            await fill(store, args.participants, args.live, args.reports)
            filled_s = time.perf_counter() - t0
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                state = await snapshot(store, EXPERIMENT)
                times.append((time.perf_counter() - t0) * 1000)
            size = len(json.dumps(state))
        finally:
            await store.close()
    print(
        f"participants {args.participants}, running matches {len(state['matches'])}, "
        f"status reports {args.live * 2 * args.reports} (filled in {filled_s:.1f} s); "
        f"snapshot ms: median {statistics.median(times):.1f}, range {min(times):.1f}-{max(times):.1f} "
        f"over {args.runs} runs; JSON {size / 1000:.0f} kB"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--database")
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--live", type=int, default=200)
    parser.add_argument("--reports", type=int, default=20)
    parser.add_argument("--runs", type=int, default=7)
    asyncio.run(main(parser.parse_args()))
