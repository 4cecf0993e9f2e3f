"""GameScene: agent ids as PettingZoo has them (str or int), turn time limits, the input delay's range."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from mug.client.lockstep.timing import MAX_INPUT_DELAY, MIN_INPUT_DELAY
from mug.configurations import GameScene, Lobby, Policy
from mug.server.multiplayer import match_agents
from mug.server.scenes import scene_spec

BOT = "pkg.bots:make_bot"


def game(**kw: object) -> GameScene:
    return GameScene(**({"id": "g", "env": "pkg.mod:make", "key_bindings": {"ArrowLeft": 0}} | kw))  # type: ignore[arg-type]


def test_integer_agent_ids_are_accepted_everywhere_agents_are_named() -> None:
    scene = game(agents={1: "human", 0: "human", 2: BOT}, lobby=Lobby(on_timeout="ai"), ai_fallback={0: BOT, 1: BOT})
    assert scene.human_agents == [0, 1] and scene.multiplayer
    assert scene.ai_fallback[0] == Policy(ref=BOT)
    spec = scene_spec(scene, seed=1, completion_code="c", params={})
    assert list(spec["agents"]) == ["0", "1", "2"] and spec["agents"]["2"] == {"ref": BOT, "kwargs": {}}
    assert match_agents(scene, 1) == {
        "0": {"kind": "human", "slot": 0},
        "1": {"kind": "policy", "ref": BOT, "kwargs": {}},
        "2": {"kind": "policy", "ref": BOT, "kwargs": {}},
    }


def test_an_int_id_and_a_digit_name_are_told_apart_in_what_the_page_and_matches_csv_get() -> None:
    scene = game(agents={0: "human", "0": "human"})
    assert json.dumps(match_agents(scene, 2), sort_keys=True) == (
        '{"\\"0\\"": {"kind": "human", "slot": 1}, "0": {"kind": "human", "slot": 0}}'
    )


def test_str_agent_ids_keep_their_names_and_order() -> None:
    scene = game(agents={"right": "human", "left": "human"})
    assert scene.human_agents == ["left", "right"]
    assert list(scene_spec(scene, seed=1, completion_code="c", params={})["agents"]) == ["left", "right"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"agents": {True: "human"}}, "agents: agent id True: use a str or an int"),
        ({"agents": {1.5: "human"}}, "agents: agent id 1.5"),
        ({"agents": {"": "human"}}, "agents: agent id ''"),
        ({"agents": {0: "human", 1: "human"}, "ai_fallback": {"0": BOT}}, r"ai_fallback names agents \['\"0\"'\]"),
        ({"ai_fallback": {False: BOT}}, "ai_fallback: agent id False"),
    ],
)
def test_bad_agent_ids_are_refused_naming_the_field(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        game(**kwargs)


@pytest.mark.parametrize("delay", [0, -1, MAX_INPUT_DELAY + 1, 30])
def test_input_delay_outside_the_lockstep_range_fails_at_start_up(delay: int) -> None:
    with pytest.raises(ValidationError, match=rf"input_delay={delay} is outside .* use 'auto' or 1 to 12 frames"):
        game(input_delay=delay)


@pytest.mark.parametrize("delay", [MIN_INPUT_DELAY, MAX_INPUT_DELAY, "auto"])
def test_input_delay_inside_the_range_is_kept(delay: int | str) -> None:
    assert game(input_delay=delay).input_delay == delay


def test_turn_time_limit_and_fallback() -> None:
    assert game().turn_spec is None
    scene = game(turn_time_limit_s=20, turn_fallback="default_action")
    assert scene_spec(scene, seed=1, completion_code="c", params={})["turn"] == {
        "time_limit_s": 20.0,
        "fallback": "default_action",
    }
    policy = game(turn_time_limit_s=5, turn_fallback=BOT)
    assert policy.turn_fallback == Policy(ref=BOT)
    assert policy.turn_spec == {"time_limit_s": 5.0, "fallback": {"ref": BOT, "kwargs": {}}}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"turn_time_limit_s": 10}, "turn_time_limit_s and turn_fallback go together"),
        ({"turn_fallback": "default_action"}, "turn_time_limit_s and turn_fallback go together"),
        ({"turn_time_limit_s": 0, "turn_fallback": "default_action"}, "turn_time_limit_s"),
        ({"turn_time_limit_s": 5, "turn_fallback": "not a ref"}, "policy: 'not a ref'"),
    ],
)
def test_bad_turn_settings_are_refused(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        game(**kwargs)
