"""An in-memory, seeded, impaired network for driving lockstep sessions without sockets or sleeps.

Used by the tests and by `simulate.benchmark` (standard library only).
Each directed link (src -> dst) has a `LinkProfile`: base latency, jitter, loss, duplication and reordering.
The same seed and the same sequence of `send` calls give the same deliveries.
"""

from __future__ import annotations

import heapq
import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class LinkProfile:
    """Impairments of one direction of a link.

    Args:
        latency_ms: one-way base delay.
        jitter_ms: an extra delay drawn uniformly from [0, jitter_ms] per message (reorders nearby messages).
        loss: probability a message is dropped.
        duplicate: probability a message is delivered twice (the copy with its own delay).
        reorder: probability a message is held back by an extra 1..3 x (latency + jitter), so later
            messages overtake it.
    """

    latency_ms: float = 10.0
    jitter_ms: float = 0.0
    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0


@dataclass
class NetworkStats:
    sent: int = 0
    delivered: int = 0
    dropped: int = 0
    duplicated: int = 0
    bytes_sent: int = 0


@dataclass
class SimNetwork:
    """A seeded message network with a simulated clock supplied by the caller.

    Args:
        seed: the seed of the impairment draws.
        default: the profile of every link not listed in `links`.
        links: profiles per directed link (src, dst).
    """

    seed: int = 0
    default: LinkProfile = field(default_factory=LinkProfile)
    links: dict[tuple[str, str], LinkProfile] = field(default_factory=dict)
    stats: NetworkStats = field(default_factory=NetworkStats)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._queue: list[tuple[float, int, str, str, bytes]] = []
        self._seq = 0
        self._cut: dict[str, float] = {}  # peer -> time from which everything it sends is lost
        self._outages: list[tuple[str, float, float]] = []  # (peer, from, until): its links carry nothing
        self._reliable_at: dict[tuple[str, str], float] = {}  # last delivery time per ordered, reliable link

    def outage(self, peer: str, from_ms: float, until_ms: float) -> None:
        """Lose everything `peer` sends or is sent between `from_ms` and `until_ms` (a dropped connection)."""
        self._outages.append((peer, from_ms, until_ms))

    def _down(self, src: str, dst: str, now_ms: float) -> bool:
        return any(p in (src, dst) and a <= now_ms < b for p, a, b in self._outages)

    def cut(self, peer: str, from_ms: float) -> None:
        """Drop everything `peer` sends from time `from_ms` on (a vanished peer)."""
        self._cut[peer] = from_ms

    def send(self, src: str, dst: str, data: bytes, now_ms: float, reliable: bool = False) -> None:
        """Hand a message to the network at `now_ms`; `reliable`: an ordered, reliable channel (latency and
        jitter apply, loss, duplication and reordering do not), like a reliable WebRTC data channel."""
        self.stats.sent += 1
        self.stats.bytes_sent += len(data)
        profile = self.links.get((src, dst), self.default)
        if (src in self._cut and now_ms >= self._cut[src]) or self._down(src, dst, now_ms):
            self.stats.dropped += 1
            return
        if reliable:
            at = max(
                now_ms + profile.latency_ms + self._rng.uniform(0.0, profile.jitter_ms),
                self._reliable_at.get((src, dst), 0.0),
            )
            self._reliable_at[(src, dst)] = at
            self._seq += 1
            heapq.heappush(self._queue, (at, self._seq, src, dst, data))
            return
        if self._rng.random() < profile.loss:
            self.stats.dropped += 1
            return
        copies = 2 if self._rng.random() < profile.duplicate else 1
        self.stats.duplicated += copies - 1
        for _ in range(copies):
            delay = profile.latency_ms + self._rng.uniform(0.0, profile.jitter_ms)
            if self._rng.random() < profile.reorder:
                delay += self._rng.uniform(1.0, 3.0) * (profile.latency_ms + profile.jitter_ms)
            self._seq += 1
            heapq.heappush(self._queue, (now_ms + delay, self._seq, src, dst, data))

    def deliver(self, now_ms: float) -> list[tuple[str, str, bytes]]:
        """Messages that have arrived by `now_ms`, as (src, dst, data), in arrival order."""
        out = []
        while self._queue and self._queue[0][0] <= now_ms:
            _, _, src, dst, data = heapq.heappop(self._queue)
            out.append((src, dst, data))
        self.stats.delivered += len(out)
        return out
