"""A study in Chromium: a declined consent, participants in two conditions who play to the end, and a whole
study of twelve: consent, a comprehension check, balanced conditions, an AI partner, inactivity, redirects."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest
from tests_e2e_helpers import HERE_EXPERIMENTS, export, wait_phase

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
    export(server.database_url, out)
    with (out / "participants.csv").open(newline="") as f:
        people = list(csv.DictReader(f))
    assert sorted(p["condition"] for p in people) == ["easy", "hard"]
    assert all(p["finished_at"] and int(p["steps_stored"]) > 0 for p in people)


def _table(out: Path, name: str) -> list[dict[str, str]]:
    with (out / name).open(newline="") as f:
        return list(csv.DictReader(f))


def test_a_whole_study_of_twelve_participants(mug_server: Any, browser: Any, tmp_path: Path) -> None:
    # 12 arrivals: one declines consent, one fails the comprehension check twice, one stops playing (inactivity),
    # nine play with the AI partner to the end page; conditions are balanced over all twelve
    server = mug_server(f"{HERE_EXPERIMENTS}:whole_study")
    roles = ["decline", "fail", "idle"] + ["play"] * 9
    seen: dict[str, tuple[str, str | None]] = {}
    page: Any
    for n, role in enumerate(roles):
        context = browser.new_context()
        page = context.new_page()
        pid = f"person-{n}"
        page.goto(server.url + f"/?PROLIFIC_PID={pid}")
        if role == "decline":
            page.click("[data-testid=mug-decline]")
        else:
            page.click("[data-testid=mug-continue]")  # consent
            page.click("[data-testid=q-goal-avoid]")  # wrong
            page.click("[data-testid=mug-continue]")
            if role == "fail":
                page.wait_for_selector("[data-testid=question-goal].mug-wrong")
                page.click("[data-testid=q-goal-avoid]")
                page.click("[data-testid=mug-continue]")  # the second wrong attempt is the last
            else:
                page.wait_for_selector("[data-testid=question-goal].mug-wrong")
                page.click("[data-testid=q-goal-catch]")
                page.click("[data-testid=mug-continue]")
                wait_phase(page, "game")
                page.wait_for_function("window.mug?.status().runtime.ready", timeout=90_000)
                page.click("[data-testid=mug-continue]")
                wait_phase(page, "playing", timeout=60_000)
                if role == "play":
                    key = "ArrowLeft"
                    while page.evaluate("document.body.dataset.mugPhase") == "playing":
                        page.keyboard.press(key)  # a press every 0.3 s: never inactive
                        key = "ArrowRight" if key == "ArrowLeft" else "ArrowLeft"
                        page.wait_for_timeout(300)
        wait_phase(page, "end", timeout=60_000)
        code = page.text_content("[data-testid=mug-completion-code]")
        link = page.query_selector("[data-testid=mug-redirect-link]")
        seen[pid] = (role, code)
        if role in ("decline", "play"):
            assert link is not None
            expected = "declined?cc=NOCONSENT" if role == "decline" else "done?cc=DONE"
            assert link.get_attribute("href") == f"https://example.org/{expected}&pid={pid}"
        context.close()
    assert {pid: code for pid, (_, code) in seen.items()} == {
        f"person-{n}": {"decline": "NOCONSENT", "fail": "NOPASS", "idle": "IDLE", "play": "DONE"}[role]
        for n, role in enumerate(roles)
    }
    out = tmp_path / "export"
    export(server.database_url, out)
    people = {p["id"]: p for p in _table(out, "participants.csv")}
    params = {r["participant_id"]: r["value"] for r in _table(out, "url_params.csv") if r["name"] == "PROLIFIC_PID"}
    by_pid = {params[i]: p for i, p in people.items()}
    assert len(by_pid) == 12
    counts = [sum(p["condition"] == c for p in by_pid.values()) for c in ("narrow", "wide")]
    assert abs(counts[0] - counts[1]) <= 1 and sum(counts) == 12, counts
    outcomes = {pid: by_pid[pid]["outcome"] for pid in by_pid}
    assert outcomes["person-0"] == "consent_declined"
    assert outcomes["person-1"] == "comprehension_failed"
    assert outcomes["person-2"] == "inactive"
    assert all(outcomes[f"person-{n}"] == "" for n in range(3, 12))
    steps = _table(out, "steps_catch--narrow.csv") + _table(out, "steps_catch--wide.csv")
    for n in range(3, 12):  # every player's steps are stored: a whole episode of 150 steps, each once
        pid = next(i for i, p in people.items() if params[i] == f"person-{n}")
        assert int(by_pid[f"person-{n}"]["steps_stored"]) == 150
        assert sorted(int(r["step"]) for r in steps if r["participant_id"] == pid) == list(range(1, 151))
    attempts = [r for r in _table(out, "events.csv") if r["kind"] == "comprehension_attempt"]
    assert len(attempts) == 2 + 2 * 10  # the one who failed: two; everyone past consent else: a wrong and a right
    attrition = {r["participant_id"]: r for r in _table(out, "attrition.csv")}
    assert sum(r["stage"] == "completed" for r in attrition.values()) == 9
