"""The checker's CPython pair names the cause of each broken env (tests/envcheck/testpkg/.../broken.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mug.envcheck.causes import (
    INTEGER_DTYPES,
    PLATFORM_MATHS,
    SET_ORDER,
    UNSEEDED_RANDOMNESS,
    WALL_CLOCK,
    Run,
    compare,
    first_difference,
)
from mug.envcheck.check import Trajectory, check_cpython

BROKEN = "mug_envcheck_testenvs.broken:"


@pytest.mark.parametrize(
    ("env", "cause", "seen"),
    [
        ("NumpyGlobalRandomEnv", UNSEEDED_RANDOMNESS, "numpy.random (the legacy global generator)"),
        ("UnseededGeneratorEnv", UNSEEDED_RANDOMNESS, "os.urandom"),
        ("NoisyEnv", UNSEEDED_RANDOMNESS, "random (the global generator)"),
        ("ClockEnv", WALL_CLOCK, "time.time_ns"),
        ("SetOrderEnv", SET_ORDER, "PYTHONHASHSEED=0 and 1"),
    ],
)
def test_cpython_pair_names_the_cause(testenvs: Path, env: str, cause: str, seen: str) -> None:
    ref = ("mug_envcheck_testenvs:" if env == "NoisyEnv" else BROKEN) + env
    report = check_cpython(Trajectory(ref, seed=4, steps=12))
    assert not report.ok
    assert report.first_mismatch == 3, report.message
    assert report.cause_names == [cause], report.message
    assert f"likely cause: {cause}: " in report.message and seen in report.message
    assert "CPython (PYTHONHASHSEED=0) and CPython (PYTHONHASHSEED=1) first differ at step 3" in report.message


def test_a_deterministic_env_passes_and_the_dtype_env_agrees_with_itself(testenvs: Path) -> None:
    for ref in ("mug_envcheck_testenvs:TagParallelEnv", BROKEN + "IntDtypeEnv"):
        report = check_cpython(Trajectory(ref, seed=4, steps=30))
        assert report.ok, report.message
        assert report.steps_compared == 30 and [r.hash_seed for r in report.runs] == [0, 1]
        assert (
            "deterministic: 30 steps agree in CPython (PYTHONHASHSEED=0), CPython (PYTHONHASHSEED=1)" in report.message
        )


def test_an_aec_env_is_played_by_turns_with_its_mask(testenvs: Path) -> None:
    # A PettingZoo AEC env with no no-op and a mask: random moves are legal ones, so games end by a win or
    # a full board (an illegal move would end them at once with -1), many episodes over 200 turns.
    report = check_cpython(Trajectory("mug_envcheck_testenvs.turns:env", seed=2, steps=200))
    assert report.ok, report.message


def test_errors_are_reported_as_data(testenvs: Path) -> None:
    report = check_cpython(Trajectory("mug_envcheck_testenvs:make_broken", steps=5))
    assert not report.ok
    assert report.message.startswith(
        "mug_envcheck_testenvs:make_broken: the environment failed in CPython: "
        "RuntimeError: this factory is broken on purpose"
    )


def run(side: str, sums: list[str], dtypes: dict[str, str], seed: int = 0, **kw: object) -> Run:
    return Run(side, seed, sums, [[0, dtypes]], **kw)  # type: ignore[arg-type]


def test_cross_platform_dtype_and_maths_causes() -> None:
    cp = [run("CPython", ["a", "b"], {"obs": "int64"}), run("CPython", ["a", "b"], {"obs": "int64"}, 1)]
    py = [run("Pyodide", ["x", "y"], {"obs": "int32"}), run("Pyodide", ["x", "y"], {"obs": "int32"}, 1)]
    (diff,) = compare(cp, py)
    assert diff.step == 0 and [c.name for c in diff.causes] == [INTEGER_DTYPES]
    assert "obs: int64 in CPython, int32 in Pyodide" in diff.causes[0].detail
    py = [run("Pyodide", ["a", "y"], {"obs": "int64"}), run("Pyodide", ["a", "y"], {"obs": "int64"}, 1)]
    (diff,) = compare(cp, py)
    assert diff.step == 1 and [c.name for c in diff.causes] == [PLATFORM_MATHS]


def test_a_side_that_disagrees_with_itself_explains_the_cross_platform_difference() -> None:
    clock = [{"step": 1, "kind": "clock", "what": "time.time"}]
    cp = [run("CPython", ["a", "b"], {}, findings=clock), run("CPython", ["a", "c"], {}, 1, findings=clock)]
    py = [run("Pyodide", ["a", "d"], {}), run("Pyodide", ["a", "e"], {}, 1)]
    diffs = compare(cp, py)
    assert [(d.a.side, d.b.side, d.step) for d in diffs] == [("CPython", "CPython", 1), ("Pyodide", "Pyodide", 1)]
    assert [c.name for c in diffs[0].causes] == [WALL_CLOCK]
    assert [c.name for c in diffs[1].causes] == [SET_ORDER]  # Pyodide's runs saw no clock: only hashing differs


def test_first_difference() -> None:
    assert first_difference(["a", "b"], ["a", "b"]) is None
    assert first_difference(["a", "b"], ["a", "c"]) == 1
    assert first_difference(["a", "b"], ["a"]) == 1


def test_cli_refuses_bad_step_counts(capsys: pytest.CaptureFixture[str]) -> None:
    from mug.envcheck.cli import cli

    for args, message in ((["--steps", "0"], "--steps 0: give 1 or more"), (["--max-steps", "-1"], "--max-steps -1")):
        with pytest.raises(SystemExit) as exit_info:
            cli(["gymnasium.envs.classic_control.cartpole:CartPoleEnv", *args])
        assert exit_info.value.code == 2 and message in capsys.readouterr().err
