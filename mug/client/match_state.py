"""The match runner's lifecycle: an enum with guarded transitions; an illegal transition raises.

The values are what the page sees (`worker_protocol.js` `MatchState`); `MatchState` is a `StrEnum`, so a
state compares equal to its text and JSON-encodes as it.

    synchronizing -> running <-> pause;  running -> finished -> done;
    synchronizing | running | pause -> peer_gone
"""

from __future__ import annotations

from enum import StrEnum


class MatchState(StrEnum):
    SYNCHRONIZING = "synchronizing"  # the lockstep session agrees on the input delay
    RUNNING = "running"  # stepping the env, one lockstep frame at a time
    PAUSE = "pause"  # between episodes: lockstep frames pass with no env step
    FINISHED = "finished"  # the last episode ended; still polled so peers catch up
    DONE = "done"  # every peer caught up (or the linger time passed): the connections may close
    PEER_GONE = "peer_gone"  # a peer left before the end


ALLOWED: dict[MatchState, frozenset[MatchState]] = {
    MatchState.SYNCHRONIZING: frozenset({MatchState.RUNNING, MatchState.PEER_GONE}),
    MatchState.RUNNING: frozenset({MatchState.PAUSE, MatchState.FINISHED, MatchState.PEER_GONE}),
    MatchState.PAUSE: frozenset({MatchState.RUNNING, MatchState.PEER_GONE}),
    MatchState.FINISHED: frozenset({MatchState.DONE}),
    MatchState.DONE: frozenset(),
    MatchState.PEER_GONE: frozenset(),
}

PLAYING = frozenset({MatchState.SYNCHRONIZING, MatchState.RUNNING, MatchState.PAUSE})
"""The states in which the local input is sent and a peer's departure ends the match."""


class IllegalMatchTransition(RuntimeError):
    """A match state change that `ALLOWED` does not list (e.g. done -> running)."""


class MatchLifecycle:
    """Holds the match's state and refuses transitions that `ALLOWED` does not list."""

    def __init__(self) -> None:
        self.state = MatchState.SYNCHRONIZING

    def to(self, new: MatchState) -> None:
        """Move to `new`; raises IllegalMatchTransition if that step is not allowed from the current state."""
        if new not in ALLOWED[self.state]:
            allowed = ", ".join(sorted(s.value for s in ALLOWED[self.state])) or "nothing"
            raise IllegalMatchTransition(f"match cannot go from {self.state.value} to {new.value} (allowed: {allowed})")
        self.state = new
