"""A UDP impairment relay: delay (fixed + seeded jitter, order kept or not) and seeded Bernoulli loss, per direction.

This kernel has no netem and browser throttling does not touch WebRTC data channels, so the harness puts this
relay between the browsers and coturn and forces relay candidates:

    browser A --UDP--> proxy:LISTEN --(one upstream socket per client address)--> coturn:PORT
                       <----------------- impaired both ways -----------------

Each client address (a browser's ICE socket) gets its own upstream socket, so coturn sees one 5-tuple per
browser as it would without the proxy (TURN allocations are keyed by the client's 5-tuple).

Delay arithmetic with TURN relay: a data-channel message from A to B travels A -> proxy -> coturn (A's
allocation) -> coturn (B's allocation) -> proxy -> B, so it crosses A's leg "up" (client -> server) and B's leg
"down" (server -> client). With delay d on each direction of each leg:

    one way A -> B = d_up(A) + d_down(B) = 2d;    round trip = 4d          (so d = rtt / 4)
    loss p on each direction: a one-way message is lost with 1 - (1 - p)^2 (about 2p),
                              a round trip (message and its reply) with 1 - (1 - p)^4 (about 4p).

TURN control traffic (Allocate, Refresh, CreatePermission, ChannelBind) and the ICE/DTLS/SCTP handshakes go
through the same leg and are impaired the same way (connection setup gets slower and may retry under loss).

Jitter: each packet's delay is `delay_ms + U(-jitter_ms, +jitter_ms)` (clamped at 0) from a seeded RNG per
direction. With `keep_order` a packet never leaves before the previous one of the same flow and direction
(a FIFO link whose queue absorbs the jitter); without it, packets reorder as their delays say.

CLI (bounded: stops after --duration seconds and prints counters):

    python benchmarks/impairment/udp_proxy.py --listen 127.0.0.1:3479 --upstream 127.0.0.1:3478 \\
        --delay-ms 12.5 --jitter-ms 2 --loss 0.05 --seed 1 --duration 60
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import time
from dataclasses import asdict, dataclass, field
from typing import Any

Addr = tuple[str, int]


@dataclass(frozen=True)
class Impairment:
    """What happens to packets in one direction."""

    delay_ms: float = 0.0
    jitter_ms: float = 0.0
    loss: float = 0.0
    keep_order: bool = True

    def __post_init__(self) -> None:
        if self.delay_ms < 0 or self.jitter_ms < 0 or not 0.0 <= self.loss <= 1.0:
            raise ValueError(f"bad impairment {self}")


@dataclass
class Counters:
    """Per direction."""

    packets_in: int = 0
    bytes_in: int = 0
    dropped: int = 0
    forwarded: int = 0
    delay_ms_sum: float = 0.0
    reordered: int = 0  # sent before a packet that arrived earlier (only without keep_order)

    @property
    def loss_ratio(self) -> float:
        return self.dropped / self.packets_in if self.packets_in else 0.0

    @property
    def mean_delay_ms(self) -> float:
        kept = self.packets_in - self.dropped
        return self.delay_ms_sum / kept if kept else 0.0


class _Direction:
    """Decides each packet's fate in one direction; seeded, independent of the other direction."""

    def __init__(self, name: str, imp: Impairment, seed: int) -> None:
        self.imp = imp
        self.loss_rng = random.Random(f"{seed}:{name}:loss")
        self.delay_rng = random.Random(f"{seed}:{name}:delay")
        self.counters = Counters()
        self.last_due: dict[Addr, float] = {}  # per flow (client address): when its previous packet leaves
        self.last_arrival_seq: dict[Addr, int] = {}

    def schedule(self, flow: Addr, size: int, now: float) -> float | None:
        """When to send this packet (loop time), or None to drop it."""
        c = self.counters
        c.packets_in += 1
        c.bytes_in += size
        if self.imp.loss > 0 and self.loss_rng.random() < self.imp.loss:
            c.dropped += 1
            return None
        delay = self.imp.delay_ms
        if self.imp.jitter_ms > 0:
            delay = max(0.0, delay + self.delay_rng.uniform(-self.imp.jitter_ms, self.imp.jitter_ms))
        due = now + delay / 1000.0
        previous = self.last_due.get(flow, 0.0)
        if self.imp.keep_order:
            due = max(due, previous + 1e-6)  # strictly later: the loop's timer heap does not keep ties in order
        elif due < previous:
            c.reordered += 1
        self.last_due[flow] = max(due, previous)
        c.delay_ms_sum += (due - now) * 1000.0
        return due


class _Listener(asyncio.DatagramProtocol):
    def __init__(self, proxy: UdpImpairmentProxy) -> None:
        self.proxy = proxy

    def datagram_received(self, data: bytes, addr: Addr) -> None:
        self.proxy._from_client(data, addr)


class _Upstream(asyncio.DatagramProtocol):
    def __init__(self, proxy: UdpImpairmentProxy, client: Addr) -> None:
        self.proxy = proxy
        self.client = client
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: Addr) -> None:
        self.proxy._from_server(data, self.client)

    def error_received(self, exc: Exception) -> None:
        self.proxy.errors += 1  # e.g. ICMP port unreachable while coturn restarts


@dataclass
class ProxyConfig:
    listen: Addr
    upstream: Addr
    up: Impairment = field(default_factory=Impairment)  # client -> server
    down: Impairment = field(default_factory=Impairment)  # server -> client
    seed: int = 0
    max_flows: int = 256
    duration_s: float = 600.0


class UdpImpairmentProxy:
    """Start with `await proxy.start()`; `await proxy.wait()` returns after `duration_s` or `stop()`."""

    def __init__(self, config: ProxyConfig) -> None:
        self.config = config
        self.up = _Direction("up", config.up, config.seed)
        self.down = _Direction("down", config.down, config.seed)
        self.flows: dict[Addr, _Upstream] = {}
        self.pending: dict[Addr, list[bytes]] = {}
        self.listener: asyncio.DatagramTransport | None = None
        self.errors = 0
        self.refused_flows = 0
        self.started_at = 0.0
        self._stopped = asyncio.Event()
        self._timers: set[asyncio.TimerHandle] = set()
        self._lifetime: asyncio.TimerHandle | None = None

    @property
    def address(self) -> Addr:
        assert self.listener is not None
        return self.listener.get_extra_info("sockname")[:2]  # type: ignore[no-any-return]

    async def start(self) -> UdpImpairmentProxy:
        loop = asyncio.get_running_loop()
        self.listener, _ = await loop.create_datagram_endpoint(lambda: _Listener(self), local_addr=self.config.listen)
        self.started_at = time.monotonic()
        self._lifetime = loop.call_later(self.config.duration_s, self.stop)
        return self

    def _from_client(self, data: bytes, client: Addr) -> None:
        if self._stopped.is_set():
            return
        loop = asyncio.get_running_loop()
        due = self.up.schedule(client, len(data), loop.time())
        if due is None:
            return
        if client not in self.flows and client not in self.pending:
            if len(self.flows) + len(self.pending) >= self.config.max_flows:
                self.refused_flows += 1
                return
            self.pending[client] = []
            loop.create_task(self._open_flow(client))
        self._at(due, self._send_up, client, data)

    async def _open_flow(self, client: Addr) -> None:
        loop = asyncio.get_running_loop()
        _, proto = await loop.create_datagram_endpoint(
            lambda: _Upstream(self, client), remote_addr=self.config.upstream
        )
        self.flows[client] = proto
        for data in self.pending.pop(client, []):
            self._send_up(client, data)
        if self._stopped.is_set():
            assert proto.transport is not None
            proto.transport.close()

    def _send_up(self, client: Addr, data: bytes) -> None:
        flow = self.flows.get(client)
        if flow is None:
            self.pending.setdefault(client, []).append(data)  # the upstream socket is still opening
            return
        if flow.transport is not None and not self._stopped.is_set():
            flow.transport.sendto(data)
            self.up.counters.forwarded += 1

    def _from_server(self, data: bytes, client: Addr) -> None:
        if self._stopped.is_set():
            return
        loop = asyncio.get_running_loop()
        due = self.down.schedule(client, len(data), loop.time())
        if due is not None:
            self._at(due, self._send_down, client, data)

    def _send_down(self, client: Addr, data: bytes) -> None:
        if self.listener is not None and not self._stopped.is_set():
            self.listener.sendto(data, client)
            self.down.counters.forwarded += 1

    def _at(self, due: float, fn: Any, *args: Any) -> None:
        loop = asyncio.get_running_loop()
        if due <= loop.time():
            fn(*args)
            return
        handle: asyncio.TimerHandle

        def fire() -> None:
            self._timers.discard(handle)
            fn(*args)

        handle = loop.call_at(due, fire)
        self._timers.add(handle)

    def stop(self) -> None:
        """Stop relaying, close every socket (idempotent)."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self._lifetime is not None:
            self._lifetime.cancel()
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        for flow in self.flows.values():
            if flow.transport is not None:
                flow.transport.close()
        if self.listener is not None:
            self.listener.close()

    async def wait(self) -> None:
        await self._stopped.wait()
        await asyncio.sleep(0)  # let the transports finish closing

    def summary(self) -> dict[str, Any]:
        def one(d: _Direction) -> dict[str, Any]:
            c = d.counters
            return asdict(c) | {
                "loss_ratio": round(c.loss_ratio, 4),
                "mean_delay_ms": round(c.mean_delay_ms, 2),
                "config": asdict(d.imp),
            }

        return {
            "listen": list(self.address) if self.listener else None,
            "upstream": list(self.config.upstream),
            "flows": len(self.flows),
            "refused_flows": self.refused_flows,
            "socket_errors": self.errors,
            "seconds": round(time.monotonic() - self.started_at, 1),
            "up": one(self.up),
            "down": one(self.down),
        }


def _addr(text: str) -> Addr:
    host, _, port = text.rpartition(":")
    return host, int(port)


async def _main(args: argparse.Namespace) -> None:
    def imp(prefix: str) -> Impairment:
        def get(name: str) -> float | None:
            own = getattr(args, f"{prefix}_{name}")
            return own if own is not None else getattr(args, name)

        return Impairment(get("delay_ms"), get("jitter_ms"), get("loss"), not args.reorder)

    cfg = ProxyConfig(
        _addr(args.listen), _addr(args.upstream), imp("up"), imp("down"), args.seed, duration_s=args.duration
    )
    proxy = await UdpImpairmentProxy(cfg).start()
    print(f"relaying {proxy.address} -> {cfg.upstream} for {args.duration} s: up {cfg.up}, down {cfg.down}", flush=True)
    try:
        await proxy.wait()
    finally:
        proxy.stop()
        print(json.dumps(proxy.summary(), indent=1), flush=True)


def main() -> None:
    p = argparse.ArgumentParser(description="UDP impairment relay (delay, jitter, loss per direction).")
    p.add_argument("--listen", default="127.0.0.1:0")
    p.add_argument("--upstream", required=True)
    p.add_argument("--delay-ms", type=float, default=0.0, help="each direction (rtt through TURN = 4x)")
    p.add_argument("--jitter-ms", type=float, default=0.0)
    p.add_argument("--loss", type=float, default=0.0, help="each direction, 0..1")
    for d in ("up", "down"):
        for name in ("delay_ms", "jitter_ms", "loss"):
            p.add_argument(f"--{d}-{name.replace('_', '-')}", type=float, default=None, dest=f"{d}_{name}")
    p.add_argument("--reorder", action="store_true", help="let jitter reorder packets (default: keep order)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--duration", type=float, default=60.0, help="seconds; the relay stops by itself")
    args = p.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main(args))


if __name__ == "__main__":
    main()
