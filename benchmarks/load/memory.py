"""Where a held participant's server memory goes: snapshots taken inside the server at idle, then at
WARM_UP, WARM_UP + N and WARM_UP + 2N participants held.

The server process (`lobby_load.py serve --snapshots DIR`) answers SIGUSR1 by writing `DIR/snap-K.pickle`:
its RSS, the count of live Python objects by type (`gc.get_objects`), and, when tracemalloc runs in it
(`--what-if tracemalloc`), a tracemalloc snapshot. The load generator holds a warm-up batch, asks for a
snapshot, holds N more, asks again, holds N more, asks again; what the last N added, divided by N, is one
held participant's cost at the margin (the warm-up and the first N take first-use allocations and the growth
of the server's tables out of it); the RSS growth from idle over everyone held is the average cost.

A held participant is connected, said hello, was matched with a partner and exchanged the offer, answer and
candidates of `participants.fake_sdp` with them: the flow of `stages.Stage` without the disconnect.
"""

from __future__ import annotations

import asyncio
import gc
import os
import pickle
import random
import signal
import sys
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .participants import Participant, Stats
from .proc import rss_kb

CONNECT_WINDOW = 200
WARM_UP = 200


def install_snapshot_hook(folder: Path) -> None:
    """In the server process: SIGUSR1 writes the next snapshot file (see the module docstring)."""
    count = [0]

    def snap(_signum: int, _frame: Any) -> None:
        gc.collect()
        types = Counter(type(o).__qualname__ for o in gc.get_objects())
        tm = tracemalloc.take_snapshot() if tracemalloc.is_tracing() else None
        if tm is not None:
            tm = tm.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
        path = folder / f"snap-{count[0]}.pickle"
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump({"rss_kb": rss_kb(os.getpid()), "types": types, "tracemalloc": tm}, f)
        tmp.rename(path)
        count[0] += 1

    signal.signal(signal.SIGUSR1, snap)


async def ask_snapshot(pid: int, folder: Path, k: int) -> dict[str, Any]:
    await asyncio.sleep(1.0)  # let the last acknowledgements and pings settle
    os.kill(pid, signal.SIGUSR1)
    path = folder / f"snap-{k}.pickle"
    for _ in range(1200):
        if path.exists():
            with path.open("rb") as f:
                return pickle.load(f)  # type: ignore[no-any-return]
        await asyncio.sleep(0.1)
    raise TimeoutError(f"the server wrote no {path}")


@dataclass
class Held:
    """Participants held so far and what went wrong holding them."""

    url: str
    kind: str
    rng: random.Random
    stats: Stats = field(default_factory=Stats)
    peers: list[Participant] = field(default_factory=list)

    async def add(self, n: int) -> None:
        """Connect, hello, match and signal n more participants (n even); they stay connected."""
        batch = [
            Participant(self.url, self.kind, self.stats, random.Random(self.rng.getrandbits(64))) for _ in range(n)
        ]
        window = asyncio.Semaphore(CONNECT_WINDOW)

        async def one(p: Participant) -> dict[str, Any] | None:
            async with window:
                if not await p.connect():
                    return None
            if not await p.hello():
                return None
            return await p.join()

        # in slices, so the lobby pairs participants of one slice and no phase has thousands outstanding
        for i in range(0, n, 1000):
            part = batch[i : i + 1000]
            starts = await asyncio.gather(*(one(p) for p in part))
            await asyncio.gather(*(p.signaling(s["slot"]) for p, s in zip(part, starts, strict=True) if s))
        self.peers += batch

    async def close(self) -> None:
        await asyncio.gather(*(p.close() for p in self.peers))


def per_participant(a: dict[str, Any], b: dict[str, Any], n: int) -> dict[str, Any]:
    """What b holds more than a, per participant: RSS bytes, objects by type, tracemalloc bytes by line."""
    out: dict[str, Any] = {"rss_b": (b["rss_kb"] - a["rss_kb"]) * 1024 / n}
    out["types"] = {t: (b["types"][t] - a["types"].get(t, 0)) / n for t in b["types"]}
    if a["tracemalloc"] is not None and b["tracemalloc"] is not None:
        diff = b["tracemalloc"].compare_to(a["tracemalloc"], "lineno")
        out["lines"] = [(str(d.traceback[0]), d.size_diff / n, d.count_diff / n) for d in diff]
        out["traced_b"] = sum(d.size_diff for d in diff) / n
    return out


def owner(where: str) -> str:
    """The package (or mug module, or stdlib module) of a `file:line`."""
    path = where.rsplit(":", 1)[0]
    if "site-packages/" in path:
        parts = path.split("site-packages/")[1].split("/")
        return "/".join(parts[:2]) if parts[0] in ("engineio", "socketio", "uvicorn", "websockets") else parts[0]
    if "/mug/" in path:
        return "mug/" + path.split("/mug/", 1)[1]
    if "python3" in path:
        return "stdlib " + path.rsplit("/", 1)[-1]
    return path[-50:]


def report(label: str, per: dict[str, Any], top: int = 25) -> None:
    print(f"\n== {label}: memory per held participant ==")
    print(
        f"RSS {per['rss_b'] / 1024:.1f} KB"
        + (f"; traced by tracemalloc {per['traced_b'] / 1024:.1f} KB" if "lines" in per else "")
    )
    objs = sorted(((c, t) for t, c in per["types"].items() if c >= 0.5), reverse=True)
    print("Python objects per participant, by type: " + ", ".join(f"{t} {c:.1f}" for c, t in objs[:30]))
    print(f"  (all types: {sum(c for c, _ in objs):.0f} objects)")
    if "lines" not in per:
        return
    by_owner: Counter[str] = Counter()
    for where, size, _count in per["lines"]:
        by_owner[owner(where)] += size
    print("traced bytes per participant by package / module:")
    for name, size in by_owner.most_common(20):
        if abs(size) >= 64:
            print(f"  {size / 1024:8.2f} KB  {name}")
    print(f"top {top} allocation lines (bytes, blocks per participant):")
    for where, size, count in sorted(per["lines"], key=lambda x: -x[1])[:top]:
        print(f"  {size / 1024:8.2f} KB {count:6.1f}  {where}")


async def measure(url: str, pid: int, kind: str, n: int, folder: Path) -> dict[str, Any]:
    """Hold WARM_UP, then N, then N more participants; snapshots in between. Returns the last N's cost."""
    held = Held(url, kind, random.Random(7))
    t0 = time.perf_counter()
    try:
        idle = await ask_snapshot(pid, folder, 0)
        await held.add(WARM_UP)
        s0 = await ask_snapshot(pid, folder, 1)
        await held.add(n)
        s1 = await ask_snapshot(pid, folder, 2)
        await held.add(n)
        s2 = await ask_snapshot(pid, folder, 3)
    finally:
        await held.close()
    errors = dict(held.stats.errors)
    first, second = per_participant(s0, s1, n), per_participant(s1, s2, n)
    total = WARM_UP + 2 * n
    average = (s2["rss_kb"] - idle["rss_kb"]) / total
    print(
        f"held {WARM_UP} + {n} + {n} in {time.perf_counter() - t0:.0f} s, errors {errors or 0}; server RSS "
        f"{idle['rss_kb'] / 1024:.0f} (idle) -> {s0['rss_kb'] / 1024:.0f} -> {s1['rss_kb'] / 1024:.0f} -> "
        f"{s2['rss_kb'] / 1024:.0f} MB; per participant: first N {first['rss_b'] / 1024:.1f} KB, second N "
        f"{second['rss_b'] / 1024:.1f} KB, all {total} from idle {average:.1f} KB",
        file=sys.stderr,
    )
    second["errors"] = errors
    second["average_kb"] = average
    second["rss_mb"] = (idle["rss_kb"] / 1024, s2["rss_kb"] / 1024)
    return second
