import json
from typing import Any

import pytest

from mug.client.bridge import WorkerBridge
from mug.client.runner import Runner
from mug.client.seeding import episode_seed

CATCH = {
    "id": "catch",
    "env": "mug.demos.catch:make_env",
    "agents": {"player": "human"},
    "key_bindings": {"ArrowLeft": 0, "ArrowRight": 2},
    "default_action": 1,
    "num_episodes": 2,
    "max_steps": 40,
}


def play(scene: dict[str, Any], seed: int, keys: list[list[str]], first: int = 0) -> list[dict[str, Any]]:
    runner = Runner()
    runner.start(scene, seed, first)
    rows = []
    for i, held in enumerate(keys):
        out = runner.tick(held, [], float(i))
        rows += out["rows"]
        if out["episode_done"]:
            if out["scene_done"]:
                break
            runner.next_episode()
    return rows


def strip_time(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "t_ms"} for r in rows]


def test_max_steps_truncates_and_episodes_advance() -> None:
    rows = play(CATCH, 11, [["ArrowLeft"]] * 200)
    assert [r["step"] for r in rows if r["episode"] == 0] == list(range(1, 41))
    last = [r for r in rows if r["episode"] == 0][-1]
    assert last["truncated"] and not last["terminated"]
    assert {r["episode"] for r in rows} == {0, 1}
    assert rows[0]["episode_seed"] == episode_seed(11, 0) and rows[-1]["episode_seed"] == episode_seed(11, 1)
    assert all(r["agent"] == "" and r["obs_checksum"] for r in rows)


def test_same_seed_and_keys_give_same_rows() -> None:
    keys = [["ArrowLeft"] if i % 7 < 3 else ["ArrowRight"] for i in range(90)]
    assert strip_time(play(CATCH, 5, keys)) == strip_time(play(CATCH, 5, keys))
    assert strip_time(play(CATCH, 5, keys)) != strip_time(play(CATCH, 6, keys))


def test_termination_ends_the_episode() -> None:
    scene = {**CATCH, "env": "client_envs:make_counter", "max_steps": None, "num_episodes": 1}
    runner = Runner()
    runner.start(scene, 0, 0)
    for _i in range(20):
        out = runner.tick(["ArrowRight"], [], 0.0)
        if out["episode_done"]:
            break
    assert out["scene_done"] and out["rows"][-1]["terminated"] and not out["rows"][-1]["truncated"]
    assert runner.tick(["ArrowRight"], [], 0.0)["rows"] == []  # nothing more once done
    with pytest.raises(RuntimeError, match="all 1 episodes"):
        runner.next_episode()


def test_resume_starts_at_the_given_episode() -> None:
    rows = play(CATCH, 11, [[]] * 45, first=1)
    assert {r["episode"] for r in rows} == {1}
    assert rows == [] or rows[0]["episode_seed"] == episode_seed(11, 1)


def test_multi_agent_with_policy_rows_by_agent() -> None:
    scene = {
        "env": "client_envs:make_pair",
        "agents": {"a": "human", "b": {"ref": "client_envs:make_random_policy"}},
        "key_bindings": {"x": 2},
        "default_action": 0,
        "num_episodes": 1,
    }
    rows1 = play(scene, 3, [["x"]] * 10)
    rows2 = play(scene, 3, [["x"]] * 10)
    assert len(rows1) == 4 and rows1[-1]["terminated"]
    assert all(set(r["action"]) == {"a", "b"} and r["action"]["a"] == 2 for r in rows1)
    assert strip_time(rows1) == strip_time(rows2)


def test_demo_policy_plays_catch() -> None:
    scene = {
        **CATCH,
        "agents": {"player": {"ref": "mug.demos.policies:make_catcher", "kwargs": {"epsilon": 0}}},
    }
    rows = play(scene, 2, [[]] * 40)
    assert len(rows) == 40


def test_bridge_reports_errors_as_data() -> None:
    bridge = WorkerBridge()
    text, pixels = bridge.start(json.dumps({**CATCH, "env": "client_envs:broken"}), 1, 0)
    error = json.loads(text)["error"]
    assert pixels is None and error["where"] == "start" and "broken on purpose" in error["message"]


def test_bridge_tick_returns_json_and_pixels() -> None:
    bridge = WorkerBridge()
    scene = {**CATCH, "env": "client_envs:make_counter"}
    text, pixels = bridge.start(json.dumps(scene), 1, 0)
    assert json.loads(text)["render"]["kind"] == "rgb" and pixels.shape == (4, 6, 4)
    text, _ = bridge.tick(json.dumps({"held": ["ArrowRight"], "pressed": []}), 12.5)
    frame = json.loads(text)
    assert frame["rows"][0]["action"] == 2 and frame["rows"][0]["t_ms"] == 12.5
