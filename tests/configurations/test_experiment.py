"""Experiment and scene validation: wrong configuration fails with a message naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from mug.configurations import (
    EndScene,
    Experiment,
    ExperimentError,
    GameScene,
    Policy,
    Question,
    StaticScene,
    load_experiment,
)

END = EndScene(id="end")


def game(**kw: object) -> GameScene:
    return GameScene(**({"id": "g", "env": "pkg.mod:make", "key_bindings": {"ArrowLeft": 0}} | kw))  # type: ignore[arg-type]


def test_minimal_experiment_and_defaults() -> None:
    exp = Experiment(id="e1", scenes=[StaticScene(id="c", body="**hi**"), game(), END])
    scene = exp.game_scenes[0]
    assert scene.agents == {"player": "human"} and scene.human_agents == ["player"]
    assert exp.scenes[0].body_html == "<p><strong>hi</strong></p>\n"  # type: ignore[union-attr]


def test_policy_strings_become_policies() -> None:
    scene = game(agents={"a": "human", "b": "pkg.pol:make_policy"})
    assert scene.agents["b"] == Policy(ref="pkg.pol:make_policy")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"env": "no_colon"}, "env: 'no_colon' is not a 'package.module:callable'"),
        ({"fps": 0}, "fps"),
        ({"num_episodes": 0}, "num_episodes"),
        ({"key_bindings": {}}, "key_bindings must map keys to actions"),
        ({"agents": {}}, "agents must name at least one agent"),
        ({"agents": {"ai": "bad ref"}}, "policy: 'bad ref'"),
        ({"id": "has space"}, "scene id 'has space'"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_game_scene_errors_name_the_field(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        game(**kwargs)


def test_experiment_structure_errors() -> None:
    with pytest.raises(ValidationError, match="the last scene must be an EndScene"):
        Experiment(id="e", scenes=[game()])
    with pytest.raises(ValidationError, match="repeated: \\['g'\\]"):
        Experiment(id="e", scenes=[game(), game(), END])
    with pytest.raises(ValidationError, match="only the last scene may be an EndScene"):
        Experiment(id="e", scenes=[EndScene(id="x"), END])
    with pytest.raises(ValidationError, match="redirect_url"):
        EndScene(id="x", redirect_url="javascript:alert(1)")
    with pytest.raises(ValidationError, match="needs at least two options"):
        Question(id="q", prompt="?", kind="choice", options=["one"])


def test_question_answers() -> None:
    scale = Question(id="s", prompt="?", kind="scale", scale_min=1, scale_max=5)
    assert scale.validate_answer("3") == 3
    with pytest.raises(ValueError, match="from 1 to 5"):
        scale.validate_answer(6)
    optional = Question(id="t", prompt="?", required=False)
    assert optional.validate_answer("") is None


def test_load_experiment_from_file(tmp_path: Path) -> None:
    pkg = tmp_path / "my_env_pkg"
    pkg.mkdir()
    (tmp_path / "study.py").write_text(
        "from mug.configurations import *\n"
        "experiment = Experiment(id='s', scenes=[GameScene(id='g', env='my_env.x:make', "
        "key_bindings={'a': 0}, packages=['./my_env_pkg', 'tinyreq==1.0']), EndScene(id='end')])\n"
    )
    exp = load_experiment(str(tmp_path / "study.py"))
    assert exp.packages == [str(pkg.resolve()), "tinyreq==1.0"]


def test_load_experiment_errors(tmp_path: Path) -> None:
    with pytest.raises(ExperimentError, match="does not exist"):
        load_experiment(str(tmp_path / "missing.py"))
    (tmp_path / "broken.py").write_text(
        "from mug.configurations import *\n"
        "experiment = Experiment(id='s', scenes=[GameScene(id='g', env='nope', key_bindings={'a': 0}), "
        "EndScene(id='end')])\n"
    )
    with pytest.raises(ExperimentError, match="env: 'nope' is not a 'package.module:callable'"):
        load_experiment(str(tmp_path / "broken.py"))
    (tmp_path / "other.py").write_text("experiment = 3\n")
    with pytest.raises(ExperimentError, match="is a int, not a mug.configurations.Experiment"):
        load_experiment(str(tmp_path / "other.py"))
    with pytest.raises(ExperimentError, match="has no attribute 'study'"):
        load_experiment(str(tmp_path / "other.py") + ":study")


def test_demo_experiment_is_valid() -> None:
    from mug.demo import experiment

    assert experiment.scenes[-1].kind == "end" and experiment.game_scenes
