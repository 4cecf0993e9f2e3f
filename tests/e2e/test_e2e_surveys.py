"""Surveys with comprehension checks, and inactivity in a game scene, in a real browser."""

from __future__ import annotations

import json
import sqlite3
import time
from typing import Any

import pytest
from tests_e2e_helpers import HERE_EXPERIMENTS, phase, wait_phase

pytestmark = pytest.mark.browser


def query(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as conn:
        return conn.execute(sql).fetchall()


def error_text(page: Any) -> str:
    page.wait_for_selector(".mug-form-error:not([hidden])")
    return str(page.text_content(".mug-form-error"))


def answer_the_survey(page: Any, goal: str) -> None:
    page.click("[data-testid=q-mood-4]")
    page.check("[data-testid=q-colours-green]")
    page.focus("[data-testid=q-warmth]")
    page.keyboard.press("ArrowRight")  # moved from its start (5) to 6: now it counts as answered
    page.click(f"[data-testid=q-goal-{goal}]")


def test_a_comprehension_check_failed_then_passed(mug_server: Any, page: Any) -> None:
    server = mug_server(f"{HERE_EXPERIMENTS}:survey")
    page.goto(server.url + "/")
    page.wait_for_selector("[data-testid=mug-continue]")
    assert page.text_content("[data-testid=question-mood]").count("Bad") == 1  # the anchors at the two ends

    # checked on the page: three colours are too many, an untouched slider is no answer
    page.click("[data-testid=q-mood-4]")
    for colour in ("red", "green", "blue"):
        page.check(f"[data-testid=q-colours-{colour}]")
    page.click("[data-testid=q-goal-avoid]")
    page.click("[data-testid=mug-continue]")
    text = error_text(page)
    assert "select 1 to 2" in text, text
    assert page.get_attribute("[data-testid=question-warmth]", "class") == "mug-question mug-invalid"
    assert page.text_content("[data-testid=q-warmth-value]") == "move the slider"
    page.uncheck("[data-testid=q-colours-red]")
    page.uncheck("[data-testid=q-colours-blue]")

    # a wrong answer: the server names the wrong check and the page lets the participant try again
    answer_the_survey(page, "avoid")
    assert page.text_content("[data-testid=q-warmth-value]") == "6"
    page.click("[data-testid=mug-continue]")
    page.wait_for_selector("[data-testid=question-goal].mug-wrong")
    text = error_text(page)
    assert "goal" in text and "1 attempt left" in text, text
    assert phase(page) == "static"
    assert "mug-wrong" not in (page.get_attribute("[data-testid=question-mood]", "class") or "")

    page.click("[data-testid=q-goal-catch]")
    page.click("[data-testid=mug-continue]")
    code = page.wait_for_selector("[data-testid=mug-completion-code]").text_content()
    assert code and code.strip() == "DONE"

    answers = dict(query(server.database_url, "select question_id, value from answers"))
    # SQLite's JSON column gives numbers back as numbers
    assert {k: json.loads(v) if isinstance(v, str) else v for k, v in answers.items()} == {
        "mood": 4,
        "colours": ["green"],
        "warmth": 6,
        "goal": "catch",
    }
    attempts = [
        json.loads(d)
        for (d,) in query(
            server.database_url, "select data from events where kind = 'comprehension_attempt' order by id"
        )
    ]
    assert [(a["attempt"], a["wrong"], a["passed"]) for a in attempts] == [(1, ["goal"], False), (2, [], True)]


def test_a_comprehension_check_failed_past_the_limit_ends_on_its_outcome(mug_server: Any, page: Any) -> None:
    server = mug_server(f"{HERE_EXPERIMENTS}:survey")
    page.goto(server.url + "/")
    page.wait_for_selector("[data-testid=mug-continue]")
    answer_the_survey(page, "avoid")
    page.click("[data-testid=mug-continue]")
    page.wait_for_selector("[data-testid=question-goal].mug-wrong")
    page.click("[data-testid=mug-continue]")  # the same wrong answer again: the last attempt allowed
    code = page.wait_for_selector("[data-testid=mug-completion-code]").text_content()
    assert code and code.strip() == "NOPASS"
    assert "Not passed" in (page.text_content("#mug-root") or "") and phase(page) == "end"
    page.reload()  # the outcome stays
    code = page.wait_for_selector("[data-testid=mug-completion-code]").text_content()
    assert code and code.strip() == "NOPASS"
    assert query(server.database_url, "select outcome, outcome_scene, completion_code from participants") == [
        ("comprehension_failed", "quiz", "NOPASS")
    ]


def test_inactivity_warns_then_ends_on_the_inactive_outcome(mug_server: Any, page: Any) -> None:
    server = mug_server(f"{HERE_EXPERIMENTS}:idle_solo")
    page.goto(server.url + "/")
    wait_phase(page, "game")
    page.wait_for_function("window.mug?.status().runtime.ready", timeout=60_000)
    page.click("[data-testid=mug-continue]")
    wait_phase(page, "playing")
    t0 = time.monotonic()
    page.wait_for_selector("[data-testid=mug-inactivity]", timeout=10_000)
    warned_after = time.monotonic() - t0
    assert 1.5 < warned_after < 5, warned_after  # inactivity_s=2
    assert "Are you still there?" in (page.text_content("[data-testid=mug-inactivity]") or "")

    page.keyboard.press("ArrowLeft")  # here after all: the warning goes, the game goes on
    page.wait_for_selector("[data-testid=mug-inactivity]", state="detached", timeout=2_000)
    assert phase(page) == "playing"

    # a hidden tab gets no input: keys pressed "in another tab" do not count, and the warning runs out
    page.evaluate("""() => {
        Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
        Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
        document.dispatchEvent(new Event("visibilitychange"));
    }""")
    t1 = time.monotonic()
    while not page.query_selector("[data-testid=mug-completion-code]") and time.monotonic() - t1 < 20:
        page.keyboard.press("ArrowRight")
        time.sleep(0.3)
    ended_after = time.monotonic() - t1
    code = page.wait_for_selector("[data-testid=mug-completion-code]", timeout=1_000).text_content()
    assert code and code.strip() == "IDLE" and "You stopped playing." in (page.text_content("#mug-root") or "")
    assert 4 < ended_after < 10, ended_after  # 2 s without input, then the 3 s warning
    assert page.evaluate("window.mug.status().outbox.pending_rows") == 0

    assert query(server.database_url, "select outcome, outcome_scene, completion_code from participants") == [
        ("inactive", "catch", "IDLE")
    ]
    (steps,) = query(server.database_url, "select count(*) from steps")[0]
    assert steps > 30  # the steps played before the outcome are kept
    kinds = [k for (k,) in query(server.database_url, "select kind from events order by id")]
    assert kinds.count("inactivity_warning") == 2 and kinds.count("inactivity_dismissed") == 1
