"""Checksum exchange and desync detection.

Each peer reports the outcome checksum of every frame it steps, in order; it travels as a 32-bit wire
checksum (`wire.wire_checksum`). Checksums ride in INPUTS messages with their own acknowledgement, like
inputs. For each remote peer, frames are compared in order as soon as both sides are known; a Desync is
raised at the first differing frame of each divergence (a run of differing frames counts once, a later run
after agreement again counts again).

Unlike inputs, checksums gate nobody's progress: they only have to arrive, not at once. So a message does
not repeat every unacknowledged checksum: it carries the frames never sent to that peer plus the last
CHECKSUM_REDUNDANCY_FRAMES sent (a single lost message is repaired by the next one), and if the oldest
unacknowledged frame was sent longer than a round trip and CHECKSUM_REPAIR_MARGIN_MS ago, sending goes back
to it (go-back-N; the receiver keeps checksums that arrive out of order, so its acknowledgement then jumps).
"""

from __future__ import annotations

from .requests import Desync
from .timing import CHECKSUM_REDUNDANCY_FRAMES, CHECKSUM_REPAIR_MARGIN_MS, RESEND_INTERVAL_MS
from .wire import checksum_hex


class RemoteChecksums:
    """What one remote peer told us, how far we compared, and what we sent them."""

    def __init__(self) -> None:
        self.frames: dict[int, int] = {}
        self.frontier = 0  # next checksum frame we need from them (what we acknowledge)
        self.their_ack = 0  # next checksum frame they need from us
        self.compared = 0  # next frame to compare
        self.diverged = False
        self.next_send = 0  # frames below this were sent to them at least once (since the last go-back)
        self.sent_ms: dict[int, float] = {}  # frame -> when it was last sent, for frames not acknowledged

    def receive(self, start: int, checksums: tuple[int, ...], horizon: int) -> bool:
        """Store received checksums (frames below `horizon` only); True if the frontier advanced."""
        for i, value in enumerate(checksums):
            f = start + i
            if self.compared <= f < horizon and f not in self.frames:
                self.frames[f] = value
        before = self.frontier
        while self.frontier in self.frames:
            self.frontier += 1
        return self.frontier != before

    def acknowledged(self, ack: int) -> None:
        """They need checksum frame `ack` next (all earlier ones arrived)."""
        if ack > self.their_ack:
            self.their_ack = ack
            for f in [f for f in self.sent_ms if f < ack]:
                del self.sent_ms[f]
        self.next_send = max(self.next_send, self.their_ack)


class ChecksumExchange:
    """Local checksums, one `RemoteChecksums` per peer, and the comparison between them."""

    def __init__(self, peers: list[str]) -> None:
        self.local: dict[int, int] = {}
        self.next_local = 0
        self.remote = {p: RemoteChecksums() for p in peers}
        self.desync_frames: list[int] = []

    def report(self, frame: int, checksum: int) -> None:
        if frame != self.next_local:
            raise ValueError(
                f"report_checksum(frame={frame}) out of order: expected frame {self.next_local}; "
                "report the checksum of every stepped frame, in order"
            )
        self.local[frame] = checksum
        self.next_local += 1

    def window(self, peer: str, limit: int, now: float, rtt_ms: float | None) -> tuple[int, tuple[int, ...]]:
        """The checksums the next message to `peer` carries, as (first frame, values); see `sent`.

        Args:
            peer: the recipient.
            limit: at most this many frames.
            now: the current time (ms).
            rtt_ms: the round trip to `peer` (None: not measured yet).
        """
        r = self.remote[peer]
        oldest = r.sent_ms.get(r.their_ack)
        wait = (rtt_ms if rtt_ms is not None else RESEND_INTERVAL_MS) + CHECKSUM_REPAIR_MARGIN_MS
        if r.their_ack < r.next_send and (oldest is None or now - oldest >= wait):
            r.next_send = r.their_ack  # go back: the oldest unacknowledged frame was lost (or its ack was)
        start = max(r.their_ack, r.next_send - CHECKSUM_REDUNDANCY_FRAMES)
        end = min(self.next_local, start + limit)
        return start, tuple(self.local[f] for f in range(start, end))

    def sent(self, peer: str, start: int, count: int, now: float) -> None:
        """The window starting at `start` with `count` frames went to `peer` at `now`."""
        r = self.remote[peer]
        for f in range(start, start + count):
            r.sent_ms[f] = now
        r.next_send = max(r.next_send, start + count)

    def compare(self, peer: str) -> list[Desync]:
        """Compare frames known on both sides, in frame order; return new Desync requests."""
        r = self.remote[peer]
        found = []
        while r.compared in r.frames and r.compared in self.local:
            f = r.compared
            remote, local = r.frames.pop(f), self.local[f]
            if remote != local and not r.diverged:
                found.append(Desync(frame=f, local=checksum_hex(local), remote=checksum_hex(remote), peer=peer))
                if f not in self.desync_frames:
                    self.desync_frames.append(f)
                    self.desync_frames.sort()
            r.diverged = remote != local
            r.compared += 1
        return found

    def forget(self, live_peers: list[str]) -> None:
        """Drop local checksums every live peer has both received and compared against."""
        if not live_peers:
            floor = self.next_local
        else:
            floor = min(min(self.remote[p].their_ack, self.remote[p].compared) for p in live_peers)
        for f in [f for f in self.local if f < floor]:
            del self.local[f]
