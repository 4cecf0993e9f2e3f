"""ICE settings for the browser: STUN/TURN servers and TURN credentials (static or minted).

Pure functions, no I/O and no clock reads: the caller passes `now` (seconds since the epoch, because minted
credentials carry an absolute expiry that the TURN server checks against its own wall clock).

`ice_config` returns the JSON the page passes to `new RTCPeerConnection(...)`, field by field:

- `iceServers`: list of `{"urls": [str]}` (STUN, when any) and `{"urls": [str], "username": str,
  "credential": str}` (TURN, when configured).
- `iceTransportPolicy`: `"relay"` when `force_relay`, else `"all"`. Browsers ignore unknown keys.
- `expiresAt`: epoch seconds after which minted TURN credentials stop working (ask again before then), or
  `null` for static credentials and STUN only. Not an RTCConfiguration field; the page strips or ignores it.

Minted credentials follow the TURN REST scheme that coturn checks with `--use-auth-secret
--static-auth-secret=SECRET`: username `"{expiry}:{participant_id}"` (expiry in integer epoch seconds),
credential `base64(HMAC-SHA1(SECRET, username))`. coturn refuses a username whose expiry is in the past.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from mug.configurations.remote import WebRTCConfig

# RFC 8489 limits the USERNAME attribute to 513 bytes; keep well under it with the "expiry:" prefix.
MAX_PARTICIPANT_ID_BYTES = 400


@dataclass(frozen=True, slots=True)
class TurnCredentials:
    """One participant's TURN REST credentials.

    Attributes:
        username: `"{expires_at}:{participant_id}"`.
        credential: base64 HMAC-SHA1 of `username` keyed with the shared secret.
        expires_at: integer epoch seconds after which the TURN server refuses them.
    """

    username: str
    credential: str
    expires_at: int


def turn_rest_credential(secret: str, username: str) -> str:
    """The TURN REST password for `username`: base64(HMAC-SHA1(secret, username)).

    Args:
        secret: coturn's `static-auth-secret`.
        username: the full TURN username, `"{expiry}:{participant_id}"`.

    Returns:
        The credential as ASCII base64 text.
    """
    digest = hmac.new(secret.encode("utf-8"), username.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def mint_turn_credentials(secret: str, participant_id: str, now: float, ttl_s: int) -> TurnCredentials:
    """Mint time-limited TURN credentials for one participant.

    Args:
        secret: coturn's `static-auth-secret`.
        participant_id: who they are for; shows up in coturn's logs and session list.
        now: current time, epoch seconds.
        ttl_s: lifetime in seconds.

    Returns:
        The credentials, valid until `int(now) + ttl_s`.

    Raises:
        ValueError: `participant_id` is empty or longer than `MAX_PARTICIPANT_ID_BYTES` bytes (UTF-8).
    """
    if not participant_id or len(participant_id.encode("utf-8")) > MAX_PARTICIPANT_ID_BYTES:
        raise ValueError(
            f"participant_id must be 1 to {MAX_PARTICIPANT_ID_BYTES} bytes to fit a TURN username, "
            f"got {len(participant_id.encode('utf-8'))}"
        )
    if ttl_s <= 0:
        raise ValueError(f"ttl_s must be positive, got {ttl_s}")
    expires_at = int(now) + int(ttl_s)
    username = f"{expires_at}:{participant_id}"
    return TurnCredentials(username, turn_rest_credential(secret, username), expires_at)


def verify_turn_rest(secret: str, username: str, credential: str, now: float) -> bool:
    """Check TURN REST credentials the way coturn does.

    Args:
        secret: coturn's `static-auth-secret`.
        username: `"{expiry}:{participant_id}"`.
        credential: the password presented.
        now: current time, epoch seconds.

    Returns:
        True when the credential matches and the expiry is not in the past (coturn refuses `expiry < now`).
    """
    head, sep, _ = username.partition(":")
    if not sep or not head.isascii() or not head.isdigit():
        return False
    if int(head) < now:
        return False
    return hmac.compare_digest(turn_rest_credential(secret, username).encode("ascii"), credential.encode("utf-8"))


def ice_config(webrtc: WebRTCConfig, participant_id: str, now: float) -> dict[str, Any]:
    """The RTCConfiguration JSON for one participant.

    Args:
        webrtc: the experiment's WebRTC settings.
        participant_id: who asks; minted TURN usernames carry it.
        now: current time, epoch seconds.

    Returns:
        `{"iceServers": [...], "iceTransportPolicy": "relay" | "all", "expiresAt": int | None}` (see the
        module docstring). With `webrtc.enabled` false, `iceServers` is empty (host candidates only).
    """
    servers: list[dict[str, Any]] = []
    expires_at: int | None = None
    if webrtc.enabled:
        if webrtc.stun_urls:
            servers.append({"urls": list(webrtc.stun_urls)})
        if webrtc.turn_secret:
            creds = mint_turn_credentials(webrtc.turn_secret, participant_id, now, webrtc.turn_ttl_s)
            servers.append({"urls": list(webrtc.turn_urls), "username": creds.username, "credential": creds.credential})
            expires_at = creds.expires_at
        elif webrtc.turn_username is not None and webrtc.turn_credential is not None:
            servers.append(
                {
                    "urls": list(webrtc.turn_urls),
                    "username": webrtc.turn_username,
                    "credential": webrtc.turn_credential,
                }
            )
    return {
        "iceServers": servers,
        "iceTransportPolicy": "relay" if webrtc.enabled and webrtc.force_relay else "all",
        "expiresAt": expires_at,
    }
