"""The worker's typed SceneSpec and match_start: parsed once, errors name the field, defaults pinned to
GameScene's."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from mug.client.match_plan import MatchPlan
from mug.client.spec import GameSpec, SpecError
from mug.configurations import GameScene
from mug.server.scenes import scene_spec
from mug.server.wire import MatchStart

KEYS = {"ArrowLeft": 0, "ArrowRight": 2}


def test_the_servers_scene_spec_parses_with_every_field() -> None:
    scene = GameScene(
        id="g",
        env="client_envs:make_counter",
        key_bindings=KEYS,
        fps=20,
        num_episodes=3,
        max_steps=9,
        input_mode="press",
    )
    spec = GameSpec.parse(scene_spec(scene, seed=1, completion_code="c", params={}))
    assert (spec.fps, spec.num_episodes, spec.max_steps, spec.input_mode) == (20, 3, 9, "press")
    assert spec.agents == {"player": "human"} and spec.turn is None


def test_the_defaults_are_game_scenes() -> None:
    scene = GameScene(id="g", env="client_envs:make_counter", key_bindings=KEYS)
    full = scene_spec(scene, seed=None, completion_code="", params={})
    names = {f.name for f in dataclasses.fields(GameSpec)}
    assert names <= set(full), names - set(full)
    assert GameSpec.parse(full) == GameSpec.parse({"env": "client_envs:make_counter", "key_bindings": KEYS})


def test_a_spec_without_env_is_an_error_naming_it() -> None:
    with pytest.raises(SpecError, match="scene 'g'.*no 'env'"):
        GameSpec.parse({"id": "g", "fps": 30})


@pytest.mark.parametrize(
    ("field", "value"),
    [("fps", 0), ("fps", "30"), ("num_episodes", True), ("max_steps", 0), ("input_mode", "tap"), ("agents", {})],
)
def test_a_bad_field_is_an_error_naming_it(field: str, value: object) -> None:
    with pytest.raises(SpecError, match=f"field '{field}'"):
        GameSpec.parse({"id": "g", "env": "m:f", field: value})


def test_a_spec_is_frozen() -> None:
    spec = GameSpec.parse({"env": "m:f"})
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.fps = 60  # type: ignore[misc]


# ---------------------------------------------------------------- match_start


def match_start(**kw: object) -> dict[str, object]:
    agents: dict[str, dict[str, Any]] = {
        "0": {"kind": "human", "slot": 0},
        "1": {"kind": "human", "slot": 1},
        "bot": {"kind": "policy", "ref": "client_envs:make_policy", "kwargs": {"bias": 1}},
    }
    start = MatchStart(
        match_id="m", scene_id="g", seed=5, slot=1, members=["p0", "p1"], agents=agents, input_delay=3, ice={}
    )
    return start.payload() | kw


def test_the_servers_match_start_parses() -> None:
    plan = MatchPlan.from_start(match_start())
    assert (plan.match_id, plan.seed, plan.slot, plan.members, plan.input_delay) == ("m", 5, 1, ("p0", "p1"), 3)
    assert plan.humans == {0: 0, 1: 1} and plan.policies == {"bot": ("client_envs:make_policy", {"bias": 1})}
    assert MatchPlan.from_start(match_start(input_delay="auto")).input_delay is None


@pytest.mark.parametrize("field", ["match_id", "seed", "slot", "members", "agents"])
def test_a_match_start_without_a_field_is_an_error_naming_it(field: str) -> None:
    start = match_start()
    del start[field]
    with pytest.raises(SpecError, match=f"match_start has no '{field}'"):
        MatchPlan.from_start(start)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"seed": "5"}, "field 'seed'"),
        ({"input_delay": "3"}, "'input_delay'"),
        ({"input_delay": 99}, "outside"),
        ({"agents": {"0": {"kind": "robot"}}}, "agent 0"),
        ({"agents": {"0": {"kind": "human", "slot": 0}, "1": {"kind": "policy"}}}, "agent 1's policy"),
    ],
)
def test_a_bad_match_start_field_is_an_error_naming_it(change: dict[str, object], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        MatchPlan.from_start(match_start(**change))
