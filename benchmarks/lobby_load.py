"""Lobby and signaling load on ONE uvicorn process (the real server, real sockets, loopback only).

Run: `.venv/bin/python benchmarks/lobby_load.py` (defaults: stages 500,1000,2000,4000, raw clients, 180 s budget).
Options: `--stages 500,1000`, `--client raw|sio`, `--budget 180`, `--log-level info|warning`, `--profile`
(py-spy samples the server during the whole run and prints where its time goes), `--compare-clients 300`
(load-generator cost of python-socketio AsyncClient vs the raw Engine.IO client, per participant).

What runs:

- the server: `create_app(experiment, settings)` under uvicorn in its own process, pinned to core 0
  (`taskset -c 0`), on a free 127.0.0.1 port, a fresh SQLite database in a temporary folder. The experiment has
  one 2-player game scene (`mug.demos.catch_duo:make_env`, lobby timeout 1 h) and an end scene.
- the load generator: this process, pinned to core 1, asyncio. Each participant speaks Engine.IO 4 /
  Socket.IO 5 over one websocket (`--client raw`, see `RawClient`: the handshake, emit with ack, events and
  the pong, nothing else; permessage-deflate negotiated as browsers do) or is a python-socketio AsyncClient
  (`--client sio`, about 6x the client CPU per participant, so it saturates the load core first).

A stage of N participants runs phases separated by barriers, so each phase's rate is the server's throughput
for that operation with N requests outstanding ("burst" latencies are therefore mostly queueing: p99 is about
N / rate). Phases: connect (at most 200 handshakes in flight), hello, lobby_join until every match_start
arrived (pairs), signaling (per pair: offer and answer of ~3 KB SDP, 4 ICE candidates each way: 10 messages
relayed per pair), hold (everyone stays connected: server RSS is read from /proc/<pid>/status, and 20 probe
pairs run the whole flow one after another to measure latency with N participants connected but quiet),
disconnect (every disconnect ends a match: match end and outcome writes). Stages stop early when a phase has
errors above 1 %, a phase times out, or the remaining budget is short for the next stage.

Printed: per stage and phase, ops/s, server CPU per op, latency p50/p99 (burst), the server's and the load
generator's CPU use (a phase at ~100 % server CPU is server-bound); per stage the probe latencies and RSS per
held participant; the largest N held with no error.

Why "held" rather than "waiting in the lobby": a lobby never holds group_size participants (a group forms the
moment it is full), so at most 7 participants per multiplayer scene ever wait; what a server holds in numbers
is connected participants who said hello and sit in a match (or a scene). The pure lobby queue costs are in
`benchmarks/lobby_core.py`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CONNECT_WINDOW = 200  # websocket handshakes in flight at once (a burst of arrivals, bounded)
PHASE_TIMEOUT_S = 60.0
ERROR_LIMIT = 0.01
PROBE_PAIRS = 20
CANDIDATES = 4
HOLD_S = 5.0  # one Engine.IO ping interval of the server


# ---------------------------------------------------------------------------------------------- server


def serve(port: int, db: str, group: int, log_level: str, what_if: list[str]) -> None:
    """The server process: the real app factory under uvicorn.

    `what_if` applies changes the lead may make to the server, from the outside, to measure them first:
    `one-db-conn` (SQLite engine with one pooled connection: no writer contention), `ping25` (Engine.IO ping
    every 25 s, python-socketio's default, instead of 5 s), `no-deflate` (no permessage-deflate), `gc-freeze`
    (move the start-up heap out of the cyclic GC's reach, and collect the oldest generation less often),
    `ws-wsproto` / `ws-legacy` (uvicorn's wsproto or legacy websockets implementation instead of "auto", which
    picks websockets-sansio).
    """
    import uvicorn

    ws_deflate = True
    if "one-db-conn" in what_if:
        from sqlalchemy.ext.asyncio import create_async_engine as real

        import mug.server.store as store

        store.create_async_engine = lambda url, **kw: real(url, **({"pool_size": 1, "max_overflow": 0} | kw))
    if "ping25" in what_if:
        import socketio

        real_init = socketio.AsyncServer.__init__

        def init(self: Any, *a: Any, **kw: Any) -> None:
            kw.update(ping_interval=25, ping_timeout=20)
            real_init(self, *a, **kw)

        socketio.AsyncServer.__init__ = init  # type: ignore[method-assign]
    if "no-deflate" in what_if:
        ws_deflate = False
    ws_impl = "wsproto" if "ws-wsproto" in what_if else "websockets" if "ws-legacy" in what_if else "auto"

    from mug.app import create_app
    from mug.configurations import EndScene, Experiment, GameScene, Lobby, RemoteConfig
    from mug.settings import Settings

    agents: dict[str, Any] = ({"left": "human", "right": "human"} if group == 2
                              else {f"a{i}": "human" for i in range(group)})
    scene = GameScene(id="duo", env="mug.demos.catch_duo:make_env", agents=agents,
                      key_bindings={"ArrowLeft": 0, "ArrowRight": 2}, default_action=1,
                      lobby=Lobby(timeout_s=3600))
    experiment = Experiment(id="load", scenes=[scene, EndScene(id="end")], remote=RemoteConfig())
    settings = Settings(database_url=f"sqlite:///{db}", bundle_dir=Path(db).parent / "no-bundle", log_level=log_level)
    app = create_app(experiment, settings)
    if "gc-freeze" in what_if:
        import gc

        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 50, 100)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", ws_per_message_deflate=ws_deflate,
                ws=ws_impl)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_s(pid: int | str = "self") -> float:
    """User + system CPU seconds of a process (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def healthz(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as r:  # noqa: S310 (loopback only)
        return json.loads(r.read())  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------- clients


class RawClient:
    """Engine.IO 4 + Socket.IO 5 over a websocket, the minimum a page needs.

    Packets (text frames): `0{...}` open; client `40` connects the default namespace, server answers
    `40{"sid":...}`; `2` ping -> `3` pong; `42<id>["event",data]` emit with ack id; `43<id>[ack]` the ack;
    `42["event",data]` a server event.
    """

    def __init__(self, url: str, on_event: Any) -> None:
        self.url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self.on_event = on_event
        self.ws: Any = None
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.next_id = 0
        self.reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        import websockets

        self.ws = await websockets.connect(self.url, ping_interval=None, max_size=None, open_timeout=30,
                                           close_timeout=2)
        opened = await asyncio.wait_for(self.ws.recv(), 30)
        if not opened.startswith("0"):
            raise ConnectionError(f"unexpected open packet {opened[:40]!r}")
        await self.ws.send("40")
        reply = await asyncio.wait_for(self.ws.recv(), 30)
        if not reply.startswith("40"):
            raise ConnectionError(f"namespace refused: {reply[:80]!r}")
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for msg in self.ws:
                if msg == "2":
                    await self.ws.send("3")
                elif msg.startswith("43"):
                    i = 2
                    while msg[i].isdigit():
                        i += 1
                    fut = self.pending.pop(int(msg[2:i]), None)
                    if fut is not None and not fut.done():
                        fut.set_result(json.loads(msg[i:])[0])
                elif msg.startswith("42"):
                    i = 2
                    while msg[i].isdigit():
                        i += 1
                    name, *args = json.loads(msg[i:])
                    self.on_event(name, args[0] if args else None)
        except ConnectionClosed:
            pass
        finally:
            for fut in self.pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("closed"))
            self.pending.clear()

    async def call(self, event: str, data: Any, timeout: float) -> Any:
        self.next_id += 1
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = fut
        await self.ws.send(f"42{self.next_id}" + json.dumps([event, data], separators=(",", ":")))
        return await asyncio.wait_for(fut, timeout)

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.reader, 5)


class SioClient:
    """The same interface on python-socketio's AsyncClient (websocket transport)."""

    def __init__(self, url: str, on_event: Any) -> None:
        import socketio

        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)

        async def any_event(event: str, data: Any = None) -> None:
            on_event(event, data)

        self.sio.on("*", any_event)

    async def connect(self) -> None:
        await self.sio.connect(self.url, transports=["websocket"], wait_timeout=30)

    async def call(self, event: str, data: Any, timeout: float) -> Any:
        return await self.sio.call(event, data, timeout=timeout)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.sio.disconnect(), 5)


# ---------------------------------------------------------------------------------------------- participants


def fake_sdp(kind: str, rng: random.Random, size: int = 3000) -> dict[str, str]:
    """An SDP-shaped text of about `size` bytes (what Chromium sends for a data channel with candidates)."""
    lines = ["v=0", f"o=- {rng.getrandbits(62)} 2 IN IP4 127.0.0.1", "s=-", "t=0 0", "a=group:BUNDLE 0",
             "a=extmap-allow-mixed", "a=msid-semantic: WMS", "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
             "c=IN IP4 0.0.0.0", f"a=ice-ufrag:{rng.getrandbits(32):08x}", f"a=ice-pwd:{rng.getrandbits(128):032x}",
             "a=ice-options:trickle",
             "a=fingerprint:sha-256 " + ":".join(f"{rng.getrandbits(8):02X}" for _ in range(32)),
             f"a=setup:{'actpass' if kind == 'offer' else 'active'}", "a=mid:0", "a=sctp-port:5000",
             "a=max-message-size:262144"]
    while sum(len(x) + 2 for x in lines) < size:
        lines.append(f"a=candidate:{rng.getrandbits(32)} 1 udp {rng.getrandbits(31)} 127.0.0.1 "
                     f"{rng.randint(49152, 65535)} typ relay raddr 127.0.0.1 rport {rng.randint(49152, 65535)} "
                     "generation 0 network-cost 999")
    return {"type": kind, "sdp": "\r\n".join(lines) + "\r\n"}


def fake_candidate(rng: random.Random) -> dict[str, Any]:
    return {"candidate": f"candidate:{rng.getrandbits(32)} 1 udp {rng.getrandbits(31)} 127.0.0.1 "
            f"{rng.randint(49152, 65535)} typ relay raddr 127.0.0.1 rport {rng.randint(49152, 65535)} generation 0 "
            f"ufrag {rng.getrandbits(16):04x} network-cost 999", "sdpMid": "0", "sdpMLineIndex": 0,
            "usernameFragment": f"{rng.getrandbits(16):04x}"}


@dataclass
class Stats:
    """What one stage measured; latencies in seconds, per kind."""

    lat: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    relayed: int = 0


class Participant:
    """One page: connect, hello, lobby_join, signaling with its partner, hold, disconnect."""

    def __init__(self, url: str, kind: str, stats: Stats, rng: random.Random) -> None:
        self.stats = stats
        self.rng = rng
        self.client = (RawClient if kind == "raw" else SioClient)(url, self._event)
        self.tab = "".join(rng.choices(string.ascii_letters, k=12))
        self.match: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.got: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.connected = False

    def _event(self, name: str, data: Any) -> None:
        if name == "match_start" and not self.match.done():
            self.match.set_result(data)
        elif name == "signal":
            sent = (data.get("data") or {}).get("t")
            if sent is not None:
                self.stats.lat["signal"].append(time.perf_counter() - sent)
            self.stats.relayed += 1
            self.got.put_nowait(data)

    async def _timed(self, kind: str, coro: Any) -> Any:
        t0 = time.perf_counter()
        try:
            ack = await coro
        except Exception as exc:  # noqa: BLE001 (counted, the stage goes on)
            self.stats.errors[f"{kind}:{type(exc).__name__}"] += 1
            return None
        self.stats.lat[kind].append(time.perf_counter() - t0)
        if isinstance(ack, dict) and not ack.get("ok", True):
            self.stats.errors[f"{kind}:{ack['error']['code']}"] += 1
            return None
        return ack if ack is not None else True

    async def connect(self) -> bool:
        ok = await self._timed("connect", self.client.connect())
        self.connected = ok is not None
        return self.connected

    async def hello(self) -> bool:
        ack = await self._timed("hello", self.client.call(
            "hello", {"v": 1, "token": None, "tab": self.tab, "params": {"PROLIFIC_PID": self.tab}}, PHASE_TIMEOUT_S))
        return ack is not None

    async def join(self) -> dict[str, Any] | None:
        t0 = time.perf_counter()
        if await self._timed("lobby_join", self.client.call("lobby_join", {"v": 1, "scene_id": "duo"},
                                                             PHASE_TIMEOUT_S)) is None:
            return None
        try:
            start = await asyncio.wait_for(asyncio.shield(self.match), PHASE_TIMEOUT_S)
        except TimeoutError:
            self.stats.errors["match_start:timeout"] += 1
            return None
        self.stats.lat["match_start"].append(time.perf_counter() - t0)
        return start

    async def _send(self, to: int, kind: str, data: dict[str, Any]) -> bool:
        data = data | {"t": time.perf_counter()}
        return await self._timed("signal_ack", self.client.call(
            "signal", {"v": 1, "to": to, "kind": kind, "data": data}, PHASE_TIMEOUT_S)) is not None

    async def _expect(self, n: int) -> bool:
        try:
            for _ in range(n):
                await asyncio.wait_for(self.got.get(), PHASE_TIMEOUT_S)
        except TimeoutError:
            self.stats.errors["signal:missing"] += 1
            return False
        return True

    async def signaling(self, slot: int) -> bool:
        """Slot 0 offers, slot 1 answers; then both trickle CANDIDATES candidates; each expects 1 + CANDIDATES."""
        other = 1 - slot
        if slot == 0:
            ok = await self._send(other, "offer", fake_sdp("offer", self.rng))
        else:
            ok = await self._expect(1) and await self._send(other, "answer", fake_sdp("answer", self.rng))
        for _ in range(CANDIDATES):
            ok = ok and await self._send(other, "candidate", fake_candidate(self.rng))
        return ok and await self._expect(CANDIDATES + (1 if slot == 0 else 0))

    async def close(self) -> None:
        await self.client.close()


# ---------------------------------------------------------------------------------------------- stages


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass
class Phase:
    name: str
    ops: int
    wall_s: float
    server_cpu_s: float
    load_cpu_s: float
    lat: list[float]
    errors: int


class Stage:
    def __init__(self, n: int, url: str, server_pid: int, kind: str, seed: int) -> None:
        self.n, self.url, self.pid, self.kind = n, url, server_pid, kind
        self.stats = Stats()
        self.rng = random.Random(seed)
        self.phases: list[Phase] = []
        self.notes: dict[str, Any] = {}

    async def phase(self, name: str, ops_of: Any, lat_key: str, coros: list[Any]) -> list[Any]:
        s0, l0, t0 = cpu_s(self.pid), cpu_s(), time.perf_counter()
        e0 = sum(self.stats.errors.values())
        n0 = len(self.stats.lat[lat_key])
        results = await asyncio.gather(*coros)
        wall = time.perf_counter() - t0
        self.phases.append(Phase(name, ops_of(results), wall, cpu_s(self.pid) - s0, cpu_s() - l0,
                                 self.stats.lat[lat_key][n0:], sum(self.stats.errors.values()) - e0))
        return results

    def failed(self) -> bool:
        last = self.phases[-1]
        return last.errors > ERROR_LIMIT * self.n

    async def run(self, rss_idle_kb: int) -> bool:
        """Run every phase; returns False when the stage failed (and later stages should not run)."""
        loop = asyncio.get_running_loop()
        peers = [Participant(self.url, self.kind, self.stats, random.Random(self.rng.getrandbits(64)))
                 for _ in range(self.n)]
        window = asyncio.Semaphore(CONNECT_WINDOW)

        async def connect(p: Participant) -> bool:
            async with window:
                return await p.connect()

        ok = True
        try:
            res = await self.phase("connect", sum, "connect", [connect(p) for p in peers])
            live = [p for p, r in zip(peers, res, strict=True) if r]
            ok = not self.failed()
            if ok:
                res = await self.phase("hello", sum, "hello", [p.hello() for p in live])
                live = [p for p, r in zip(live, res, strict=True) if r]
                ok = not self.failed()
            if ok:
                starts = await self.phase("lobby_join -> match_start", lambda r: sum(1 for s in r if s) // 2,
                                          "match_start", [p.join() for p in live])
                ok = not self.failed()
            if ok:
                paired = [(p, s) for p, s in zip(live, starts, strict=True) if s]
                before = self.stats.relayed
                await self.phase("signal (relayed)", lambda _r: self.stats.relayed - before, "signal",
                                 [p.signaling(s["slot"]) for p, s in paired])
                ok = not self.failed()
            # hold: everyone connected; memory and latency at rest
            await asyncio.sleep(1.0)
            c0, t0 = cpu_s(self.pid), time.perf_counter()
            await asyncio.sleep(HOLD_S)  # nobody does anything: what keepalive (Engine.IO ping/pong) costs
            self.notes["idle_cpu"] = (cpu_s(self.pid) - c0) / (time.perf_counter() - t0)
            self.notes["held"] = sum(p.connected for p in peers)
            self.notes["rss_held_kb"] = rss_kb(self.pid)
            self.notes["rss_idle_kb"] = rss_idle_kb
            self.notes["server_connected"] = (await loop.run_in_executor(None, healthz, self.url))["connected"]
            if ok:
                await self.probe()
        finally:
            await self.phase("disconnect", len, "disconnect", [self._close(p) for p in peers])
        return ok

    async def _close(self, p: Participant) -> None:
        t0 = time.perf_counter()
        await p.close()
        self.stats.lat["disconnect"].append(time.perf_counter() - t0)

    async def probe(self) -> None:
        """PROBE_PAIRS pairs, one pair at a time, run the whole flow while the stage's N stay connected."""
        probe = Stats()
        for _ in range(PROBE_PAIRS):
            pair = [Participant(self.url, self.kind, probe, random.Random(self.rng.getrandbits(64))) for _ in range(2)]
            try:
                if all(await asyncio.gather(*(p.connect() for p in pair))):
                    for p in pair:
                        await p.hello()
                    starts = await asyncio.gather(*(p.join() for p in pair))
                    if all(starts):
                        await asyncio.gather(*(p.signaling(s["slot"]) for p, s in zip(pair, starts, strict=True)
                                               if s is not None))
            finally:
                for p in pair:
                    await p.close()
        self.notes["probe"] = probe


def ms(x: float) -> str:
    return "-" if x != x else f"{x * 1000:.1f}"  # nan -> "-"


def report_stage(st: Stage) -> None:
    print(f"\n== N = {st.n} participants ({st.kind} clients) ==")
    print(f"{'phase':<26}{'ops':>7}{'wall s':>8}{'ops/s':>9}{'srv CPU%':>9}{'srv ms/op':>10}{'load CPU%':>10}"
          f"{'p50 ms':>9}{'p99 ms':>9}{'errors':>7}")
    for ph in st.phases:
        rate = ph.ops / ph.wall_s if ph.wall_s > 0 else 0.0
        per_op = ph.server_cpu_s * 1000 / ph.ops if ph.ops else float("nan")
        print(f"{ph.name:<26}{ph.ops:>7}{ph.wall_s:>8.2f}{rate:>9.0f}{100 * ph.server_cpu_s / ph.wall_s:>9.0f}"
              f"{per_op:>10.2f}{100 * ph.load_cpu_s / ph.wall_s:>10.0f}{ms(pct(ph.lat, 0.5)):>9}"
              f"{ms(pct(ph.lat, 0.99)):>9}{ph.errors:>7}")
    ack = st.stats.lat["signal_ack"]
    if ack:
        print(f"  signal ack (sender) p50/p99 ms: {ms(pct(ack, 0.5))} / {ms(pct(ack, 0.99))}")
    if st.stats.errors:
        print("  errors:", dict(st.stats.errors))
    n = st.notes
    if "rss_held_kb" in n:
        held = n["held"]
        per = (n["rss_held_kb"] - n["rss_idle_kb"]) * 1024 / max(held, 1)
        print(f"  held: {held} connected (server says {n['server_connected']}); server RSS idle "
              f"{n['rss_idle_kb'] / 1024:.1f} MB -> held {n['rss_held_kb'] / 1024:.1f} MB = {per / 1024:.1f} KB per "
              f"held participant; server CPU while they sit idle: {100 * n['idle_cpu']:.0f} % of the core "
              f"({1000 * n['idle_cpu'] / max(held, 1):.3f} ms per second per participant)")
    probe: Stats | None = n.get("probe")
    if probe is not None:
        parts = [f"{k} p50/p99 {ms(pct(probe.lat[k], 0.5))}/{ms(pct(probe.lat[k], 0.99))}"
                 for k in ("connect", "hello", "match_start", "signal") if probe.lat[k]]
        print(f"  probe ({PROBE_PAIRS} pairs, one at a time, while N held), ms: " + "; ".join(parts)
              + (f"; errors {dict(probe.errors)}" if probe.errors else ""))


async def compare_clients(url: str, server_pid: int, n: int) -> None:
    """Load-generator CPU and memory per participant to connect + hello: python-socketio vs raw."""
    print(f"\n== load generator cost per participant (connect + hello, {n} each, sequential batches of 50) ==")
    for kind in ("sio", "raw"):
        stats = Stats()
        rng = random.Random(1)
        rss0, c0, s0, t0 = rss_kb(os.getpid()), cpu_s(), cpu_s(server_pid), time.perf_counter()
        peers = [Participant(url, kind, stats, random.Random(rng.getrandbits(64))) for _ in range(n)]
        for i in range(0, n, 50):
            batch = peers[i:i + 50]
            await asyncio.gather(*(p.connect() for p in batch))
            await asyncio.gather(*(p.hello() for p in batch))
        wall, c1, s1, rss1 = time.perf_counter() - t0, cpu_s(), cpu_s(server_pid), rss_kb(os.getpid())
        await asyncio.gather(*(p.close() for p in peers))
        print(f"{kind:>4}: load CPU {1000 * (c1 - c0) / n:.2f} ms/participant, load RSS +{(rss1 - rss0) / n:.0f} KB/"
              f"participant, server CPU {1000 * (s1 - s0) / n:.2f} ms/participant, wall {wall:.1f} s, errors "
              f"{dict(stats.errors) or 0}")
        await asyncio.sleep(2)


# ---------------------------------------------------------------------------------------------- profile


IDLE_LEAVES = ("EpollSelector.select", "_connection_worker_thread (aiosqlite/core.py:59)", "thread (", "process (",
               "wait (threading.py", "_worker (concurrent/futures/thread.py")


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


# ---------------------------------------------------------------------------------------------- store


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
                await conn.execute(st.participants.insert().values(
                    id=pid, token_hash=th, experiment_id="load", created_at=now, scene_index=0,
                    completion_code="CODE", user_agent="bench"))
                await conn.execute(st.url_params.insert(),
                                   [{"participant_id": pid, "name": "PROLIFIC_PID", "value": pid}])
                await conn.execute(st.scene_visits.insert().values(
                    participant_id=pid, scene_id="duo", scene_index=0, seed=123, entered_at=now))
        one = ((cpu_s() - c0) * 1000 / n, (time.perf_counter() - t0) * 1000 / n)
        async with store.engine.connect() as conn:
            assert len((await conn.execute(_select(st.participants.c.id))).all()) == n
        await store.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"\n== store cost of a new participant's hello ({n} sequential, SQLite, this process) ==")
    print(f"  as the server does it (create, read back, enter_scene, next_episode: 4 transactions): "
          f"{four[0]:.2f} ms CPU, {four[1]:.2f} ms wall")
    print(f"  one transaction (insert participant, params, scene visit; no read-backs): "
          f"{one[0]:.2f} ms CPU, {one[1]:.2f} ms wall")


# ---------------------------------------------------------------------------------------------- main


async def run(args: argparse.Namespace, url: str, pid: int) -> None:
    stages = [int(x) for x in args.stages.split(",")]
    t_start = time.perf_counter()
    if args.compare_clients:
        await compare_clients(url, pid, args.compare_clients)
    await asyncio.sleep(1)
    rss_idle = rss_kb(pid)
    print(f"\nserver pid {pid}, RSS at idle {rss_idle / 1024:.1f} MB; budget {args.budget:.0f} s")
    best = 0
    last_time = last_n = 0.0
    for seed, n in enumerate(stages):
        remaining = args.budget - (time.perf_counter() - t_start)
        estimate = last_time * n / last_n if last_n else 0.0
        if estimate > remaining:
            print(f"\nstopping before N = {n}: the previous stage scaled says {estimate:.0f} s, {remaining:.0f} s left")
            break
        t0 = time.perf_counter()
        stage = Stage(n, url, pid, args.client, seed)
        ok = await stage.run(rss_idle)
        report_stage(stage)
        last_time, last_n = time.perf_counter() - t0, n
        clean = ok and not stage.stats.errors
        if clean:
            best = n
        # let the server settle: every connection gone
        for _ in range(100):
            if (await asyncio.get_running_loop().run_in_executor(None, healthz, url))["connected"] == 0:
                break
            await asyncio.sleep(0.2)
        if not ok:
            print(f"\nstopping: stage N = {n} failed (errors above {ERROR_LIMIT:.0%} or timeouts)")
            break
    print(f"\nmax concurrent participants held with no error: {best or 'none'}  "
          f"(total {time.perf_counter() - t_start:.0f} s; server RSS now {rss_kb(pid) / 1024:.1f} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd")
    s = sub.add_parser("serve", help="internal: the server process")
    s.add_argument("--port", type=int, required=True)
    s.add_argument("--db", required=True)
    s.add_argument("--group", type=int, default=2)
    s.add_argument("--log-level", default="info")
    s.add_argument("--what-if", action="append", default=[])
    parser.add_argument("--stages", default="500,1000,2000,4000")
    parser.add_argument("--client", choices=["raw", "sio"], default="raw")
    parser.add_argument("--budget", type=float, default=180.0, help="seconds for the stages (stops early)")
    parser.add_argument("--log-level", default="info", help="server log level (info is the deployment default)")
    parser.add_argument("--profile", action="store_true", help="sample the server with py-spy")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (server log, profile)")
    parser.add_argument("--compare-clients", type=int, default=0, metavar="N")
    parser.add_argument("--what-if", action="append", default=[],
                        choices=["one-db-conn", "ping25", "no-deflate", "gc-freeze", "ws-wsproto", "ws-legacy"],
                        help="patch the server process from outside to measure a proposed change (repeatable)")
    parser.add_argument("--store-bench", type=int, default=0, metavar="N",
                        help="only measure the store's share of hello (N participants, in this process)")
    args = parser.parse_args()
    if args.store_bench:
        asyncio.run(store_bench(args.store_bench))
        return
    if args.cmd == "serve":
        serve(args.port, args.db, args.group, args.log_level, args.what_if)
        return

    cores = sorted(os.sched_getaffinity(0))
    server_core, load_core = (cores[0], cores[1]) if len(cores) > 1 else (cores[0], cores[0])
    os.sched_setaffinity(0, {load_core})
    tmp = Path(tempfile.mkdtemp(prefix="mug-lobby-load-"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, str(Path(__file__).resolve()), "serve", "--port", str(port), "--db",
           str(tmp / "data.sqlite3"), "--log-level", args.log_level,
           *(f"--what-if={w}" for w in args.what_if)]
    if shutil.which("taskset"):
        cmd = ["taskset", "-c", str(server_core), *cmd]
    log = (tmp / "server.log").open("w")
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    spy: subprocess.Popen[bytes] | None = None
    raw = tmp / "profile.txt"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                healthz(url)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"server did not start; log: {tmp / 'server.log'}") from None
                time.sleep(0.1)
        print(f"server: core {server_core}, {url}, log level {args.log_level}, log {tmp / 'server.log'}; "
              f"load generator: core {load_core}, {args.client} clients; what-if: {args.what_if or 'none'}")
        if args.profile:
            py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
            spy = subprocess.Popen([py_spy, "record", "--pid", str(server.pid), "--format", "raw", "--rate", "250",
                                    "--threads", "--idle", "--nonblocking", "-o", str(raw),
                                    "--duration", str(int(args.budget) + 60)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        asyncio.run(asyncio.wait_for(run(args, url, server.pid), args.budget + 120))
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                spy.wait(20)
            if spy.poll() is None:
                spy.kill()
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    if args.profile:
        summarize_profile(raw)
    summarize_log(tmp / "server.log")
    if args.keep:
        print(f"kept: {tmp} (server.log, profile.txt)")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
