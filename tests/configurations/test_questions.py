"""Survey questions: Likert scales, multiple selection, sliders and comprehension checks."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from mug.configurations import StaticScene
from mug.configurations.scenes import Question
from mug.server.scenes import scene_spec


def q(**kw: Any) -> Question:
    return Question(**({"id": "q", "prompt": "?"} | kw))


def test_likert_takes_two_anchors_or_one_per_point() -> None:
    assert q(kind="likert", anchors=["Disagree", "Agree"]).validate_answer(7) == 7
    assert q(kind="likert", scale_min=1, scale_max=3, anchors=["No", "Maybe", "Yes"]).validate_answer("2") == 2
    with pytest.raises(ValidationError, match="takes 2 anchors .* or 5"):
        q(kind="likert", scale_max=5, anchors=["a", "b", "c"])
    with pytest.raises(ValueError, match="whole number from 1 to 7"):
        q(kind="likert").validate_answer(8)
    with pytest.raises(ValidationError, match="anchors label likert and slider"):
        q(kind="choice", options=["a", "b"], anchors=["x", "y"])


def test_multi_selection_counts_and_options() -> None:
    multi = q(kind="multi", options=["red", "green", "blue"], min_selected=1, max_selected=2)
    assert multi.validate_answer(["blue", "red"]) == ["red", "blue"]  # in the options' order
    with pytest.raises(ValueError, match="select from 1 to 2 options, not 3"):
        multi.validate_answer(["red", "green", "blue"])
    with pytest.raises(ValueError, match="needs an answer"):
        multi.validate_answer([])
    with pytest.raises(ValueError, match=r"\['pink'\] are not among the options"):
        multi.validate_answer(["pink"])
    with pytest.raises(ValueError, match="selected twice"):
        multi.validate_answer(["red", "red"])
    with pytest.raises(ValueError, match="list of options"):
        multi.validate_answer("red")
    assert q(kind="multi", options=["a", "b"], required=False).validate_answer([]) is None
    with pytest.raises(ValidationError, match="min_selected <= max_selected <= 2"):
        q(kind="multi", options=["a", "b"], max_selected=3)
    with pytest.raises(ValidationError, match="options must be distinct"):
        q(kind="multi", options=["a", "a"])


def test_slider_range_step_and_start() -> None:
    slider = q(kind="slider", slider_min=0, slider_max=10, slider_step=0.5, anchors=["cold", "hot"])
    assert slider.start == 5 and slider.validate_answer(2.5) == 2.5 and slider.validate_answer(3) == 3
    with pytest.raises(ValueError, match="from 0 to 10 in steps of 0.5"):
        slider.validate_answer(2.25)
    with pytest.raises(ValueError, match="from 0 to 10"):
        slider.validate_answer(11)
    with pytest.raises(ValueError, match="must be a number"):
        slider.validate_answer(True)
    with pytest.raises(ValueError, match="needs an answer"):
        slider.validate_answer(None)  # the page sends null until the participant moved it
    assert q(kind="slider", slider_min=0, slider_max=3, slider_step=1).start == 2  # the step nearest the middle
    with pytest.raises(ValidationError, match="whole number of slider_step"):
        q(kind="slider", slider_max=10, slider_step=3)
    with pytest.raises(ValidationError, match="slider_start must be a step"):
        q(kind="slider", slider_start=0.5)
    with pytest.raises(ValidationError, match="2 anchors"):
        q(kind="slider", anchors=["only one"])


def test_comprehension_checks_know_their_correct_answers() -> None:
    choice = q(kind="choice", options=["left", "right"], correct="left")
    assert choice.is_correct("left") and not choice.is_correct("right")
    several = q(kind="number", correct=[3, 4])
    assert several.is_correct(several.validate_answer("4")) and not several.is_correct(5)
    text = q(kind="text", correct=["Blue team"])
    assert text.is_correct("  blue TEAM ") and not text.is_correct("red team")
    multi = q(kind="multi", options=["a", "b", "c"], correct=["c", "a"])
    assert multi.is_correct(["a", "c"]) and not multi.is_correct(["a"]) and not multi.is_correct(["a", "b", "c"])
    with pytest.raises(ValidationError, match="correct answer 'up' is not a valid answer"):
        q(kind="choice", options=["left", "right"], correct="up")
    with pytest.raises(ValidationError, match="must be required"):
        q(kind="choice", options=["a", "b"], correct="a", required=False)
    with pytest.raises(ValueError, match="has no correct answer"):
        q().is_correct("x")


def test_the_page_never_gets_the_correct_answers() -> None:
    scene = StaticScene(
        id="quiz",
        questions=[q(id="c", kind="choice", options=["a", "b"], correct="b"), q(id="t")],
        max_attempts=2,
    )
    spec = scene_spec(scene, seed=None, completion_code="", params={})
    check, free = spec["questions"]
    assert "correct" not in check and check["check"] is True and free["check"] is False
    assert "b" not in str({k: v for k, v in check.items() if k != "options"})
    assert [c.id for c in scene.checks] == ["c"]


def test_max_attempts_needs_a_check() -> None:
    with pytest.raises(ValidationError, match="no question has a `correct` answer"):
        StaticScene(id="s", questions=[q()], max_attempts=3)
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        StaticScene(id="s", questions=[q(kind="number", correct=1)], max_attempts=0)
