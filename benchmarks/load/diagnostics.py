"""Side measurements and summaries: load-generator cost per client kind, py-spy profile, server log, store cost."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import tempfile
import time
from collections import Counter
from pathlib import Path

from .participants import Participant, Stats
from .proc import cpu_s, rss_kb


async def compare_clients(url: str, server_pid: int, n: int) -> None:
    """Load-generator CPU and memory per participant to connect + hello: python-socketio vs raw."""
    print(f"\n== load generator cost per participant (connect + hello, {n} each, sequential batches of 50) ==")
    for kind in ("sio", "raw"):
        stats = Stats()
        rng = random.Random(1)
        rss0, c0, s0, t0 = rss_kb(os.getpid()), cpu_s(), cpu_s(server_pid), time.perf_counter()
        peers = [Participant(url, kind, stats, random.Random(rng.getrandbits(64))) for _ in range(n)]
        for i in range(0, n, 50):
            batch = peers[i : i + 50]
            await asyncio.gather(*(p.connect() for p in batch))
            await asyncio.gather(*(p.hello() for p in batch))
        wall, c1, s1, rss1 = time.perf_counter() - t0, cpu_s(), cpu_s(server_pid), rss_kb(os.getpid())
        await asyncio.gather(*(p.close() for p in peers))
        print(
            f"{kind:>4}: load CPU {1000 * (c1 - c0) / n:.2f} ms/participant, load RSS +{(rss1 - rss0) / n:.0f} KB/"
            f"participant, server CPU {1000 * (s1 - s0) / n:.2f} ms/participant, wall {wall:.1f} s, errors "
            f"{dict(stats.errors) or 0}"
        )
        await asyncio.sleep(2)


IDLE_LEAVES = (
    "EpollSelector.select",
    "_connection_worker_thread (aiosqlite/core.py:59)",
    "thread (",
    "process (",
    "wait (threading.py",
    "_worker (concurrent/futures/thread.py",
)


def summarize_profile(raw: Path) -> None:
    """py-spy raw output (collapsed stacks `thread;frame;... count`): time by layer and package.

    A leaf `_connection_worker_thread (aiosqlite/core.py:63)` is SQLite's own C code (`function()` runs the
    sqlite3 call, which has no Python frame)."""
    if not raw.exists():
        print("(no py-spy output)")
        return
    layers = [
        ("hello handler (Participants.hello, inclusive)", ("hello (mug/server/participants.py",)),
        ("lobby_join handler (Multiplayer.join, inclusive)", ("join (mug/server/multiplayer.py",)),
        ("signal handler (Multiplayer.signal, inclusive)", ("signal (mug/server/multiplayer.py",)),
        ("disconnect handler (inclusive)", ("disconnect (mug/server/handlers.py",)),
        ("mug store: SQLAlchemy + aiosqlite + sqlite3", ("mug/server/store.py", "aiosqlite/")),
        ("pydantic validation", ("pydantic",)),
        ("logging", ("logging/",)),
        ("Engine.IO ping/pong (_send_ping, check_ping_timeout)", ("_send_ping", "check_ping_timeout")),
        ("websocket per-message deflate (zlib)", ("permessage_deflate",)),
        ("websocket handshake (uvicorn + websockets)", ("handshake", "process_request", "accept (")),
    ]
    total = 0
    inclusive: Counter[str] = Counter()
    package: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        c = int(count)
        frames = stack.split(";")
        if any(w in frames[-1] for w in IDLE_LEAVES):
            continue  # a thread blocked in epoll or on aiosqlite's queue: idle, not CPU
        total += c
        for name, keys in layers:
            if any(k in stack for k in keys):
                inclusive[name] += c
        top = frames[-1]
        leaf[top] += c
        where = top.rpartition("(")[2]
        if "site-packages/" in where:
            pkg = where.split("site-packages/")[1].split("/")[0]
        elif "/mug/" in where:
            pkg = "mug"
        elif where.startswith(("/", "<")) and "python3" in where:
            pkg = "stdlib " + where.split("python3.12/")[-1].split("/")[0].split(".py")[0]
        else:
            pkg = where.split(":")[0][-40:] or "?"
        package[pkg] += c
    if not total:
        print("(py-spy recorded nothing)")
        return
    print(f"\n== server profile (py-spy, all threads, idle waits left out: {total} samples) ==")
    print("inclusive share (stacks passing through):")
    for name, _ in layers:
        print(f"  {100 * inclusive[name] / total:5.1f} %  {name}")
    print("self time by package (leaf frame):")
    for pkg, c in package.most_common(14):
        print(f"  {100 * c / total:5.1f} %  {pkg}")
    print("top leaf functions:")
    for frame, c in leaf.most_common(12):
        print(f"  {100 * c / total:5.1f} %  {frame[:150]}")


def summarize_log(path: Path) -> None:
    """Count the server's ERROR lines and the exceptions behind them (last line of each traceback)."""
    lines = path.read_text(errors="replace").splitlines()
    errors = Counter(line.split(": ", 1)[-1][:120] for line in lines if " ERROR " in line)
    causes: Counter[str] = Counter()
    for i, line in enumerate(lines):
        if line.startswith("Traceback"):
            j = i + 1
            while j < len(lines) and (lines[j].startswith((" ", "\t")) or not lines[j].strip()):
                j += 1
            if j < len(lines):
                causes[lines[j][:200]] += 1
    print(f"\nserver log: {sum(errors.values())} ERROR lines")
    for text, c in errors.most_common(5):
        print(f"  {c:>5} x {text}")
    for text, c in causes.most_common(5):
        print(f"  {c:>5} x exception: {text}")


async def store_bench(n: int) -> None:
    """CPU per new participant's hello spent in the store, as the server does it (4 transactions) and in one."""
    import secrets as _secrets

    from sqlalchemy import select as _select

    from mug.server import store as st

    tmp = Path(tempfile.mkdtemp(prefix="mug-store-bench-"))
    try:
        store = await st.Store.open(f"sqlite:///{tmp / 'a.sqlite3'}")
        c0, t0 = cpu_s(), time.perf_counter()
        for _ in range(n):
            pid, th = "p_" + _secrets.token_hex(8), _secrets.token_hex(32)
            await store.create_participant(pid, th, "load", "CODE", {"PROLIFIC_PID": pid}, "bench")
            await store.participant_by_token_hash(th)
            await store.enter_scene(pid, "duo", 0, 123)
            await store.next_episode(pid, "duo")
        four = ((cpu_s() - c0) * 1000 / n, (time.perf_counter() - t0) * 1000 / n)
        await store.close()
        store = await st.Store.open(f"sqlite:///{tmp / 'b.sqlite3'}")
        c0, t0 = cpu_s(), time.perf_counter()
        for _ in range(n):
            pid, th, now = "p_" + _secrets.token_hex(8), _secrets.token_hex(32), time.time()
            async with store.engine.begin() as conn:  # a new participant: nothing to read back
                await conn.execute(
                    st.participants.insert().values(
                        id=pid,
                        token_hash=th,
                        experiment_id="load",
                        created_at=now,
                        scene_index=0,
                        completion_code="CODE",
                        user_agent="bench",
                    )
                )
                await conn.execute(
                    st.url_params.insert(), [{"participant_id": pid, "name": "PROLIFIC_PID", "value": pid}]
                )
                await conn.execute(
                    st.scene_visits.insert().values(
                        participant_id=pid, scene_id="duo", scene_index=0, seed=123, entered_at=now
                    )
                )
        one = ((cpu_s() - c0) * 1000 / n, (time.perf_counter() - t0) * 1000 / n)
        async with store.engine.connect() as conn:
            assert len((await conn.execute(_select(st.participants.c.id))).all()) == n
        await store.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n== store cost of a new participant's hello ({n} sequential, SQLite, this process) ==")
    print(
        f"  as the server does it (create, read back, enter_scene, next_episode: 4 transactions): "
        f"{four[0]:.2f} ms CPU, {four[1]:.2f} ms wall"
    )
    print(
        f"  one transaction (insert participant, params, scene visit; no read-backs): "
        f"{one[0]:.2f} ms CPU, {one[1]:.2f} ms wall"
    )
