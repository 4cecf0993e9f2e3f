"""The impairment harness's common parts: profiles, the proxy in a thread, the TURN check, browser settings.

coturn itself is `mug.testing.coturn.Coturn`; the pages reach it through the proxy (`ProxyThread`).
"""

from __future__ import annotations

import asyncio
import math
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from udp_proxy import Impairment, ProxyConfig, UdpImpairmentProxy

from mug.server.ice import mint_turn_credentials
from mug.testing import chromium
from mug.testing.coturn import stun_binding_ok

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CHROMIUM = str(chromium.CHROMIUM)
CHROMIUM_ARGS = chromium.CHROMIUM_ARGS
FPS = 30


@dataclass(frozen=True)
class Profile:
    name: str
    rtt_ms: float
    jitter_ms: float = 0.0  # per direction of each leg
    loss: float = 0.0  # one-way, peer to peer

    @property
    def per_direction(self) -> Impairment:
        q = 1 - math.sqrt(1 - self.loss) if self.loss else 0.0
        return Impairment(delay_ms=self.rtt_ms / 4, jitter_ms=self.jitter_ms, loss=q, keep_order=True)


PROFILES = {
    p.name: p
    for p in [
        Profile("rtt0", 0),
        Profile("rtt50", 50),
        Profile("rtt150", 150),
        Profile("rtt50-jitter", 50, jitter_ms=10),
        Profile("rtt150-jitter", 150, jitter_ms=20),
        Profile("rtt0-loss5", 0, loss=0.05),
        Profile("rtt50-loss5", 50, loss=0.05),
        Profile("rtt150-loss5", 150, loss=0.05),
        Profile("rtt300", 300),
        Profile("rtt300-loss5", 300, loss=0.05),
    ]
}
DEFAULT_PROFILES = "rtt0,rtt50,rtt150,rtt50-jitter,rtt0-loss5,rtt150-loss5"


class ProxyThread:
    """The impairment proxy on its own asyncio loop in a thread (the harness uses Playwright's sync API)."""

    def __init__(self, upstream_port: int, lifetime_s: float, seed: int) -> None:
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.proxy: UdpImpairmentProxy | None = None
        cfg = ProxyConfig(("127.0.0.1", 0), ("127.0.0.1", upstream_port), seed=seed, duration_s=lifetime_s)
        self.thread = threading.Thread(target=self._run, args=(cfg,), daemon=True)
        self.thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("proxy did not start")

    def _run(self, cfg: ProxyConfig) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            self.proxy = await UdpImpairmentProxy(cfg).start()
            self.ready.set()
            await self.proxy.wait()

        self.loop.run_until_complete(main())
        self.loop.close()

    @property
    def port(self) -> int:
        assert self.proxy is not None
        return self.proxy.address[1]

    def set_profile(self, profile: Profile, seed: int) -> None:
        """New impairment both ways and fresh counters (applied on the proxy's loop)."""
        from udp_proxy import _Direction

        done = threading.Event()

        def apply() -> None:
            assert self.proxy is not None
            imp = profile.per_direction
            self.proxy.up = _Direction("up", imp, seed)
            self.proxy.down = _Direction("down", imp, seed)
            done.set()

        self.loop.call_soon_threadsafe(apply)
        done.wait(5)

    def summary(self) -> dict[str, Any]:
        assert self.proxy is not None
        return self.proxy.summary()

    def stop(self) -> None:
        if self.proxy is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.proxy.stop)
        self.thread.join(5)


def check(proxy_port: int, coturn_port: int, secret: str) -> dict[str, Any]:
    """A real TURN Allocate through the proxy (tests/server/turn_client.py) and a Binding straight to coturn."""
    sys.path.insert(0, str(ROOT / "tests" / "server"))
    from turn_client import A_XOR_RELAYED, TurnClient

    creds = mint_turn_credentials(secret, "check", time.time(), ttl_s=3600)
    with TurnClient("127.0.0.1", proxy_port, timeout_s=3) as client:
        t0 = time.perf_counter()
        resp = client.allocate(creds.username, creds.credential)
        took = (time.perf_counter() - t0) * 1000
        relayed = resp.xor_address(A_XOR_RELAYED) if resp.ok else None
    return {
        "direct_binding_ok": stun_binding_ok(coturn_port),
        "allocate_via_proxy_ok": resp.ok,
        "relayed_address": relayed,
        "allocate_ms": round(took, 1),
        "error_code": resp.error_code,
    }
