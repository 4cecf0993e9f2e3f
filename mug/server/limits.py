"""Every limit the server edge enforces, with its reason, and the small mechanisms that enforce them.

Per connection (enforced in `mug.server.edge` before any handler runs, and below it in `mug.server.websocket`):

- at most `MAX_PACKET_BYTES` in one packet: a larger one closes the connection;

- a token bucket of events and one of bytes: a client over either gets the error ack `rate_limited`; a client
  that keeps sending while refused (it spends its `REFUSALS_BEFORE_DISCONNECT` strikes) is disconnected;
- at most `MAX_QUEUED_PACKETS` packets waiting to be written to a socket: a peer that does not read what it
  is sent is disconnected instead of being buffered for.

Per participant and per client address (enforced in `mug.server.handlers`, configurable in `mug.settings`):

- `new_participants_per_minute` participants created per client address in any 60 seconds, counted across
  every server process when they share Redis (`LiveState.take`);
- `max_stored_bytes` bytes of step rows, events and match reports stored per participant (see `row_bytes`,
  `event_bytes`).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from mug.server.store import Store, dumps
from mug.server.tables import events, match_reports, steps
from mug.server.wire import WireError

# A page sends a batch of records at most once a second, a few bookkeeping events per episode, and during
# WebRTC set-up an offer or answer and about a dozen candidates per peer: a full mesh of 8 sends ~100
# signals within a second or two. A page catching up after a reconnection sends its stored batches back to
# back, one per acknowledgement, and retries a `rate_limited` refusal after a pause.
EVENTS_PER_S = 50.0
EVENT_BURST = 200
# A 30 fps game of 8 agents records ~240 rows/s, ~75 kB/s of JSON; a catch-up sends what the page kept in
# localStorage (at most ~5 MB) as fast as it is acknowledged. Eight full-size (1 MB) messages may come at once.
BYTES_PER_S = 1_000_000.0
BYTE_BURST = 8_000_000
# Refusals a connection may collect (refilled at REFUSALS_PER_S) before it is disconnected: a page that hit
# the limit by accident backs off long before; a client that ignores the refusals is flooding.
REFUSALS_BEFORE_DISCONNECT = 100
REFUSALS_PER_S = 2.0
# Packets waiting in a socket's outgoing queue. A reading page's queue is emptied as fast as the kernel takes
# the data, so packets wait only once the socket's kernel buffers (hundreds of kB) are full: the page is
# that far behind. Signals are at most 64 KiB, so a slow reader holds at most ~6.5 MB before it is dropped.
MAX_QUEUED_PACKETS = 100

# One Engine.IO packet (one websocket message, decompressed, or one polling request body): a larger one closes
# the connection (websocket close code 1009) before anything decodes it; smaller oversized messages get an
# error acknowledgement from the handlers (mug.server.wire.MAX_MESSAGE_BYTES, 1 MB of JSON). python-engineio
# checks it for polling (`max_http_buffer_size`); under ASGI it does not look at websocket messages, so
# mug.server.websocket gives it to uvicorn's protocol as `max_size` (uvicorn's own default is 16 MiB).
MAX_PACKET_BYTES = 4_000_000

# Bytes counted for the fixed-size columns of a stored step row (ids, numbers, flags, times) and event.
ROW_OVERHEAD_BYTES = 96
EVENT_OVERHEAD_BYTES = 64

# Defaults of the configurable quotas (mug.settings; MUG_NEW_PARTICIPANTS_PER_MINUTE, MUG_MAX_STORED_BYTES).
# A lab session or a panel wave behind one NAT starts a few dozen participants at once.
NEW_PARTICIPANTS_PER_MINUTE = 120
# A 30-minute game at 30 fps with 2 agents is 30*60*30*2 = 108,000 rows. A row of a small action, a float
# reward and a small info dict counts ~135 bytes: 15 MB, a 17th of the quota; one with 1 kB of info counts
# ~1.13 kB: 122 MB, half of it (tests/server/test_limits.py checks both). Events add a few kB.
MAX_STORED_BYTES = 256_000_000


@dataclass(frozen=True)
class Limits:
    """The limits one server applies (defaults: the constants above; quotas from the settings)."""

    events_per_s: float = EVENTS_PER_S
    event_burst: int = EVENT_BURST
    bytes_per_s: float = BYTES_PER_S
    byte_burst: int = BYTE_BURST
    refusals_before_disconnect: int = REFUSALS_BEFORE_DISCONNECT
    refusals_per_s: float = REFUSALS_PER_S
    max_queued_packets: int = MAX_QUEUED_PACKETS
    new_participants_per_minute: int = NEW_PARTICIPANTS_PER_MINUTE
    max_stored_bytes: int = MAX_STORED_BYTES


class TokenBucket:
    """`capacity` tokens, refilled at `rate` per second; `take(n)` spends n if there are that many."""

    __slots__ = ("capacity", "rate", "stamp", "tokens")  # three per connection

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self.tokens = capacity
        self.stamp = now

    def take(self, n: float, now: float) -> bool:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if n > self.tokens:
            return False
        self.tokens -= n
        return True


@dataclass(slots=True)
class Flow:
    """One connection's buckets."""

    events: TokenBucket
    data: TokenBucket
    refusals: TokenBucket


class RateLimiter:
    """Token buckets per connection: `admit(sid, size)` says whether one event of `size` bytes may pass."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.flows: dict[str, Flow] = {}

    def _flow(self, sid: str, now: float) -> Flow:
        flow = self.flows.get(sid)
        if flow is None:
            lim = self.limits
            flow = Flow(
                TokenBucket(lim.events_per_s, lim.event_burst, now),
                TokenBucket(lim.bytes_per_s, lim.byte_burst, now),
                TokenBucket(lim.refusals_per_s, lim.refusals_before_disconnect, now),
            )
            self.flows[sid] = flow
        return flow

    def admit(self, sid: str, size: int, now: float | None = None) -> None:
        """Spend one event and `size` bytes of `sid`'s allowance.

        Raises:
            WireError: `rate_limited` (the event is refused).
            Flooding: the connection keeps sending while refused; disconnect it.
        """
        now = time.monotonic() if now is None else now
        flow = self._flow(sid, now)
        if not flow.events.take(1, now):
            what = f"more than {self.limits.events_per_s:g} events a second"
        elif not flow.data.take(size, now):
            what = f"more than {self.limits.bytes_per_s:g} bytes a second"
        else:
            return
        if not flow.refusals.take(1, now):
            raise Flooding(sid)
        raise WireError("rate_limited", f"{what} (after a burst); wait a moment and send it again")

    def forget(self, sid: str) -> None:
        self.flows.pop(sid, None)


class Flooding(Exception):
    """A connection that ignored its `rate_limited` refusals."""


class WindowCounter:
    """Events per key in any window of `window_s` seconds (a sliding log): the in-process counter behind
    `LiveState.take` (`mug.server.live_redis` keeps the same log in Redis, shared by every process)."""

    def __init__(self) -> None:
        self.logs: dict[tuple[str, str], deque[float]] = {}

    def take(self, bucket: str, key: str, limit: int, window_s: float, now: float | None = None) -> int | None:
        """Count one event for `key`, or, when it already had `limit` in the window, count nothing and return
        how many it had. None: counted."""
        now = time.monotonic() if now is None else now
        stamps = self.logs.setdefault((bucket, key), deque())
        while stamps and stamps[0] <= now - window_s:
            stamps.popleft()
        if len(stamps) >= limit:
            return len(stamps)
        stamps.append(now)
        if len(self.logs) > 10_000:  # keys whose window has passed are forgotten
            for old in [k for k, s in self.logs.items() if not s or s[-1] <= now - window_s]:
                del self.logs[old]
        return None


def quota_refused(had: int, limit: int) -> WireError:
    """The refusal of a new participant from an address that had its share of the last minute."""
    return WireError(
        "quota_exceeded",
        f"{had} participants were created from your address in the last minute; the limit is {limit}: "
        "try again in a minute",
    )


@dataclass
class StorageQuota:
    """Bytes stored per participant: loaded from the database at hello, counted as rows are stored."""

    max_bytes: int
    used: dict[str, int] = field(default_factory=dict)

    def check(self, pid: str, more: int) -> None:
        """Raise `quota_exceeded` if storing `more` bytes would take `pid` over the quota."""
        used = self.used.get(pid, 0)
        if used + more > self.max_bytes:
            raise WireError(
                "quota_exceeded",
                f"this participant has {used} bytes stored; {more} more would pass the limit of {self.max_bytes}",
            )

    def add(self, pid: str, stored: int) -> None:
        """Count `stored` more bytes for a participant this process counts; one it has dropped (they left it
        while the store was under way) is counted afresh from the database when they come back."""
        if pid in self.used:
            self.used[pid] += stored


def row_bytes(action: str, reward: str, info: str, agent: str, obs_checksum: str | None) -> int:
    """Bytes a stored step row counts: its JSON and text columns plus the fixed-size ones."""
    return len(action) + len(reward) + len(info) + len(agent) + len(obs_checksum or "") + ROW_OVERHEAD_BYTES


def event_bytes(kind: str, data: str) -> int:
    """Bytes a stored event (or match report) counts."""
    return len(kind) + len(data) + EVENT_OVERHEAD_BYTES


def rows_bytes(rows: Iterable[dict[str, Any]]) -> list[int]:
    """`row_bytes` of step rows as the store will write them."""
    return [
        row_bytes(
            dumps(r.get("action")),
            dumps(r.get("reward")),
            dumps(r.get("info")),
            r.get("agent") or "",
            r.get("obs_checksum"),
        )
        for r in rows
    ]


async def stored_bytes(store: Store, pid: str) -> int:
    """What a participant has stored so far (steps, events, match reports), counted as `row_bytes` and
    `event_bytes` do (at hello)."""
    text = func.coalesce
    row = (
        func.length(text(steps.c.action, ""))
        + func.length(text(steps.c.reward, ""))
        + func.length(text(steps.c.info, ""))
        + func.length(text(steps.c.agent, ""))
        + func.length(text(steps.c.obs_checksum, ""))
        + ROW_OVERHEAD_BYTES
    )
    event = func.length(events.c.kind) + func.length(text(events.c.data, "")) + EVENT_OVERHEAD_BYTES
    report = func.length(match_reports.c.kind) + func.length(match_reports.c.data) + EVENT_OVERHEAD_BYTES
    async with store.engine.connect() as conn:
        total = 0
        for table, size in ((steps, row), (events, event), (match_reports, report)):
            query = select(func.sum(size)).where(table.c.participant_id == pid)
            total += int((await conn.execute(query)).scalar() or 0)
    return total
