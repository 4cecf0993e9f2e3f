"""`RemoteConfig`: how browsers reach each other (WebRTC ICE servers, TURN relay).

Kept compatible with the original MUG snippets::

    config = RemoteConfig()
    config.webrtc()                  # TURN_USERNAME / TURN_CREDENTIAL from the environment or a .env file
    config.webrtc(force_relay=True)  # relay candidates only (tests, restrictive networks)
"""

from __future__ import annotations

import os
from typing import Self

from dotenv import find_dotenv, load_dotenv
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

DEFAULT_STUN_URLS = ["stun:stun.l.google.com:19302"]
DEFAULT_TURN_URLS = [
    "turn:openrelay.metered.ca:80",
    "turn:openrelay.metered.ca:443",
    "turns:openrelay.metered.ca:443?transport=tcp",
]
DEFAULT_TURN_TTL_S = 6 * 3600


def _env_list(name: str) -> list[str] | None:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    return [part.strip() for part in raw.split(",") if part.strip()]


class WebRTCConfig(BaseModel):
    """ICE settings handed to every member of a match.

    Either static TURN credentials (`turn_username` and `turn_credential`) or a shared secret (`turn_secret`,
    coturn's `static-auth-secret`, the TURN REST scheme) from which the server mints per-participant
    credentials that expire after `turn_ttl_s` seconds.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    enabled: bool = True
    stun_urls: list[str] = Field(default_factory=lambda: list(DEFAULT_STUN_URLS))
    turn_urls: list[str] = Field(default_factory=list)
    turn_username: str | None = None
    turn_credential: str | None = Field(default=None, repr=False)
    turn_secret: str | None = Field(default=None, repr=False)
    turn_ttl_s: int = Field(default=DEFAULT_TURN_TTL_S, ge=60, le=7 * 24 * 3600)
    force_relay: bool = False

    @field_validator("stun_urls")
    @classmethod
    def _check_stun(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("stun:", "stuns:")):
                raise ValueError(f"stun_urls: {url!r} must start with 'stun:' or 'stuns:'")
        return urls

    @field_validator("turn_urls")
    @classmethod
    def _check_turn(cls, urls: list[str]) -> list[str]:
        for url in urls:
            if not url.startswith(("turn:", "turns:")):
                raise ValueError(f"turn_urls: {url!r} must start with 'turn:' or 'turns:'")
        return urls

    @model_validator(mode="after")
    def _check_credentials(self) -> Self:
        if (self.turn_username is None) != (self.turn_credential is None):
            raise ValueError(
                "webrtc: give both TURN_USERNAME and TURN_CREDENTIAL (static TURN credentials), or neither"
            )
        if self.turn_secret and self.turn_username:
            raise ValueError("webrtc: give either TURN_SECRET (minted credentials) or TURN_USERNAME/TURN_CREDENTIAL")
        if self.force_relay and not self.has_turn:
            raise ValueError(
                "webrtc(force_relay=True) needs a TURN server: set TURN_USERNAME and TURN_CREDENTIAL, or "
                "TURN_SECRET and TURN_URLS, in the environment or a .env file"
            )
        if self.has_turn and not self.turn_urls:
            raise ValueError("webrtc: TURN credentials are set but turn_urls is empty; set TURN_URLS")
        return self

    @property
    def has_turn(self) -> bool:
        """Whether a TURN relay is configured (static or minted credentials)."""
        return bool(self.turn_secret) or self.turn_username is not None


class RemoteConfig(BaseModel):
    """Remote (network) settings of an experiment. Call `webrtc()` to enable TURN relay settings."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    webrtc_config: WebRTCConfig = Field(default_factory=WebRTCConfig)

    def webrtc(
        self,
        turn_username: str | None = None,
        turn_credential: str | None = None,
        *,
        force_relay: bool = False,
        turn_urls: list[str] | None = None,
        stun_urls: list[str] | None = None,
        turn_secret: str | None = None,
        turn_ttl_s: int | None = None,
        load_env_file: bool = True,
    ) -> Self:
        """Configure WebRTC ICE servers, reading TURN settings from the environment when not given.

        Args:
            turn_username: static TURN user name; default: env TURN_USERNAME.
            turn_credential: static TURN password; default: env TURN_CREDENTIAL.
            force_relay: make browsers use relay (TURN) candidates only.
            turn_urls: TURN server URLs; default: env TURN_URLS (comma-separated), else Open Relay's URLs when
                static credentials are set.
            stun_urls: STUN URLs; default: env STUN_URLS, else a public STUN server.
            turn_secret: coturn `static-auth-secret` for minted, expiring credentials; default: env TURN_SECRET.
            turn_ttl_s: lifetime of minted credentials in seconds; default: env TURN_TTL_S or 6 hours.
            load_env_file: read a `.env` file in the working directory first (existing variables win).

        Returns:
            This config, for chaining.
        """
        if load_env_file:
            load_dotenv(find_dotenv(usecwd=True), override=False)
        username = turn_username if turn_username is not None else os.environ.get("TURN_USERNAME") or None
        credential = turn_credential if turn_credential is not None else os.environ.get("TURN_CREDENTIAL") or None
        secret = turn_secret if turn_secret is not None else os.environ.get("TURN_SECRET") or None
        urls = turn_urls if turn_urls is not None else _env_list("TURN_URLS")
        if urls is None:
            urls = list(DEFAULT_TURN_URLS) if username is not None else []
        ttl = turn_ttl_s if turn_ttl_s is not None else int(os.environ.get("TURN_TTL_S") or DEFAULT_TURN_TTL_S)
        stun = stun_urls if stun_urls is not None else _env_list("STUN_URLS")
        self.webrtc_config = WebRTCConfig(
            stun_urls=stun if stun is not None else list(DEFAULT_STUN_URLS),
            turn_urls=urls,
            turn_username=username,
            turn_credential=credential,
            turn_secret=secret,
            turn_ttl_s=ttl,
            force_relay=force_relay,
        )
        return self
