"""`input_delay` outside the lockstep's range fails at start-up, also when a condition sets it."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from mug.client.lockstep.timing import MAX_INPUT_DELAY, MIN_INPUT_DELAY
from mug.configurations import Condition, EndScene, Experiment, GameScene, load_experiment
from mug.configurations.experiment import ExperimentError


def duo() -> GameScene:
    return GameScene(id="g", env="a.b:c", agents={"a": "human", "b": "human"}, key_bindings={"x": 0})


@pytest.mark.parametrize("delay", [MIN_INPUT_DELAY - 1, MAX_INPUT_DELAY + 1])
def test_a_condition_override_is_checked_and_names_the_field(delay: int) -> None:
    with pytest.raises(ValidationError, match=rf"(?s)condition 'c1'.*input_delay={delay} is outside what the lockstep"):
        Experiment(
            id="e",
            scenes=[duo(), EndScene(id="end")],
            conditions=[Condition(id="c1", overrides={"g": {"input_delay": delay}})],
        )


def test_an_experiment_file_with_a_bad_delay_does_not_load(tmp_path: Path) -> None:
    (tmp_path / "study.py").write_text(
        "from mug.configurations import *\n"
        "experiment = Experiment(id='s', scenes=[GameScene(id='g', env='a.b:c', agents={'a': 'human', 'b': 'human'}, "
        "key_bindings={'x': 0}, input_delay=13), EndScene(id='end')])\n"
    )
    with pytest.raises(ExperimentError, match="input_delay=13 is outside what the lockstep accepts: use 'auto' or 1"):
        load_experiment(str(tmp_path / "study.py"))
