"""The connect-four (AEC, clicks, two people) and Gather (integer agent ids) examples, in CPython."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mug.client.runner import Runner
from mug.configurations import EndScene, GameScene, PointerGrid, Policy, load_experiment
from mug.envcheck.check import Trajectory, check_cpython
from mug.server.scenes import scene_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

pytestmark = pytest.mark.usefixtures("example_envs")


def spec(path: str, scene_id: str) -> tuple[GameScene, dict[str, Any]]:
    scene = load_experiment(str(EXAMPLES / path)).scene(scene_id)
    assert isinstance(scene, GameScene)
    return scene, scene_spec(scene, seed=3, completion_code="X", params={})


def test_connect_four_experiment_is_a_match_of_two_clicking_humans() -> None:
    experiment = load_experiment(str(EXAMPLES / "connect_four" / "experiment.py"))
    game = experiment.scene("connect_four")
    assert isinstance(game, GameScene) and game.multiplayer and game.human_agents == ["player_0", "player_1"]
    assert game.pointer == PointerGrid(rows=1, cols=7, actions=list(range(7)))
    assert isinstance(experiment.scenes[-1], EndScene)
    assert experiment.packages == [str((EXAMPLES / "connect_four" / "connect_four_env").resolve())]


def test_connect_four_is_standard_pettingzoo_aec() -> None:
    from connect_four_env.game import make_env
    from pettingzoo import AECEnv
    from pettingzoo.test import api_test

    env = make_env()
    assert isinstance(env, AECEnv)
    with pytest.raises(AttributeError):
        env.agent_selection  # noqa: B018  (set in reset(), as PettingZoo documents; the wrapper raises before)
    # api_test's advice (UserWarnings) exempts PettingZoo's own board games by name: an empty board is all
    # zeros, and the observation is a Dict with an action mask. Its assertions still hold.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        api_test(make_env(), num_cycles=200)


def click(col: int) -> tuple[float, float, float, float]:
    return ((col + 0.5) * 64, 200.0, 448.0, 416.0)  # surface coordinates of the 448 x 416 picture


def test_connect_four_runner_waits_for_clicks_and_ignores_masked_ones() -> None:
    _, scene = spec("connect_four/experiment.py", "connect_four")
    runner = Runner()
    first = runner.start(scene, seed=3)
    assert first["render"] == {"kind": "rgb", "width": 448, "height": 416}
    assert first["turn"] == {"agent": "player_0", "yours": True, "human": True, "seconds_left": None}
    for _ in range(5):  # nobody clicks: nothing is played (no no-op, no default action)
        assert runner.tick([], [], 0.0)["rows"] == []
    moves = [6, 6, 6, 6, 6, 6, 6, 0, 1, 0, 1, 0, 1, 0]  # the seventh disc in column 6 does not fit: masked
    rows = []
    for col in moves:
        rows += runner.tick([], [], 0.0, clicks=[click(col)])["rows"]
    while not runner.episode_done:
        rows += runner.tick([], [], 0.0)["rows"]  # the dead steps of the finished game
    actions = [json.loads(json.dumps(r["action"])) for r in rows]
    played = [a for a in actions if list(a.values()) != [None]]
    assert played == [{"player_0": 6}, {"player_1": 6}] * 3 + [{"player_0": 0}, {"player_1": 1}] * 3 + [{"player_0": 0}]
    assert rows[len(played) - 1]["reward"] == {"player_0": 1.0, "player_1": -1.0}
    runner.close()


def test_gather_names_integer_agents_unchanged() -> None:
    game, scene = spec("gather/experiment.py", "gather")
    assert game.agents == {0: "human", 1: Policy(ref="gather_env.partner:make_greedy")}
    assert scene["agents"] == {"0": "human", "1": {"ref": "gather_env.partner:make_greedy", "kwargs": {}}}
    from gather_env import parallel_env

    env = parallel_env()
    assert env.possible_agents == [0, 1]

    def play() -> list[Any]:
        runner = Runner()
        first = runner.start(scene, seed=9)
        assert first["render"]["kind"] == "rgb" and first["pixels"].shape == (160, 160, 4)
        rows = []
        for i in range(120):
            out = runner.tick(["ArrowRight" if (i // 10) % 2 else "ArrowDown"], [], 0.0)
            rows += [(r["action"], r["reward"], r["obs_checksum"]) for r in out["rows"]]
        runner.close()
        return rows

    rows = play()
    assert len(rows) == 120 and rows == play()
    assert set(rows[0][0]) == {"0", "1"} and {r[0]["0"] for r in rows} == {2, 4}
    assert sum(r[1]["1"] for r in rows) > 0, "the AI partner gathers apples"


def test_gather_rejects_bad_sizes() -> None:
    from gather_env import parallel_env

    with pytest.raises(ValueError, match="size=2: the grid needs at least 3 x 3 cells"):
        parallel_env(size=2)
    with pytest.raises(ValueError, match="apples=0: use 1 to 62"):
        parallel_env(apples=0)


@pytest.mark.parametrize(
    ("path", "scene_id"), [("connect_four/experiment.py", "connect_four"), ("gather/experiment.py", "gather")]
)
def test_example_passes_the_start_up_check(path: str, scene_id: str) -> None:
    game, _ = spec(path, scene_id)
    trajectory = Trajectory(game.env, dict(game.env_kwargs), seed=1, steps=150, agents=game.agents_spec())
    report = check_cpython(trajectory, game.packages)
    assert report.ok, report.message
    obs_dtypes = {d for _, mapping in report.runs[0].dtypes for d in mapping.values()}
    assert obs_dtypes == {"int8"}, "explicit dtypes: the same in the browser"
    assert not np.isnan(report.timings["cpython"])
