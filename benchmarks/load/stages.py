"""A stage of N participants: phases separated by barriers, what each phase measured, and the stage's report."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass
from typing import Any

from .cluster import redis_calls
from .participants import Participant, Stats
from .proc import cpu_s, rss_kb
from .server import healthz

CONNECT_WINDOW = 200  # websocket handshakes in flight at once (a burst of arrivals, bounded)

ERROR_LIMIT = 0.01
PROBE_PAIRS = 20

HOLD_S = 5.0  # one Engine.IO ping interval of the server


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
    other_cpu_s: dict[str, float]
    redis_calls: int | None = None  # commands Redis ran during the phase (`--servers`)


class Stage:
    """N participants against one server process or several (`urls[i]` served by `pids[i]`): participant i
    connects to `urls[i % len(urls)]`. `others` names further processes whose CPU each phase reads (Redis)."""

    def __init__(
        self,
        n: int,
        urls: list[str],
        pids: list[int],
        kind: str,
        seed: int,
        others: dict[str, int] | None = None,
        join_window: int = 0,
        redis_port: int | None = None,
    ) -> None:
        self.n, self.urls, self.pids, self.kind = n, urls, pids, kind
        self.url, self.pid = urls[0], pids[0]
        self.others = others or {}
        self.join_window = join_window  # lobby_joins in flight at once (0: all N at once)
        self.redis_port = redis_port
        self.stats = Stats()
        self.rng = random.Random(seed)
        self.phases: list[Phase] = []
        self.notes: dict[str, Any] = {}

    async def phase(self, name: str, ops_of: Any, lat_key: str, coros: list[Any]) -> list[Any]:
        s0, l0, t0 = self.server_cpu_s(), cpu_s(), time.perf_counter()
        o0 = {k: cpu_s(pid) for k, pid in self.others.items()}
        r0 = redis_calls(self.redis_port) if self.redis_port else 0
        e0 = sum(self.stats.errors.values())
        n0 = len(self.stats.lat[lat_key])
        results = await asyncio.gather(*coros)
        wall = time.perf_counter() - t0
        self.phases.append(
            Phase(
                name,
                ops_of(results),
                wall,
                self.server_cpu_s() - s0,
                cpu_s() - l0,
                self.stats.lat[lat_key][n0:],
                sum(self.stats.errors.values()) - e0,
                {k: cpu_s(pid) - o0[k] for k, pid in self.others.items()},
                redis_calls(self.redis_port) - r0 if self.redis_port else None,
            )
        )
        return results

    def server_cpu_s(self) -> float:
        """CPU seconds of every server process together."""
        return sum(cpu_s(pid) for pid in self.pids)

    def failed(self) -> bool:
        last = self.phases[-1]
        return last.errors > ERROR_LIMIT * self.n

    async def run(self, rss_idle_kb: list[int]) -> bool:
        """Run every phase; returns False when the stage failed (and later stages should not run)."""
        loop = asyncio.get_running_loop()
        peers = [
            Participant(self.urls[i % len(self.urls)], self.kind, self.stats, random.Random(self.rng.getrandbits(64)))
            for i in range(self.n)
        ]
        window = asyncio.Semaphore(CONNECT_WINDOW)

        async def connect(p: Participant) -> bool:
            async with window:
                return await p.connect()

        joins = asyncio.Semaphore(self.join_window or max(self.n, 1))
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
                starts = await self.phase(
                    "lobby_join -> match_start",
                    lambda r: sum(1 for s in r if s) // 2,
                    "match_start",
                    [self._join(p, joins) for p in live],
                )
                ok = not self.failed()
            if ok:
                paired = [(p, s) for p, s in zip(live, starts, strict=True) if s]
                where: dict[str, set[str]] = {}
                for p, s in paired:
                    where.setdefault(s["match_id"], set()).add(p.client_url)
                self.notes["spanning"] = sum(len(u) > 1 for u in where.values()) / max(len(where), 1)
                before = self.stats.relayed
                await self.phase(
                    "signal (relayed)",
                    lambda _r: self.stats.relayed - before,
                    "signal",
                    [p.signaling(s["slot"]) for p, s in paired],
                )
                ok = not self.failed()
            # hold: everyone connected; memory and latency at rest
            await asyncio.sleep(1.0)
            c0, t0 = self.server_cpu_s(), time.perf_counter()
            await asyncio.sleep(HOLD_S)  # nobody does anything: what keepalive (Engine.IO ping/pong) costs
            self.notes["idle_cpu"] = (self.server_cpu_s() - c0) / (time.perf_counter() - t0)
            self.notes["held"] = sum(p.connected for p in peers)
            # per server process: RSS at idle and held, participants it holds (KB per held participant each)
            self.notes["per_process"] = [
                (rss_idle_kb[k], rss_kb(pid), sum(p.connected for p in peers[k :: len(self.pids)]))
                for k, pid in enumerate(self.pids)
            ]
            self.notes["rss_held_kb"] = sum(held for _, held, _ in self.notes["per_process"])
            self.notes["rss_idle_kb"] = sum(rss_idle_kb)
            self.notes["others_kb"] = {k: rss_kb(pid) for k, pid in self.others.items()}
            self.notes["server_connected"] = sum(
                [(await loop.run_in_executor(None, healthz, u))["connected"] for u in self.urls]
            )
            if ok:
                await self.probe()
        finally:
            await self.phase("disconnect", len, "disconnect", [self._close(p) for p in peers])
        return ok

    async def _join(self, p: Participant, window: asyncio.Semaphore) -> dict[str, Any] | None:
        async with window:
            return await p.join()

    async def _close(self, p: Participant) -> None:
        t0 = time.perf_counter()
        await p.close()
        self.stats.lat["disconnect"].append(time.perf_counter() - t0)

    async def probe(self) -> None:
        """PROBE_PAIRS pairs, one pair at a time, run the whole flow while the stage's N stay connected."""
        probe = Stats()
        for _ in range(PROBE_PAIRS):
            pair = [
                Participant(self.urls[k % len(self.urls)], self.kind, probe, random.Random(self.rng.getrandbits(64)))
                for k in range(2)
            ]
            try:
                if all(await asyncio.gather(*(p.connect() for p in pair))):
                    for p in pair:
                        await p.hello()
                    starts = await asyncio.gather(*(p.join() for p in pair))
                    if all(starts):
                        await asyncio.gather(
                            *(p.signaling(s["slot"]) for p, s in zip(pair, starts, strict=True) if s is not None)
                        )
            finally:
                for p in pair:
                    await p.close()
        self.notes["probe"] = probe


def ms(x: float) -> str:
    return "-" if x != x else f"{x * 1000:.1f}"  # nan -> "-"


def report_stage(st: Stage) -> None:
    print(f"\n== N = {st.n} participants ({st.kind} clients) ==")
    print(
        f"{'phase':<26}{'ops':>7}{'wall s':>8}{'ops/s':>9}{'srv CPU%':>9}{'srv ms/op':>10}{'load CPU%':>10}"
        f"{'p50 ms':>9}{'p99 ms':>9}{'errors':>7}"
    )
    for ph in st.phases:
        rate = ph.ops / ph.wall_s if ph.wall_s > 0 else 0.0
        per_op = ph.server_cpu_s * 1000 / ph.ops if ph.ops else float("nan")
        print(
            f"{ph.name:<26}{ph.ops:>7}{ph.wall_s:>8.2f}{rate:>9.0f}{100 * ph.server_cpu_s / ph.wall_s:>9.0f}"
            f"{per_op:>10.2f}{100 * ph.load_cpu_s / ph.wall_s:>10.0f}{ms(pct(ph.lat, 0.5)):>9}"
            f"{ms(pct(ph.lat, 0.99)):>9}{ph.errors:>7}"
            + "".join(f"  {k} CPU {100 * c / ph.wall_s:.0f} %" for k, c in ph.other_cpu_s.items())
            + (f", {ph.redis_calls / ph.ops:.1f} commands/op" if ph.redis_calls and ph.ops else "")
        )
    ack = st.stats.lat["signal_ack"]
    if ack:
        print(f"  signal ack (sender) p50/p99 ms: {ms(pct(ack, 0.5))} / {ms(pct(ack, 0.99))}")
    if st.stats.errors:
        print("  errors:", dict(st.stats.errors))
    n = st.notes
    if "rss_held_kb" in n:
        held = n["held"]
        per = (n["rss_held_kb"] - n["rss_idle_kb"]) * 1024 / max(held, 1)
        print(
            f"  held: {held} connected (server says {n['server_connected']}); server RSS idle "
            f"{n['rss_idle_kb'] / 1024:.1f} MB -> held {n['rss_held_kb'] / 1024:.1f} MB = {per / 1024:.1f} KB per "
            f"held participant; server CPU while they sit idle: {100 * n['idle_cpu']:.0f} % of the core "
            f"({1000 * n['idle_cpu'] / max(held, 1):.3f} ms per second per participant)"
        )
    if len(st.pids) > 1 and "per_process" in n:
        print(
            f"  {len(st.pids)} processes: "
            + "; ".join(
                f"#{k} holds {h}, RSS {i / 1024:.1f} -> {r / 1024:.1f} MB = {(r - i) / max(h, 1):.1f} KB each"
                for k, (i, r, h) in enumerate(n["per_process"])
            )
            + f"; matches spanning both: {100 * n.get('spanning', float('nan')):.0f} %"
        )
    for k, kb in n.get("others_kb", {}).items():
        print(f"  {k} RSS while held: {kb / 1024:.1f} MB")
    probe: Stats | None = n.get("probe")
    if probe is not None:
        parts = [
            f"{k} p50/p99 {ms(pct(probe.lat[k], 0.5))}/{ms(pct(probe.lat[k], 0.99))}"
            for k in ("connect", "hello", "match_start", "signal")
            if probe.lat[k]
        ]
        print(
            f"  probe ({PROBE_PAIRS} pairs, one at a time, while N held), ms: "
            + "; ".join(parts)
            + (f"; errors {dict(probe.errors)}" if probe.errors else "")
        )
