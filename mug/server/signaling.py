"""Signaling relay rules: who may send WebRTC signaling to whom. Pure; the payload stays opaque.

Page -> server, event `signal` {v, to: int (a slot of the sender's match), kind, data} (`mug.server.wire.Signal`).
Server -> page, event `signal`: `mug.server.wire.SignalRelay` {kind, data (untouched), from: {pid, slot},
match_id}.

The relay checks the envelope only (shape, size, membership); it never reads `data`. A slot is always read
inside the sender's own match, so nobody can address a participant of another match. A page drops messages
whose `match_id` is not its current match (stale ones from an earlier match).
"""

from __future__ import annotations

import json
from typing import Any

from mug.server.lobby import Match, Matches
from mug.server.wire import SignalFrom, SignalRelay, WireError

KINDS = frozenset({"offer", "answer", "candidate", "bye"})
MAX_PAYLOAD_BYTES = 64 * 1024  # UTF-8 JSON of the payload as sent; SDP with many candidates stays well under

# Error codes (SignalingError.code).
BAD_PAYLOAD = "bad_payload"
TOO_LARGE = "payload_too_large"
NOT_IN_MATCH = "not_in_match"
MATCH_ENDED = "match_ended"
BAD_TARGET = "bad_target"
SELF_TARGET = "self_target"


class SignalingError(WireError):
    """A signaling message the relay refuses; `code` is one of this module's error codes."""


def _check_payload(payload: object) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise SignalingError(BAD_PAYLOAD, f"payload must be an object {{kind, data}}, got {type(payload).__name__}")
    if set(payload) != {"kind", "data"}:
        raise SignalingError(
            BAD_PAYLOAD,
            f"payload must have exactly the keys 'kind' and 'data', got {sorted(map(str, payload))}",
        )
    kind = payload["kind"]
    if not isinstance(kind, str) or kind not in KINDS:
        raise SignalingError(BAD_PAYLOAD, f"payload kind must be one of {sorted(KINDS)}, got {kind!r}")
    try:
        size = len(json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8"))
    except (TypeError, ValueError) as err:
        raise SignalingError(BAD_PAYLOAD, f"payload must be plain JSON: {err}") from None
    if size > MAX_PAYLOAD_BYTES:
        raise SignalingError(TOO_LARGE, f"payload is {size} bytes serialised; the limit is {MAX_PAYLOAD_BYTES}")
    return payload


def route(matches: Matches, sender_pid: str, target: int, payload: object) -> tuple[str, SignalRelay]:
    """Decide where one signaling message goes.

    Args:
        matches: the match registry.
        sender_pid: the authenticated sender (from the socket session, never from the message).
        target: the recipient's slot in the sender's match.
        payload: `{"kind": "offer" | "answer" | "candidate" | "bye", "data": <any JSON>}`.

    Returns:
        `(target_pid, message)`: who gets it, and the event to send them.

    Raises:
        SignalingError: `bad_payload`, `payload_too_large`, `not_in_match`, `match_ended`, `bad_target` or
            `self_target`.
    """
    match = matches.member_of(sender_pid)
    return route_match(match, None if match is None else matches.end_reason(match.id), sender_pid, target, payload)


def route_match(
    match: Match | None, ended: str | None, sender_pid: str, target: int, payload: object
) -> tuple[str, SignalRelay]:
    """`route`, given the sender's latest match (or None) and why it ended (None while it is live)."""
    body = _check_payload(payload)
    if match is None:
        raise SignalingError(NOT_IN_MATCH, "you are not in a match; join a lobby and wait for match_start")
    if ended is not None:
        raise SignalingError(MATCH_ENDED, f"match {match.id!r} has ended ({ended})")
    if isinstance(target, bool) or not isinstance(target, int):
        raise SignalingError(BAD_TARGET, f"target must be a slot number, got {target!r}")
    if not 0 <= target < len(match.members):
        raise SignalingError(BAD_TARGET, f"slot {target} does not exist; slots are 0..{len(match.members) - 1}")
    target_pid = match.members[target]
    if target_pid == sender_pid:
        raise SignalingError(SELF_TARGET, "you cannot signal yourself")
    sender = SignalFrom(pid=sender_pid, slot=match.slot_of(sender_pid))
    relayed = SignalRelay.model_validate(
        {"kind": body["kind"], "data": body["data"], "from": sender, "match_id": match.id}
    )
    return target_pid, relayed
