"""Entry screening: the device and browser a newcomer uses and their round trip, checked against
`Experiment.entry` before they become a participant (the page only shows the outcome page it is sent).

Device and browser come from the User-Agent header of the Socket.IO connection, the `Sec-CH-UA-Mobile`
client hint header (Chromium sends it on HTTPS), and what the page reports in hello's `client` (from
`navigator.userAgentData`): any of them saying "mobile" counts as mobile, so a page cannot talk its way in.
The round trip is measured by the server: `RTT_PINGS` `mug_ping` events the page acknowledges at once; the
median counts, and a ping not answered within `ping_timeout_s` counts as too slow.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from mug.configurations import Entry

RTT_PINGS = 3
MOBILE = re.compile(r"Mobi|Android|iPhone|iPad|iPod|Windows Phone|Silk/", re.I)
# order matters: Edge and Opera say "Chrome" too, Chrome says "Safari"
FAMILIES = (
    ("edge", re.compile(r"Edg(?:e|A|iOS)?/(\d+)")),
    ("opera", re.compile(r"OPR/(\d+)")),
    ("firefox", re.compile(r"(?:Firefox|FxiOS)/(\d+)")),
    ("chrome", re.compile(r"(?:Chrome|CriOS|HeadlessChrome)/(\d+)")),
    ("safari", re.compile(r"Version/(\d+)[^ ]* (?:Mobile/\S+ )?Safari/")),
)


@dataclass(frozen=True)
class Device:
    """What the server concluded about a newcomer's browser."""

    family: str | None
    version: int | None
    mobile: bool


def device(user_agent: str | None, mobile_hint: str | None = None, page: dict[str, Any] | None = None) -> Device:
    """Read the browser family, major version and mobility from the User-Agent and client hints."""
    ua = user_agent or ""
    family, version = None, None
    for name, pattern in FAMILIES:
        found = pattern.search(ua)
        if found:
            family, version = name, int(found.group(1))
            break
    mobile = bool(MOBILE.search(ua)) or (mobile_hint or "").strip() == "?1" or bool((page or {}).get("mobile"))
    return Device(family, version, mobile)


def screen_device(rules: Entry, found: Device) -> str | None:
    """The entry outcome this device gets (`mobile_device`, `browser_unsupported`), or None if it may enter."""
    if found.mobile and not rules.allow_mobile:
        return "mobile_device"
    if rules.browsers is not None:
        least = rules.browsers.get(found.family or "")
        if least is None or found.version is None or found.version < least:
            return "browser_unsupported"
    return None


def ping_timeout_s(rules: Entry) -> float:
    """How long one ping may wait for its answer: beyond the limit, so a late answer is still measured, and
    short enough (max_rtt_ms is at most 5 s) that the page's hello (10 s) is answered in time."""
    assert rules.max_rtt_ms is not None
    return max(1.0, 1.5 * rules.max_rtt_ms / 1000)


async def measure_rtt(call: Callable[[int], Awaitable[Any]], timeout_s: float) -> float | None:
    """The median round trip in ms of `RTT_PINGS` calls of `call(n)` (the page's ack), or None if one
    went unanswered within `timeout_s`."""
    samples = []
    for n in range(RTT_PINGS):
        start = time.perf_counter()
        try:
            await asyncio.wait_for(call(n), timeout_s)
        except (TimeoutError, Exception):
            return None
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def screen_rtt(rules: Entry, rtt_ms: float | None) -> str | None:
    """`slow_connection` for a round trip over the limit (or none measured), else None."""
    if rules.max_rtt_ms is None:
        return None
    if rtt_ms is None or rtt_ms > rules.max_rtt_ms:
        return "slow_connection"
    return None
