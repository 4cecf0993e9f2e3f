"""Rejoining a running match: what a peer that kept playing hands a peer whose page was reloaded.

Choice: replay, not a snapshot. Every peer keeps the actions of every frame it stepped and its checksum of
each (`MatchLog`); a rejoining peer gets them from each peer (`History`, over the reliable channel), steps its
fresh environment through them from the match seed (`Step(replay=True)`), compares its checksum of every
replayed frame with theirs (a mismatch is a `Desync`, as in live play), and carries on live from the
frame where the others stand. Replay works for any deterministic environment, which lockstep requires
anyway; a snapshot would need every environment (and every policy's generator) to be serialisable, and
would have to be trusted blindly instead of checked frame by frame. The cost is replay time: about the
environment's steps per second in Pyodide (tens of thousands of frames per second for small games).

Inputs a peer sealed but nobody received die with its page: they never happened. Inputs that some peer
holds are facts: the rejoining peer takes its own inputs back from the histories (`pending`), so a frame
some peer already stepped is stepped with the same actions everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .wire import History, HistoryChunk, PeerMessageError, decode_history


@dataclass
class MatchLog:
    """The actions of every frame stepped so far (one per slot, ascending slots) and our checksum of each."""

    steps: list[tuple[Any, ...]] = field(default_factory=list)
    checksums: list[int] = field(default_factory=list)

    def history(self, frame: int, input_delay: int, pending: dict[int, tuple[Any, ...]]) -> History:
        return History(frame, input_delay, tuple(self.steps[:frame]), tuple(self.checksums[:frame]), pending)


@dataclass
class Reassembly:
    """The HISTORY chunks of one peer's answer to our REJOIN (chunks arrive in order: reliable channel)."""

    nonce: int
    parts: list[bytes] = field(default_factory=list)
    total: int | None = None

    def add(self, chunk: HistoryChunk) -> bool:
        """Take a chunk; True once the last one is in. Raises PeerMessageError on a stale or out-of-order one."""
        if chunk.nonce != self.nonce:
            raise PeerMessageError(f"history for rejoin {chunk.nonce}, expected {self.nonce}")
        if self.total is None:
            self.total = chunk.total
        if chunk.total != self.total or chunk.index != len(self.parts):
            raise PeerMessageError(f"history chunk {chunk.index} of {chunk.total} out of order")
        self.parts.append(chunk.data)
        return len(self.parts) == self.total

    def history(self, slots: tuple[int, ...]) -> History:
        return decode_history(b"".join(self.parts), slots)


@dataclass(frozen=True)
class ResumePlan:
    """Where a rejoining peer resumes, worked out from every peer's history.

    Attributes:
        frame: the frame play resumes at (the furthest any peer got); frames below it are replayed.
        input_delay: the match's agreed delay.
        steps: the actions of frames 0..frame-1 (from the peer that got furthest).
        local: our own slots' sealed inputs by frame, from the lowest frame any peer still needs them.
        remote: peer -> its slots' inputs by frame from `frame` on.
        peer_frame: peer -> the frame that peer stands at (we send it our inputs from there).
    """

    frame: int
    input_delay: int
    steps: tuple[tuple[Any, ...], ...]
    local: dict[int, tuple[Any, ...]]
    remote: dict[str, dict[int, tuple[Any, ...]]]
    peer_frame: dict[str, int]


def plan_resume(
    histories: dict[str, History],
    slots: tuple[int, ...],
    local_slots: tuple[int, ...],
    owned: dict[str, tuple[int, ...]],
) -> ResumePlan:
    """Combine the histories of every remote peer into one resume point.

    Raises:
        PeerMessageError: histories that contradict each other (different delays, or different actions
            for a frame both stepped).
    """
    delays = {h.input_delay for h in histories.values()}
    if len(delays) != 1:
        raise PeerMessageError(f"peers report different input delays {sorted(delays)}")
    delay = delays.pop()
    longest = max(histories.values(), key=lambda h: h.frame)
    for peer, h in histories.items():
        if h.steps != longest.steps[: h.frame]:
            raise PeerMessageError(f"the history of {peer} differs from another peer's")
    frame = longest.frame
    low = min(h.frame for h in histories.values())
    index = {s: i for i, s in enumerate(slots)}

    def inputs_of(slot_group: tuple[int, ...], source: dict[str, History]) -> dict[int, tuple[Any, ...]]:
        # frames already stepped somewhere: from the longest history's actions; later ones: pending inputs
        by_frame: dict[int, tuple[Any, ...]] = {}
        for f in range(max(low, delay), frame):
            by_frame[f] = tuple(longest.steps[f][index[s]] for s in slot_group)
        for h in source.values():
            if all(s in h.pending for s in slot_group):
                for i in range(min(len(h.pending[s]) for s in slot_group)):
                    by_frame.setdefault(h.frame + i, tuple(h.pending[s][i] for s in slot_group))
        return by_frame

    local = inputs_of(local_slots, histories)
    remote = {p: {f: a for f, a in inputs_of(s, {p: histories[p]}).items() if f >= frame} for p, s in owned.items()}
    return ResumePlan(frame, delay, longest.steps, local, remote, {p: h.frame for p, h in histories.items()})
