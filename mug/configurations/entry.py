"""Entry and exclusion rules the server enforces (the page only shows their outcome pages)."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mug.configurations.scenes import Outcome

BROWSER_FAMILIES = ("chrome", "edge", "firefox", "safari", "opera")

# outcome -> the Entry field with its page
ENTRY_OUTCOMES = {
    "duplicate_param": "duplicate",
    "mobile_device": "mobile",
    "browser_unsupported": "browser",
    "slow_connection": "slow",
}


class Entry(BaseModel):
    """Who may take part. Each rule refuses a newcomer with its own outcome page (and completion code);
    the refusal is stored as the participant's `outcome` and exported.

    Args:
        unique_params: URL parameters whose value may arrive only once (e.g. `["PROLIFIC_PID"]`): the same
            value in a new browser is refused with `duplicate` (outcome `duplicate_param`).
        allow_mobile: False refuses phones and tablets (User-Agent and the `Sec-CH-UA-Mobile` client hint)
            with `mobile` (outcome `mobile_device`).
        browsers: browser family -> lowest major version accepted ("chrome", "edge", "firefox", "safari",
            "opera"); a family not named is refused with `browser` (outcome `browser_unsupported`). Default:
            every browser.
        max_rtt_ms: the round trip from the server to the page, measured by the server at hello (the median of
            `RTT_PINGS` pings the page answers); a longer one, or none, is refused with `slow` (outcome
            `slow_connection`).
        require_play: game scenes cannot be skipped: leaving one before its `num_episodes` are recorded (or,
            multiplayer, the match finished) is refused unless an outcome ended it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    unique_params: list[str] = Field(default_factory=list)
    duplicate: Outcome = Field(
        default_factory=lambda: Outcome(
            title="Already taken part",
            body="You have already started this study, so you cannot take it again.",
            give_code=False,
        )
    )
    allow_mobile: bool = True
    mobile: Outcome = Field(
        default_factory=lambda: Outcome(
            title="Please use a computer",
            body="This study needs a desktop or laptop computer with a keyboard.",
            give_code=False,
        )
    )
    browsers: dict[str, int] | None = None
    browser: Outcome = Field(
        default_factory=lambda: Outcome(
            title="Browser not supported",
            body="This study does not run in this browser. Please open the link in a recent Chrome, Edge or Firefox.",
            give_code=False,
        )
    )
    max_rtt_ms: float | None = Field(default=None, gt=0, le=5000)
    slow: Outcome = Field(
        default_factory=lambda: Outcome(
            title="Connection too slow",
            body="Your connection to our server is too slow for this study. Thank you for your interest.",
            give_code=False,
        )
    )
    require_play: bool = False

    @model_validator(mode="after")
    def _check(self) -> Self:
        unknown = sorted(set(self.browsers or {}) - set(BROWSER_FAMILIES))
        if unknown:
            raise ValueError(f"entry.browsers: unknown browser families {unknown}; known: {list(BROWSER_FAMILIES)}")
        return self

    def outcome(self, name: str) -> Outcome:
        """The page of an entry outcome (`ENTRY_OUTCOMES`)."""
        field = ENTRY_OUTCOMES.get(name)
        if field is None:
            raise ValueError(f"unknown entry outcome {name!r}; known: {sorted(ENTRY_OUTCOMES)}")
        value: Outcome = getattr(self, field)
        return value
