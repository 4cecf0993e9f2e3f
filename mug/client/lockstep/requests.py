"""What `LockstepSession.poll` asks its caller to do: a closed set of request types (after GGRS)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Send:
    """Send `data` to `peer`: over the unreliable, unordered data channel, or, when `reliable`, over the
    reliable, ordered one (the rejoin handshake: REJOIN and HISTORY messages)."""

    peer: str
    data: bytes
    reliable: bool = False


@dataclass(frozen=True, slots=True)
class Ready:
    """Synchronization is done; every peer uses `input_delay` frames. Steps follow."""

    input_delay: int


@dataclass(frozen=True, slots=True)
class Step:
    """Step the environment for `frame` with these actions: every slot, in ascending slot order.

    Frames come in order, each exactly once, with identical actions on every peer. After stepping, report
    the outcome with `report_checksum(frame, checksum)`.
    """

    frame: int
    actions: dict[int, Any]
    replay: bool = False
    """True for the frames a rejoining peer replays from a history (already played by the others): step
    them as fast as possible, without rendering; live frames follow."""


@dataclass(frozen=True, slots=True)
class Stalled:
    """Frame `frame` is due but the inputs of `waiting_for` (slots, ascending) have not arrived.

    Emitted once when a stall starts; the next Step ends it.
    """

    frame: int
    waiting_for: list[int]


@dataclass(frozen=True, slots=True)
class Desync:
    """The outcome checksum of `frame` differs between this peer (`local`) and `peer` (`remote`).

    Both are the 32-bit wire checksums peers compare (`wire.wire_checksum` of the reported text), as 8 hex
    characters.

    Emitted at the first differing frame of each divergence (frames are compared in order); the session
    keeps running, the caller decides what to do.
    """

    frame: int
    local: str
    remote: str
    peer: str


@dataclass(frozen=True, slots=True)
class PeerGone:
    """`peer` left (transport said so, or silence for PEER_TIMEOUT_MS). The session has ended.

    `last_confirmed_frame` is the last frame for which every input was known here (-1 if none); no Step
    beyond it was or will be emitted.
    """

    peer: str
    last_confirmed_frame: int


@dataclass(frozen=True, slots=True)
class PeerAway:
    """`peer` has been silent for PEER_TIMEOUT_MS, or the transport lost it, while the session has a
    reconnect grace period: the match pauses (it stalls at the frame that needs its inputs) for up to
    `grace_ms`; `PeerBack` follows if it returns, `PeerGone` if not."""

    peer: str
    frame: int
    grace_ms: float


@dataclass(frozen=True, slots=True)
class PeerBack:
    """`peer` is heard again after `away_ms` away (its connection came back, or its reloaded page rejoined
    and was handed the match so far: `rejoined`)."""

    peer: str
    away_ms: float
    rejoined: bool


Request = Send | Ready | Step | Stalled | Desync | PeerGone | PeerAway | PeerBack
