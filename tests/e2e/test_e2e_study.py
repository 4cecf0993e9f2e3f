"""A study in Chromium: a declined consent, and participants in two conditions who play to the end."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests_e2e_helpers import HERE_EXPERIMENTS, wait_phase

pytestmark = pytest.mark.browser


def test_a_declined_consent_ends_on_its_own_page(mug_server: Any, page: Any) -> None:
    server = mug_server(f"{HERE_EXPERIMENTS}:conditioned")
    page.goto(server.url + "/?PROLIFIC_PID=decliner")
    page.click("[data-testid=mug-decline]")
    wait_phase(page, "end")
    assert page.text_content("[data-testid=mug-completion-code]") == "NOCONSENT"
    href = page.get_attribute("[data-testid=mug-redirect-link]", "href")
    assert href == "https://example.org/declined?cc=NOCONSENT&pid=decliner"
    assert "No consent" in page.text_content("h1")


def test_two_participants_play_their_conditions(mug_server: Any, browser: Any, tmp_path: Path) -> None:
    server = mug_server(f"{HERE_EXPERIMENTS}:conditioned")
    scenes = []
    for n in range(2):
        context = browser.new_context()
        page = context.new_page()
        page.goto(server.url + f"/?PROLIFIC_PID=player-{n}")
        page.click("[data-testid=mug-continue]")
        wait_phase(page, "game")
        scenes.append(page.evaluate("window.mug.status().scene_id"))
        page.wait_for_function("window.mug?.status().runtime.ready", timeout=60_000)
        page.click("[data-testid=mug-continue]")
        wait_phase(page, "end", timeout=60_000)  # one short episode, then every row stored before leaving
        assert page.text_content("[data-testid=mug-completion-code]") == "DONE"
        context.close()
    assert sorted(scenes) == ["catch", "catch--hard"]
    out = tmp_path / "export"
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from mug.cli import main; sys.exit(main())",
            "export",
            "--database",
            server.database_url,
            "--out",
            str(out),
        ],
        check=True,
    )
    with (out / "participants.csv").open(newline="") as f:
        people = list(csv.DictReader(f))
    assert sorted(p["condition"] for p in people) == ["easy", "hard"]
    assert all(p["finished_at"] and int(p["steps_stored"]) > 0 for p in people)
