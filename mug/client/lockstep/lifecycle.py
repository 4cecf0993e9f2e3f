"""The session lifecycle: an enum with guarded transitions; an illegal transition raises."""

from __future__ import annotations

from enum import Enum


class SessionState(Enum):
    SYNCHRONIZING = "synchronizing"  # measuring round trips, agreeing on the input delay
    REJOINING = "rejoining"  # a reloaded page's session: waiting for the match so far from every peer
    RUNNING = "running"  # stepping frames
    ENDED = "ended"  # no more Steps (max_frames reached or a peer gone); still answers peers
    CLOSED = "closed"  # closed by the caller: inert


ALLOWED: dict[SessionState, frozenset[SessionState]] = {
    SessionState.SYNCHRONIZING: frozenset({SessionState.RUNNING, SessionState.ENDED, SessionState.CLOSED}),
    SessionState.REJOINING: frozenset({SessionState.RUNNING, SessionState.ENDED, SessionState.CLOSED}),
    SessionState.RUNNING: frozenset({SessionState.ENDED, SessionState.CLOSED}),
    SessionState.ENDED: frozenset({SessionState.CLOSED}),
    SessionState.CLOSED: frozenset(),
}


class IllegalTransition(RuntimeError):
    """A lifecycle step that the state machine does not allow (e.g. CLOSED -> RUNNING)."""


class Lifecycle:
    """Holds the current state and refuses transitions that `ALLOWED` does not list."""

    def __init__(self, state: SessionState = SessionState.SYNCHRONIZING) -> None:
        self.state = state

    def to(self, new: SessionState) -> None:
        """Move to `new`; raises IllegalTransition if that step is not allowed from the current state."""
        if new not in ALLOWED[self.state]:
            allowed = ", ".join(sorted(s.name for s in ALLOWED[self.state])) or "nothing"
            raise IllegalTransition(
                f"lockstep session cannot go from {self.state.name} to {new.name} (allowed: {allowed})"
            )
        self.state = new

    def require(self, *states: SessionState, action: str) -> None:
        """Raise IllegalTransition unless the state is one of `states` (used to guard API calls)."""
        if self.state not in states:
            names = "/".join(s.name for s in states)
            raise IllegalTransition(f"cannot {action} while the session is {self.state.name} (only {names})")
