"""Browsers besides Chromium: Firefox ESR (WebDriver BiDi, puppeteer-core) and WebKitGTK (Selenium, Xvfb).

Each skips with its reason when its browser is missing, except under CI=true, where a missing browser fails
(.ci/run installs them). WebKitGTK has no RTCPeerConnection in Debian's build: the server keeps it out of
multiplayer lobbies (its match with the AI at once, or its own outcome page).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser_play import check_demo_records, export, play_demo, rows
from tests_e2e_helpers import HERE_EXPERIMENTS, wait_phase

from mug.testing import firefox, webkit

pytestmark = pytest.mark.browser

MIXED = Path(__file__).resolve().parent / "mp_browsers.py"  # a Chromium and a Firefox participant in one match


def require(reason: str | None) -> None:
    """Skip for `reason` (a browser is missing); under CI=true, where every browser is installed, fail."""
    if reason is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true, and the browser is missing: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def firefox_browser() -> Iterator[firefox.Firefox]:
    require(firefox.missing())
    with firefox.Firefox() as browser:
        print(f"Firefox {browser.version}")
        yield browser
        print("\n".join(browser.log[-40:]))


@pytest.fixture
def webkit_page() -> Iterator[webkit.WebKitPage]:
    require(webkit.missing())
    with webkit.WebKit() as browser:
        print(f"WebKitGTK {browser.version}")
        yield browser.page


def test_firefox_plays_the_demo_to_its_completion_code(
    mug_server: Any, firefox_browser: firefox.Firefox, tmp_path: Path
) -> None:
    server = mug_server(f"{HERE_EXPERIMENTS}:demo_short")
    page = firefox_browser.new_page()
    assert page.evaluate("typeof RTCPeerConnection") == "function"
    code, match = play_demo(page, server.url + "/?PROLIFIC_PID=firefox-1")
    assert match["slot"] == 0 and match["peers"] == []  # alone: the lobby timed out, the AI took the other paddle
    out = export(server.database_url, tmp_path / "export")
    check_demo_records(out, code)
    (participant,) = rows(out, "participants.csv")
    assert "Firefox/" in participant["user_agent"]
    page.close()


@pytest.mark.timeout(600)  # WebKitGTK loads the runtime slowly: over a minute on a busy machine
def test_webkit_plays_the_demo_solo_and_with_an_ai_partner_at_once(
    mug_server: Any, webkit_page: webkit.WebKitPage, tmp_path: Path
) -> None:
    server = mug_server(f"{HERE_EXPERIMENTS}:demo_long_lobby")  # the AI steps in after 600 s of waiting
    code, match = play_demo(webkit_page, server.url + "/?PROLIFIC_PID=webkit-1", load_timeout_ms=240_000)
    assert webkit_page.evaluate("typeof RTCPeerConnection") == "undefined"
    assert match["slot"] == 0 and match["peers"] == []
    out = export(server.database_url, tmp_path / "export")
    check_demo_records(out, code)
    (participant,) = rows(out, "participants.csv")
    assert "AppleWebKit/" in participant["user_agent"] and "Chrome" not in participant["user_agent"]
    # it never waited in the lobby (play_demo allows 60 s from the scene to play, the lobby waits 600 s): its
    # match formed as it arrived, alone with the AI
    (m,) = rows(out, "matches.csv")
    assert json.loads(m["members"]) == [participant["id"]]
    assert json.loads(m["agents"])["right"]["kind"] == "policy"


@pytest.mark.timeout(600)
def test_webkit_is_kept_out_of_a_lobby_without_ai_on_its_own_page(
    mug_server: Any, webkit_page: webkit.WebKitPage, tmp_path: Path
) -> None:
    server = mug_server(f"{HERE_EXPERIMENTS}:mp_duo_no_webrtc")
    webkit_page.goto(server.url + "/?PROLIFIC_PID=webkit-2")
    wait_phase(webkit_page, "end", timeout=240_000)  # the runtime loads, then the lobby refuses it at once
    assert "This browser cannot play with others." in (webkit_page.text_content("#mug-root") or "")
    assert (webkit_page.text_content("[data-testid=mug-completion-code]") or "").strip() == "NORTC"
    out = export(server.database_url, tmp_path / "export")
    (participant,) = rows(out, "participants.csv")
    assert (participant["outcome"], participant["completion_code"]) == ("no_webrtc", "NORTC")
    assert rows(out, "matches.csv") == []


@pytest.mark.netns
def test_a_chromium_and_a_firefox_participant_play_a_direct_match_with_identical_records(
    bundle: Any, tmp_path: Path
) -> None:
    require(firefox.missing())
    from test_e2e_multiplayer import check_complete_match, netns_prefix, scenario

    result = scenario(netns_prefix(), "mp_duo", 2, bundle.path, tmp_path, program=MIXED)
    print(result["browsers"], "all playing after", result["all_playing_s"], "s")
    assert [p["browser"] for p in result["players"]] == ["chromium", "firefox"]
    check_complete_match(result, tmp_path, 2, "direct")
    agents = {r["id"]: r["user_agent"] for r in rows(tmp_path / "export", "participants.csv")}
    assert sorted("Firefox/" in ua for ua in agents.values()) == [False, True]
