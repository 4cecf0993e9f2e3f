"""Validation of the session's settings, once, at the edge: errors name the argument and the fix."""

from __future__ import annotations

import math
from typing import Any

from .timing import MAX_INPUT_DELAY, MIN_INPUT_DELAY
from .wire import MAX_SLOTS, PeerMessageError, normalize_action


def validate_settings(input_delay: int | None, frame_ms: float, max_frames: int | None, default_action: Any) -> Any:
    """Check the scalar settings; return the default action as peers will see it (normalized).

    Raises:
        ValueError: a setting is out of range; the message says which and how to fix it.
    """
    if input_delay is not None and not (
        isinstance(input_delay, int) and MIN_INPUT_DELAY <= input_delay <= MAX_INPUT_DELAY
    ):
        raise ValueError(
            f"input_delay={input_delay!r}: use an int in {MIN_INPUT_DELAY}..{MAX_INPUT_DELAY}, "
            "or None to choose it from the measured round trip"
        )
    if not (isinstance(frame_ms, int | float) and math.isfinite(frame_ms) and frame_ms > 0):
        raise ValueError(f"frame_ms={frame_ms!r}: use a positive number of milliseconds (1000 / fps)")
    if max_frames is not None and not (isinstance(max_frames, int) and max_frames >= 1):
        raise ValueError(f"max_frames={max_frames!r}: use a positive int, or None for no limit")
    try:
        return normalize_action(default_action)
    except PeerMessageError as exc:
        raise ValueError(f"default_action={default_action!r} cannot be sent to peers: {exc}") from None


def validate_slots(local_slots: list[int], slots: list[int], peers: dict[int, str]) -> tuple[int, ...]:
    """Check slots/peers/local_slots agree; return the slots, ascending.

    Raises:
        ValueError: inconsistent slots, peers or local slots.
    """
    if not slots or len(set(slots)) != len(slots):
        raise ValueError(f"slots={slots!r}: give each slot id once, at least one slot")
    if any(not isinstance(s, int) or not 0 <= s < MAX_SLOTS for s in slots):
        raise ValueError(f"slots={slots!r}: slot ids are ints in 0..{MAX_SLOTS - 1}")
    if set(peers) != set(slots):
        raise ValueError(f"peers={peers!r}: map every slot in {sorted(slots)} (and only those) to a peer id")
    if not local_slots or not set(local_slots) <= set(slots) or len(set(local_slots)) != len(local_slots):
        raise ValueError(f"local_slots={local_slots!r}: give one or more distinct slots from {sorted(slots)}")
    owners = {peers[s] for s in local_slots}
    if len(owners) != 1:
        raise ValueError(f"local_slots={local_slots!r} belong to several peers {sorted(owners)}; one peer is local")
    (me,) = owners
    mine = sorted(s for s in slots if peers[s] == me)
    if mine != sorted(local_slots):
        raise ValueError(f"peer {me!r} owns slots {mine}: list them all as local_slots")
    return tuple(sorted(slots))
