"""Surveys and comprehension checks against a real server: the server checks every answer and every attempt,
whatever a client bypassing the page sends."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from sio_peer import Peer

from mug.configurations import EndScene, Experiment, Outcome, StaticScene
from mug.configurations.scenes import Question
from mug.server.export import export_async
from mug.server.limits import Limits

QUIZ = StaticScene(
    id="quiz",
    questions=[
        Question(id="mood", prompt="How do you feel?", kind="likert", anchors=["Bad", "Good"]),
        Question(id="colours", prompt="Pick colours", kind="multi", options=["red", "green", "blue"], max_selected=2),
        Question(id="warmth", prompt="How warm?", kind="slider", slider_min=0, slider_max=10, anchors=["cold", "hot"]),
        Question(id="goal", prompt="What is the goal?", kind="choice", options=["catch", "avoid"], correct="catch"),
        Question(
            id="keys",
            prompt="Which keys move?",
            kind="multi",
            options=["left", "right", "up"],
            correct=["left", "right"],
        ),
    ],
    max_attempts=3,
    comprehension_failed=Outcome(
        title="Not this time",
        body="The checks were not passed.",
        completion_code="NOPASS",
        redirect_url="https://example.org/out?cc={completion_code}",
    ),
)
EXPERIMENT = Experiment(id="survey", scenes=[QUIZ, EndScene(id="end", completion_code="DONE")])

GOOD = {"mood": 5, "colours": ["blue"], "warmth": 7, "goal": "catch", "keys": ["right", "left"]}


def advance(answers: dict[str, Any]) -> dict[str, Any]:
    return {"v": 1, "scene_id": "quiz", "answers": answers}


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


async def test_invalid_answers_and_skipped_checks_are_refused(serve: Any) -> None:
    live = serve(EXPERIMENT)
    page = await Peer(live.url, "raw").start()
    try:
        assert "correct" not in json.dumps(page.hello["scene"]["questions"])
        bad = {
            "mood": 9,  # off the scale
            "colours": ["red", "green", "blue"],  # more than max_selected
            "warmth": 2.5,  # off the slider's steps
            "goal": "fly",  # not an option
        }
        for qid, value in bad.items():
            refused = await page.call("advance", advance(GOOD | {qid: value}))
            assert refused["error"]["code"] == "bad_answers" and repr(qid) in refused["error"]["message"], refused
        skipped = await page.call("advance", advance({k: v for k, v in GOOD.items() if k != "goal"}))
        assert skipped["error"]["code"] == "bad_answers" and "'goal' needs an answer" in skipped["error"]["message"]
        unknown = await page.call("advance", advance(GOOD | {"extra": 1}))
        assert unknown["error"]["code"] == "bad_answers"
        moved = await page.call("advance", advance(GOOD))  # none of the refusals counted as an attempt
        assert moved["ok"] and moved["scene"]["id"] == "end" and moved["scene"]["completion_code"] == "DONE"
    finally:
        await page.stop()


async def test_a_wrong_attempt_names_the_wrong_checks_and_a_retry_passes(serve: Any, tmp_path: Path) -> None:
    live = serve(EXPERIMENT)
    page = await Peer(live.url, "retry").start()
    try:
        wrong = await page.call("advance", advance(GOOD | {"goal": "avoid", "keys": ["left"]}))
        assert wrong["ok"] is False
        error = wrong["error"]
        assert error["code"] == "wrong_answers" and error["wrong"] == ["goal", "keys"]
        assert error["attempt"] == 1 and error["attempts_left"] == 2 and "2 attempts left" in error["message"]
        again = await page.call("advance", advance(GOOD | {"keys": ["up", "left"]}))
        assert again["error"]["wrong"] == ["keys"] and again["error"]["attempts_left"] == 1
        passed = await page.call("advance", advance(GOOD))
        assert passed["ok"] and passed["scene"]["id"] == "end"
    finally:
        await page.stop()
    out = tmp_path / "export"
    await export_async(live.database_url, out)
    attempts = [json.loads(e["data"]) for e in read_csv(out / "events.csv") if e["kind"] == "comprehension_attempt"]
    assert [(a["attempt"], a["wrong"], a["passed"]) for a in attempts] == [
        (1, ["goal", "keys"], False),
        (2, ["keys"], False),
        (3, [], True),
    ]
    assert attempts[0]["answers"]["keys"] == ["left"] and attempts[1]["answers"]["keys"] == ["left", "up"]
    answers = {a["question_id"]: a["value"] for a in read_csv(out / "answers.csv")}
    # the passing attempt's answers, normalised (lists as JSON, in the options' order)
    assert answers == {"mood": "5", "colours": '["blue"]', "warmth": "7", "goal": "catch", "keys": '["left","right"]'}


async def test_past_the_limit_the_participant_ends_on_comprehension_failed(serve: Any, tmp_path: Path) -> None:
    live = serve(EXPERIMENT)
    page = await Peer(live.url, "fail").start()
    try:
        for attempt in (1, 2):
            refused = await page.call("advance", advance(GOOD | {"goal": "avoid"}))
            assert refused["error"]["code"] == "wrong_answers" and refused["error"]["attempt"] == attempt
        failed = await page.call("advance", advance(GOOD | {"goal": "avoid"}))
        scene = failed["scene"]
        assert failed["ok"] and scene["kind"] == "end" and scene["outcome"] == "comprehension_failed"
        assert scene["title"] == "Not this time" and scene["completion_code"] == "NOPASS"
        assert scene["redirect"] == "https://example.org/out?cc=NOPASS"
        late = await page.call("advance", advance(GOOD))  # a right answer after the limit changes nothing
        assert late["error"]["code"] == "finished"
        token = page.token
    finally:
        await page.stop()
    back = Peer(live.url, "fail")
    back.token = token
    await back.start()  # a reload shows the outcome page again
    try:
        assert back.hello["scene"]["outcome"] == "comprehension_failed"
    finally:
        await back.stop()
    out = tmp_path / "export"
    await export_async(live.database_url, out)
    (person,) = read_csv(out / "participants.csv")
    assert (person["outcome"], person["outcome_scene"], person["completion_code"]) == (
        "comprehension_failed",
        "quiz",
        "NOPASS",
    )
    kinds = [e["kind"] for e in read_csv(out / "events.csv")]
    assert kinds.count("comprehension_attempt") == 3
    assert read_csv(out / "answers.csv") == []  # a failed scene stores no answers, only its attempts


async def test_endless_wrong_attempts_run_into_the_storage_quota(serve: Any) -> None:
    unlimited = QUIZ.model_copy(update={"max_attempts": None})
    live = serve(Experiment(id="endless", scenes=[unlimited, EndScene(id="end")]), limits=Limits(max_stored_bytes=3000))
    page = await Peer(live.url, "endless").start()
    try:
        codes = []
        for _ in range(30):
            ack = await page.call("advance", advance(GOOD | {"goal": "avoid"}))
            codes.append(ack["error"]["code"])
            if codes[-1] != "wrong_answers":
                break
        assert codes[-1] == "quota_exceeded" and 3 <= len(codes) < 30, codes
    finally:
        await page.stop()
