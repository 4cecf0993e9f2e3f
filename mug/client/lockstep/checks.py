"""Checksum exchange and desync detection.

Each peer reports the outcome checksum of every frame it steps, in order. Checksums travel in INPUTS
messages with their own acknowledgement, like inputs. For each remote peer, frames are compared in order as
soon as both sides are known; a Desync is raised at the first differing frame of each divergence (a run of
differing frames counts once, a later run after agreement again counts again).
"""

from __future__ import annotations

from .requests import Desync


class RemoteChecksums:
    """What one remote peer told us, and how far we compared."""

    def __init__(self) -> None:
        self.frames: dict[int, str] = {}
        self.frontier = 0  # next checksum frame we need from them (what we acknowledge)
        self.their_ack = 0  # next checksum frame they need from us
        self.compared = 0  # next frame to compare
        self.diverged = False

    def receive(self, start: int, checksums: tuple[str, ...], horizon: int) -> bool:
        """Store received checksums (frames below `horizon` only); True if the frontier advanced."""
        for i, text in enumerate(checksums):
            f = start + i
            if self.compared <= f < horizon and f not in self.frames:
                self.frames[f] = text
        before = self.frontier
        while self.frontier in self.frames:
            self.frontier += 1
        return self.frontier != before


class ChecksumExchange:
    """Local checksums, one `RemoteChecksums` per peer, and the comparison between them."""

    def __init__(self, peers: list[str]) -> None:
        self.local: dict[int, str] = {}
        self.next_local = 0
        self.remote = {p: RemoteChecksums() for p in peers}
        self.desync_frames: list[int] = []

    def report(self, frame: int, checksum: str) -> None:
        if frame != self.next_local:
            raise ValueError(
                f"report_checksum(frame={frame}) out of order: expected frame {self.next_local}; "
                "report the checksum of every stepped frame, in order"
            )
        self.local[frame] = checksum
        self.next_local += 1

    def window(self, peer: str, limit: int) -> tuple[int, tuple[str, ...]]:
        start = self.remote[peer].their_ack
        rows: list[str] = []
        f = start
        while f < self.next_local and len(rows) < limit:
            rows.append(self.local[f])
            f += 1
        return start, tuple(rows)

    def compare(self, peer: str) -> list[Desync]:
        """Compare frames known on both sides, in frame order; return new Desync requests."""
        r = self.remote[peer]
        found = []
        while r.compared in r.frames and r.compared in self.local:
            f = r.compared
            remote, local = r.frames.pop(f), self.local[f]
            if remote != local and not r.diverged:
                found.append(Desync(frame=f, local=local, remote=remote, peer=peer))
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
