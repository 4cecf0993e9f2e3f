"""`mug serve` plays each game scene's env twice in CPython before it serves, and refuses a broken one."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mug.cli import check_envs
from mug.configurations import EndScene, Experiment, GameScene, Policy
from mug.envcheck.startup import check_scenes

TESTPKG = Path(__file__).resolve().parent / "testpkg"


def experiment(*scenes: GameScene) -> Experiment:
    return Experiment(id="e", scenes=[*scenes, EndScene(id="end")])


def scene(id: str, env: str, **kw: object) -> GameScene:
    return GameScene(id=id, env=env, packages=[str(TESTPKG)], key_bindings={"a": 0}, **kw)  # type: ignore[arg-type]


def test_each_distinct_env_is_checked_once_with_the_scenes_agents() -> None:
    checks = check_scenes(
        experiment(
            scene("noisy", "mug_envcheck_testenvs:NoisyEnv"),
            scene("noisy_again", "mug_envcheck_testenvs:NoisyEnv"),
            scene(
                "nim",
                "mug_envcheck_testenvs.turns:env",
                agents={"first": "human", "second": Policy(ref="mug_envcheck_testenvs.policies:make_lowest_legal")},
            ),
        ),
        steps=20,
    )
    assert [(c.scenes, c.verdict) for c in checks] == [(["noisy", "noisy_again"], "not deterministic"), (["nim"], "ok")]
    assert checks[0].report.cause_names == ["unseeded randomness"]
    assert "env check of scene 'noisy', 'noisy_again' (mug_envcheck_testenvs:NoisyEnv): not deterministic" in (
        checks[0].line
    )
    assert "likely cause: unseeded randomness" in checks[0].line and "mug check-env" in checks[0].line
    assert checks[1].trajectory.agents == {
        "first": "human",
        "second": {"ref": "mug_envcheck_testenvs.policies:make_lowest_legal", "kwargs": {}},
    }


def test_fail_refuses_warn_starts_off_skips(capsys: pytest.CaptureFixture[str]) -> None:
    broken = experiment(scene("clock", "mug_envcheck_testenvs.broken:ClockEnv"))
    assert check_envs(broken, "fail") is False
    err = capsys.readouterr().err
    assert "likely cause: the wall clock" in err and "mug: not starting" in err
    assert check_envs(broken, "warn") is True
    assert "not starting" not in capsys.readouterr().err
    assert check_envs(broken, "off") is True
    assert "env check skipped" in capsys.readouterr().err
    unimportable = experiment(GameScene(id="g", env="not_installed_anywhere:make", key_bindings={"a": 0}))
    assert check_envs(unimportable, "fail") is True  # the bundle may hold it: a warning, not a refusal
    assert "not checked, it cannot be imported here" in capsys.readouterr().err


def test_mug_serve_does_not_start_for_a_broken_env(tmp_path: Path) -> None:
    (tmp_path / "study.py").write_text(
        "from mug.configurations import *\n"
        "experiment = Experiment(id='s', scenes=[GameScene(id='g', env='mug_envcheck_testenvs.broken:SetOrderEnv', "
        f"packages=[{str(TESTPKG)!r}], key_bindings={{'a': 0}}), EndScene(id='end')])\n"
    )
    out = subprocess.run(
        [sys.executable, "-m", "mug.cli", "serve", "study.py", "--no-bundle", "--port", "1"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert out.returncode == 2, out
    assert "likely cause: set iteration order" in out.stderr and "mug: not starting" in out.stderr
    assert "Uvicorn running" not in out.stderr and "Traceback" not in out.stderr


def test_an_onnx_partner_experiment_passes_the_start_up_check(capsys: pytest.CaptureFixture[str]) -> None:
    from mug.configurations import load_experiment

    examples = Path(__file__).resolve().parents[2] / "examples"
    onnx_partner = load_experiment(str(examples / "onnx_partner" / "experiment.py"))
    assert check_envs(onnx_partner, "fail") is True
    err = capsys.readouterr().err
    assert "(mug.demos.catch_duo:make_env): ok, 120 steps agree in two CPython runs" in err
    assert "ONNX agent 'right': played with seeded legal actions, the model runs only in the browser" in err


def test_onnx_policies_pass_the_start_up_check_in_turn_based_matches_and_alone() -> None:
    from mug.configurations import OnnxPolicy

    onnx = OnnxPolicy(model="partner.onnx")
    players = {"first": "human", "second": "human"}
    match = scene("nim_match", "mug_envcheck_testenvs.turns:env", agents=players, ai_fallback={"second": onnx})
    alone = scene("nim_alone", "mug_envcheck_testenvs.turns:env", agents={"first": "human", "second": onnx})
    checks = check_scenes(experiment(match, alone), steps=10)
    assert [(c.scenes, c.verdict) for c in checks] == [(["nim_match"], "ok"), (["nim_alone"], "ok")]
    assert check_envs(experiment(match), "fail") is True
    # a simultaneous (parallel) env plays ONNX partners in a match
    tag = scene(
        "tag", "mug_envcheck_testenvs:TagParallelEnv", agents={"a": "human", "b": "human"}, ai_fallback={"b": onnx}
    )
    assert [c.verdict for c in check_scenes(experiment(tag), steps=10)] == ["ok"]
