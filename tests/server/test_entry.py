"""Reading the device and browser from headers and hints, and the screening decisions."""

from __future__ import annotations

import asyncio

import pytest

from mug.configurations import Entry
from mug.server.entry import Device, device, measure_rtt, screen_device, screen_rtt

UAS = {
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36": (
        "chrome",
        126,
        False,
    ),
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 "
    "Safari/537.36 Edg/125.0.2535.85": ("edge", 125, False),
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0": ("firefox", 128, False),
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
    "Safari/605.1.15": ("safari", 17, False),
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1": ("safari", 17, True),
    "Python/3.12 websockets/17.4": (None, None, False),
}


@pytest.mark.parametrize("ua", list(UAS))
def test_user_agents_are_read(ua: str) -> None:
    found = device(ua)
    assert (found.family, found.version, found.mobile) == UAS[ua]


def test_any_sign_of_mobile_counts() -> None:
    assert device("Chrome/126", "?1").mobile and device("Chrome/126", None, {"mobile": True}).mobile
    assert not device("Chrome/126", "?0", {"mobile": False}).mobile


def test_screening_decisions() -> None:
    rules = Entry(allow_mobile=False, browsers={"chrome": 110}, max_rtt_ms=200)
    assert screen_device(rules, Device("chrome", 120, True)) == "mobile_device"
    assert screen_device(rules, Device("chrome", 100, False)) == "browser_unsupported"
    assert screen_device(rules, Device("firefox", 130, False)) == "browser_unsupported"
    assert screen_device(rules, Device(None, None, False)) == "browser_unsupported"
    assert screen_device(rules, Device("chrome", 126, False)) is None
    assert screen_device(Entry(), Device(None, None, True)) is None
    assert screen_rtt(rules, 250.0) == "slow_connection" and screen_rtt(rules, None) == "slow_connection"
    assert screen_rtt(rules, 50.0) is None and screen_rtt(Entry(), None) is None


async def test_round_trip_is_the_median_and_silence_is_none() -> None:
    delays = iter([0.0, 0.05, 0.0])

    async def answer(n: int) -> None:
        await asyncio.sleep(next(delays))

    rtt = await measure_rtt(answer, 1.0)
    assert rtt is not None and rtt < 40

    async def silent(n: int) -> None:
        await asyncio.sleep(10)

    assert await measure_rtt(silent, 0.05) is None
