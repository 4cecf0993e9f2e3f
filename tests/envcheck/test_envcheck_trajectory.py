"""The shared trajectory code and the report, in CPython only."""

from pathlib import Path

import pytest

from mug.client.trajectory import run_trajectory, trajectory_report
from mug.envcheck import CheckReport

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
    assert report["checksums"] == [] and report["error"]["type"] == "RefError"
    assert "is not a 'package.module:callable' reference" in report["error"]["message"]
    report = trajectory_report("no_such_module_xyz:make", {}, 0, 5)
    assert report["error"]["type"] == "RefError" and "cannot import 'no_such_module_xyz'" in report["error"]["message"]


def test_factory_exception_is_data(testenvs: Path) -> None:
    report = trajectory_report("mug_envcheck_testenvs:make_broken", {}, 0, 5)
    assert report["error"]["message"] == "this factory is broken on purpose"


def test_report_messages() -> None:
    ok = CheckReport("f:g", 3, 3, None, cpython_checksums=["a"] * 3, pyodide_checksums=["a"] * 3)
    assert ok.ok and "deterministic: 3 steps agree" in ok.message
    bad = CheckReport("f:g", 3, 3, 1, cpython_checksums=["a", "b", "c"], pyodide_checksums=["a", "x", "c"])
    assert not bad.ok and "first difference at step 1 (CPython b, Pyodide x)" in bad.message
