"""The shared trajectory code and the report, in CPython only."""

from pathlib import Path

import pytest

from mug.client.trajectory import run_trajectory, trajectory_report
from mug.envcheck import CheckReport
from mug.envcheck.causes import Run, compare

CARTPOLE = "gymnasium.envs.classic_control.cartpole:CartPoleEnv"


def test_same_seed_same_checksums() -> None:
    a = run_trajectory(CARTPOLE, {}, 7, 120)
    assert len(a) == 120 and a == run_trajectory(CARTPOLE, {}, 7, 120)
    assert a != run_trajectory(CARTPOLE, {}, 8, 120)


def test_given_actions_are_used() -> None:
    left = run_trajectory(CARTPOLE, {}, 7, 10, actions=[0] * 10)
    right = run_trajectory(CARTPOLE, {}, 7, 10, actions=[1] * 10)
    assert left != right
    with pytest.raises(ValueError, match="3 actions were given for 10 steps"):
        run_trajectory(CARTPOLE, {}, 7, 10, actions=[0] * 3)


def test_parallel_env_runs_across_episodes(testenvs: Path) -> None:
    sums = run_trajectory("mug_envcheck_testenvs:TagParallelEnv", {"max_steps": 5}, 3, 40)
    assert len(sums) == 40 and sums == run_trajectory("mug_envcheck_testenvs:TagParallelEnv", {"max_steps": 5}, 3, 40)
    fixed = run_trajectory("mug_envcheck_testenvs:TagParallelEnv", {}, 3, 4, actions=[{"a": 0, "b": 2}] * 4)
    assert len(fixed) == 4


def test_bad_factory_names() -> None:
    report = trajectory_report("gymnasium.envs", {}, 0, 5)
    assert report["checksums"] == [] and report["error"]["type"] == "EnvError"  # as the browser's EnvHost says
    assert "is not a 'package.module:callable' reference" in report["error"]["message"]
    report = trajectory_report("no_such_module_xyz:make", {}, 0, 5)
    assert report["error"]["type"] == "EnvError" and "cannot import 'no_such_module_xyz'" in report["error"]["message"]


def test_aec_env_plays_given_moves_by_turns_and_refuses_a_masked_one(testenvs: Path) -> None:
    ref = "mug_envcheck_testenvs.turns:env"
    sums = run_trajectory(ref, {}, 3, 6, actions=[0, 1, 2, 0, 1, 2])
    assert len(sums) == 6 and sums == run_trajectory(ref, {}, 3, 6, actions=[0, 1, 2, 0, 1, 2])
    assert sums != run_trajectory(ref, {}, 3, 6, actions=[2, 1, 0, 0, 1, 2])
    report = trajectory_report(ref, {}, 3, 40, actions=[2] * 40)  # take 3 until fewer than 3 are left
    assert report["error"]["type"] == "EnvError" and "has no legal action" in report["error"]["message"]


def test_dtypes_are_recorded_when_they_change(testenvs: Path) -> None:
    report = trajectory_report("mug_envcheck_testenvs.broken:IntDtypeEnv", {}, 0, 5)
    assert report["dtypes"] == [[0, {"obs['player']": "int64"}]] and report["findings"] == []
    report = trajectory_report("mug_envcheck_testenvs.turns:env", {}, 0, 3)
    assert report["dtypes"][0][1] == {
        "obs['first']['action_mask']": "int8",
        "obs['first']['observation']": "int16",
        "obs['second']['action_mask']": "int8",
        "obs['second']['observation']": "int16",
    }


def test_factory_exception_is_data(testenvs: Path) -> None:
    report = trajectory_report("mug_envcheck_testenvs:make_broken", {}, 0, 5)
    assert report["error"]["message"] == "this factory is broken on purpose"


def test_report_messages() -> None:
    runs = [Run("CPython", 0, ["a"] * 3), Run("Pyodide", 0, ["a"] * 3)]
    ok = CheckReport("f:g", 3, runs, compare(runs[:1], runs[1:]))
    assert ok.ok and "deterministic: 3 steps agree in CPython (PYTHONHASHSEED=0), Pyodide" in ok.message
    runs = [Run("CPython", 0, ["a", "b", "c"]), Run("Pyodide", 0, ["a", "x", "c"])]
    bad = CheckReport("f:g", 3, runs, compare(runs[:1], runs[1:]))
    assert not bad.ok and bad.first_mismatch == 1
    assert "CPython (PYTHONHASHSEED=0) and Pyodide (PYTHONHASHSEED=0) first differ at step 1 (b vs x)" in bad.message
    assert "likely cause: platform maths" in bad.message


def test_a_policy_decides_every_act_every_steps_as_in_the_browser(testenvs: Path) -> None:
    from mug_envcheck_testenvs import policies

    ref = "mug_envcheck_testenvs.policies:make_counting"
    env = "mug_envcheck_testenvs:TagParallelEnv"
    policies.CALLS.clear()
    run_trajectory(env, {"max_steps": 100}, 3, 9, agents={"a": "human", "b": {"ref": ref, "act_every": 3}})
    assert policies.CALLS == ["b"] * 3  # steps 0, 3 and 6; the action is held in between
    policies.CALLS.clear()
    run_trajectory(env, {"max_steps": 100}, 3, 9, agents={"a": "human", "b": {"ref": ref}})
    assert policies.CALLS == ["b"] * 9


def test_an_onnx_agent_plays_seeded_legal_actions_at_its_act_every(testenvs: Path) -> None:
    env = "mug_envcheck_testenvs:TagParallelEnv"
    onnx = {"kind": "onnx", "model": "partner.onnx", "input": None, "output": "argmax", "act_every": 2}
    sums = run_trajectory(env, {"max_steps": 5}, 3, 30, agents={"a": "human", "b": onnx})
    assert len(sums) == 30 and sums == run_trajectory(env, {"max_steps": 5}, 3, 30, agents={"a": "human", "b": onnx})
    stand_in = {"ref": "mug.client.trajectory:make_seeded_legal", "act_every": 2}
    assert sums == run_trajectory(env, {"max_steps": 5}, 3, 30, agents={"a": "human", "b": stand_in})
    every_step = run_trajectory(env, {"max_steps": 5}, 3, 30, agents={"a": "human", "b": onnx | {"act_every": 1}})
    assert every_step != sums


def test_the_onnx_stand_in_respects_the_mask() -> None:
    import gymnasium
    import numpy as np

    from mug.client.trajectory import make_seeded_legal

    act = make_seeded_legal("p", gymnasium.spaces.Discrete(4, start=1))
    mask = np.array([0, 1, 0, 1], dtype=np.int8)
    rng = np.random.default_rng(5)
    picks = {act(None, rng, action_mask=mask) for _ in range(50)}
    assert picks == {2, 4}
    first, second = np.random.default_rng(9), np.random.default_rng(9)
    assert [act(None, first, action_mask=mask) for _ in range(8)] == [
        act(None, second, action_mask=mask) for _ in range(8)
    ]
