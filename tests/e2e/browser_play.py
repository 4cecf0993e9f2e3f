"""The demo played by any browser page with Playwright-like calls (a Playwright page, `FirefoxPage`, `WebKitPage`),
and the checks of what it recorded."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests_e2e_helpers import wait_phase


def play_demo(page: Any, url: str, load_timeout_ms: float = 120_000) -> tuple[str, dict[str, Any]]:
    """Play `demo_short` (experiments.py) from consent to the end page: both Catch episodes holding a key,
    the two-player scene (with an AI partner: alone, or without WebRTC), the survey.

    Returns:
        The completion code shown, and the two-player scene's match status as the page saw it.
    """
    page.goto(url)
    page.wait_for_selector("[data-testid=mug-continue]", timeout=load_timeout_ms)
    page.click("[data-testid=mug-continue]")
    wait_phase(page, "game")
    page.wait_for_function("window.mug?.status().runtime.ready", timeout=load_timeout_ms)
    page.click("[data-testid=mug-continue]")
    wait_phase(page, "playing")
    page.keyboard.down("ArrowRight")
    wait_phase(page, "between_episodes", timeout=90_000)
    page.keyboard.up("ArrowRight")
    page.keyboard.press(" ")
    wait_phase(page, "playing")
    page.keyboard.down("ArrowLeft")
    # rows flushed, on to the two-player scene: its lobby, or (no WebRTC) straight into a match with the AI
    page.wait_for_function("window.mug?.status().scene_id === 'catch-duo'", timeout=90_000)
    page.keyboard.up("ArrowLeft")
    wait_phase(page, "playing", timeout=60_000)
    match = page.evaluate("window.mug.status().match")
    page.keyboard.down("ArrowRight")
    wait_phase(page, "static", timeout=90_000)  # finished, rows flushed, advanced to the survey
    page.keyboard.up("ArrowRight")
    page.click("[data-testid=q-fun-6]")
    page.click("[data-testid=mug-continue]")
    page.wait_for_selector("[data-testid=mug-completion-code]")
    code = (page.text_content("[data-testid=mug-completion-code]") or "").strip()
    assert page.evaluate("window.mug.status().phase") == "end"
    return code, match


def export(database_url: str, out: Path) -> Path:
    """`mug export` as a researcher runs it."""
    cli = "import sys; from mug.cli import main; sys.exit(main())"
    subprocess.run([sys.executable, "-c", cli, "export", "--database", database_url, "--out", str(out)], check=True)
    return out


def rows(out: Path, table: str) -> list[dict[str, str]]:
    with open(out / table, newline="") as f:
        return list(csv.DictReader(f))


def check_demo_records(out: Path, code: str) -> None:
    """One participant, with the code shown; complete Catch episodes; the duo played with the AI to its end."""
    (participant,) = rows(out, "participants.csv")
    assert code and participant["completion_code"] == code and participant["outcome"] == ""
    catch = rows(out, "steps_catch.csv")
    for episode in ("0", "1"):
        ep = [r for r in catch if r["episode"] == episode]
        assert sorted(int(r["step"]) for r in ep) == list(range(1, len(ep) + 1)) and ep
        last = max(ep, key=lambda r: int(r["step"]))
        assert last["terminated"] == "1" or last["truncated"] == "1", "the episode is complete"
    assert len({r["action"] for r in catch}) > 1, "the keys reached the game"
    duo = rows(out, "steps_catch-duo.csv")
    assert [int(r["step"]) for r in duo] == list(range(1, 61)) and len({r["match_id"] for r in duo}) == 1
    (match,) = rows(out, "matches.csv")
    assert match["end_reason"] == "finished"
