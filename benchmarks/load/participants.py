"""One simulated page (`Participant`): connect, hello, lobby_join, signaling with fake SDP and candidates, close."""

from __future__ import annotations

import asyncio
import random
import string
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from .clients import RawClient, SioClient

PHASE_TIMEOUT_S = 60.0

CANDIDATES = 4


def fake_sdp(kind: str, rng: random.Random, size: int = 3000) -> dict[str, str]:
    """An SDP-shaped text of about `size` bytes (what Chromium sends for a data channel with candidates)."""
    lines = [
        "v=0",
        f"o=- {rng.getrandbits(62)} 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0",
        "a=extmap-allow-mixed",
        "a=msid-semantic: WMS",
        "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
        "c=IN IP4 0.0.0.0",
        f"a=ice-ufrag:{rng.getrandbits(32):08x}",
        f"a=ice-pwd:{rng.getrandbits(128):032x}",
        "a=ice-options:trickle",
        "a=fingerprint:sha-256 " + ":".join(f"{rng.getrandbits(8):02X}" for _ in range(32)),
        f"a=setup:{'actpass' if kind == 'offer' else 'active'}",
        "a=mid:0",
        "a=sctp-port:5000",
        "a=max-message-size:262144",
    ]
    while sum(len(x) + 2 for x in lines) < size:
        lines.append(
            f"a=candidate:{rng.getrandbits(32)} 1 udp {rng.getrandbits(31)} 127.0.0.1 "
            f"{rng.randint(49152, 65535)} typ relay raddr 127.0.0.1 rport {rng.randint(49152, 65535)} "
            "generation 0 network-cost 999"
        )
    return {"type": kind, "sdp": "\r\n".join(lines) + "\r\n"}


def fake_candidate(rng: random.Random) -> dict[str, Any]:
    return {
        "candidate": f"candidate:{rng.getrandbits(32)} 1 udp {rng.getrandbits(31)} 127.0.0.1 "
        f"{rng.randint(49152, 65535)} typ relay raddr 127.0.0.1 rport {rng.randint(49152, 65535)} generation 0 "
        f"ufrag {rng.getrandbits(16):04x} network-cost 999",
        "sdpMid": "0",
        "sdpMLineIndex": 0,
        "usernameFragment": f"{rng.getrandbits(16):04x}",
    }


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
        self.client_url = url
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
        except Exception as exc:
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
        ack = await self._timed(
            "hello",
            self.client.call(
                "hello", {"v": 1, "token": None, "tab": self.tab, "params": {"PROLIFIC_PID": self.tab}}, PHASE_TIMEOUT_S
            ),
        )
        return ack is not None

    async def join(self) -> dict[str, Any] | None:
        t0 = time.perf_counter()
        if (
            await self._timed(
                "lobby_join", self.client.call("lobby_join", {"v": 1, "scene_id": "duo"}, PHASE_TIMEOUT_S)
            )
            is None
        ):
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
        return (
            await self._timed(
                "signal_ack",
                self.client.call("signal", {"v": 1, "to": to, "kind": kind, "data": data}, PHASE_TIMEOUT_S),
            )
            is not None
        )

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
