"""Conditions, Randomize and Repeat: validation and per-participant resolution."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mug.configurations import (
    Condition,
    EndScene,
    Entry,
    Experiment,
    GameScene,
    Randomize,
    Repeat,
    StaticScene,
)

KEYS = {"ArrowLeft": 0}


def game(**kw: object) -> GameScene:
    return GameScene(**({"id": "game", "env": "m.envs:make", "key_bindings": KEYS} | kw))  # type: ignore[arg-type]


def test_an_experiment_without_conditions_keeps_its_scenes() -> None:
    experiment = Experiment(id="x", scenes=[StaticScene(id="a"), game(), EndScene(id="end")])
    assert not experiment.personal and experiment.condition_ids == []
    assert [p.scene.id for p in experiment.plan(None, 5)] == ["a", "game", "end"]
    assert experiment.index("game") == 1 and experiment.scene("game").kind == "game"


def test_randomize_is_seeded_and_keeps_k() -> None:
    block = Randomize([StaticScene(id=f"s{i}") for i in range(5)], keep=3)
    experiment = Experiment(id="x", scenes=[block, EndScene(id="end")])
    orders = {tuple(p.scene.id for p in experiment.plan(None, seed)) for seed in range(20)}
    assert len(orders) > 5 and all(len(o) == 4 and o[-1] == "end" for o in orders)
    assert experiment.plan(None, 3) == experiment.plan(None, 3)
    with pytest.raises(ValidationError, match="keep=6 is more than its 5 scenes"):
        Randomize([StaticScene(id=f"s{i}") for i in range(5)], keep=6)


def test_repeat_gives_each_visit_its_own_id_and_index() -> None:
    experiment = Experiment(id="x", scenes=[Repeat(game(), 3), EndScene(id="end")])
    placed = experiment.plan(None, 0)
    assert [p.entry() for p in placed[:3]] == [{"id": f"game-{k}", "scene": "game", "repeat": k} for k in (1, 2, 3)]


def test_condition_overrides_rename_the_scene_and_multiplayer_scenes_per_condition() -> None:
    duo = game(id="duo", agents={"a": "human", "b": "human"})
    experiment = Experiment(
        id="x",
        scenes=[game(), duo, EndScene(id="end")],
        conditions=[Condition(id="c1"), Condition(id="c2", overrides={"game": {"env_kwargs": {"k": 2}}})],
    )
    one, two = ([p.scene for p in experiment.plan(c, 0)] for c in ("c1", "c2"))
    assert [s.id for s in one] == ["game", "duo--c1", "end"]
    assert [s.id for s in two] == ["game--c2", "duo--c2", "end"]
    assert isinstance(two[0], GameScene) and two[0].env_kwargs == {"k": 2}
    assert {s.id for s in experiment.game_scenes} == {"game", "game--c2", "duo--c1", "duo--c2"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"conditions": [Condition(id="a"), Condition(id="a")]}, "condition ids must be unique"),
        ({"conditions": [Condition(id="a", overrides={"nope": {"fps": 3}})]}, "overrides name scenes"),
        ({"conditions": [Condition(id="a", overrides={"game": {"fps": 0}})]}, "overrides of scene 'game'"),
        ({"conditions": [Condition(id="a", overrides={"game": {"id": "g"}})]}, "cannot change"),
        ({"conditions": [Condition(id="a", scenes=[game()])]}, "last scene must be an EndScene"),
        (
            {"conditions": [Condition(id="a", scenes=[game(fps=10), EndScene(id="end")]), Condition(id="b")]},
            "names a different scene in another condition",
        ),
    ],
)
def test_bad_conditions_are_refused_with_a_message(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        Experiment(id="x", scenes=[game(), EndScene(id="end")], **kwargs)  # type: ignore[arg-type]


def test_repeated_ids_in_a_resolved_list_are_refused() -> None:
    with pytest.raises(ValidationError, match="repeated"):
        Experiment(id="x", scenes=[StaticScene(id="s"), Randomize([StaticScene(id="s")]), EndScene(id="end")])


def test_entry_names_known_browsers() -> None:
    with pytest.raises(ValidationError, match="unknown browser families"):
        Entry(browsers={"netscape": 4})
