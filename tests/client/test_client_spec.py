"""The worker's typed SceneSpec: parsed once, errors name the field, defaults pinned to GameScene's."""

from __future__ import annotations

import dataclasses

import pytest

from mug.client.spec import GameSpec, SpecError
from mug.configurations import GameScene
from mug.server.scenes import scene_spec

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
