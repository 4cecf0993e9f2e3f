"""Input queues: this peer's inputs (pending, then sealed per frame) and each remote peer's received inputs.

Frames below the input delay D carry the default action on every peer and never cross the wire, so the
first frame that is sealed, sent and acknowledged is D.
"""

from __future__ import annotations

from typing import Any

Action = Any

RECEIVE_AHEAD_FRAMES = 256
"""Inputs further than this beyond our next frame are dropped: no honest peer can be that far ahead
(a peer is never more than about 2 x MAX_INPUT_DELAY frames ahead), so this bounds memory."""


class LocalInputs:
    """This peer's inputs for its own slots: added freely, sealed once per frame, then immutable.

    Args:
        slots: this peer's slots, ascending.
        default_action: the action of a slot that got no input for a frame.
    """

    def __init__(self, slots: tuple[int, ...], default_action: Action) -> None:
        self.slots = slots
        self.default_action = default_action
        # slot -> [(frame the input was taken at, or None for "now"), action]
        self._pending: dict[int, list[tuple[int | None, Action]]] = {s: [] for s in slots}
        self.sealed: dict[int, tuple[Action, ...]] = {}
        self.seal_times: dict[int, float] = {}
        self.delay = 0
        self.next_seal = 0

    def start(self, input_delay: int) -> None:
        """The delay is agreed: frames below it are implicit defaults, sealing starts at frame D."""
        self.delay = input_delay
        self.next_seal = input_delay

    def add(self, slot: int, action: Action, taken_at: int | None) -> None:
        """Queue `action` for `slot`, taken at frame `taken_at` (None: the next frame to be sealed)."""
        queue = self._pending[slot]
        if taken_at is None and queue and queue[-1][0] is None:
            queue[-1] = (None, action)  # the latest "now" input wins anyway; keep the queue short
        else:
            queue.append((taken_at, action))

    def seal_through(self, frame: int, now_ms: float) -> bool:
        """Seal every frame up to and including `frame`; returns True if anything was sealed.

        The latest pending input whose target is due (or unspecified) wins; a late input (its frame is
        already sealed) goes to the next frame sealed, so no keypress is lost.
        """
        sealed_any = False
        while self.next_seal <= frame:
            f = self.next_seal
            row = []
            for slot in self.slots:
                due = [a for (t, a) in self._pending[slot] if t is None or t + self.delay <= f]
                row.append(due[-1] if due else self.default_action)
                if due:
                    self._pending[slot] = [
                        (t, a) for (t, a) in self._pending[slot] if t is not None and t + self.delay > f
                    ]
            self.sealed[f] = tuple(row)
            self.seal_times[f] = now_ms
            self.next_seal += 1
            sealed_any = True
        return sealed_any

    def window(self, start: int, limit: int) -> tuple[tuple[Action, ...], ...]:
        """The sealed inputs of frames start, start+1, ... (at most `limit` frames)."""
        rows: list[tuple[Action, ...]] = []
        f = start
        while f < self.next_seal and len(rows) < limit:
            rows.append(self.sealed[f])
            f += 1
        return tuple(rows)

    def forget_before(self, frame: int) -> None:
        """Drop sealed inputs below `frame` (stepped here and acknowledged by every live peer)."""
        for f in [f for f in self.sealed if f < frame]:
            del self.sealed[f]
            self.seal_times.pop(f, None)


class RemoteInputs:
    """Inputs received from one remote peer (for all of its slots), with the contiguous frontier we ack."""

    def __init__(self, slots: tuple[int, ...]) -> None:
        self.slots = slots
        self.frames: dict[int, tuple[Action, ...]] = {}
        self.frontier: int | None = None  # next frame we still need; None until the delay is agreed

    def start(self, input_delay: int) -> None:
        """The delay is agreed: frames below it are implicit, so the frontier starts at D."""
        self.frontier = input_delay
        self._advance()

    def receive(self, start: int, rows: tuple[tuple[Action, ...], ...], horizon: int) -> bool:
        """Store rows for frames start, start+1, ... below `horizon`; the first copy of a frame wins.

        Returns:
            True if the frontier advanced (we owe the peer an acknowledgement).
        """
        floor = self.frontier if self.frontier is not None else 0
        for i, row in enumerate(rows):
            f = start + i
            if floor <= f < horizon and f not in self.frames:
                self.frames[f] = row
        before = self.frontier
        self._advance()
        return self.frontier != before

    def _advance(self) -> None:
        if self.frontier is None:
            return
        while self.frontier in self.frames:
            self.frontier += 1

    def forget_before(self, frame: int) -> None:
        for f in [f for f in self.frames if f < frame]:
            del self.frames[f]
