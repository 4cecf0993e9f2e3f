"""check_env end to end: CPython against Pyodide 0.27.7 in Node, with a real bundle."""

from pathlib import Path

import pytest

from mug.envcheck import check_env
from mug.envcheck.cli import cli
from mug.testing.bundle import BuiltBundle

pytestmark = pytest.mark.node


def test_cartpole_is_deterministic(bundle: BuiltBundle) -> None:
    report = check_env(
        "gymnasium.envs.classic_control.cartpole:CartPoleEnv",
        {},
        seed=1,
        steps=200,
        actions="random",
        bundle_dir=bundle.path,
        packages=bundle.packages,
    )
    print(report.message)
    assert report.ok, report.message
    assert report.steps_compared == 200 and report.first_mismatch is None


def test_pettingzoo_parallel_env_from_local_package(bundle: BuiltBundle, testenvs: Path) -> None:
    report = check_env(
        "mug_envcheck_testenvs:TagParallelEnv",
        {"max_steps": 20},
        seed=5,
        steps=150,
        actions="random",
        bundle_dir=bundle.path,
        packages=bundle.packages,
    )
    assert report.ok, report.message


def test_nondeterministic_env_is_located(bundle: BuiltBundle, testenvs: Path) -> None:
    report = check_env(
        "mug_envcheck_testenvs:NoisyEnv",
        {},
        seed=0,
        steps=20,
        actions="random",
        bundle_dir=bundle.path,
        packages=bundle.packages,
    )
    assert not report.ok
    assert report.first_mismatch == 3
    assert "first difference at step 3" in report.message
    # each side's pair disagrees (the global generator), and says so: four runs, two differences
    assert [(d.a.side, d.b.side, d.step) for d in report.differences] == [
        ("CPython", "CPython", 3),
        ("Pyodide", "Pyodide", 3),
    ]
    assert report.cause_names == ["unseeded randomness"]


def test_integer_dtypes_differ_between_cpython_and_pyodide(bundle: BuiltBundle, testenvs: Path) -> None:
    # np.array([pos, t]) is int64 in CPython and int32 in Pyodide: same values, other bytes
    report = check_env(
        "mug_envcheck_testenvs.broken:IntDtypeEnv",
        {},
        seed=0,
        steps=20,
        bundle_dir=bundle.path,
        packages=bundle.packages,
    )
    assert not report.ok and report.first_mismatch == 0
    (diff,) = report.differences
    assert (diff.a.side, diff.b.side) == ("CPython", "Pyodide")
    assert report.cause_names == ["integer dtypes"]
    assert "obs['player']: int64 in CPython, int32 in Pyodide" in report.message


def test_set_order_and_aec_turns_in_pyodide(bundle: BuiltBundle, testenvs: Path) -> None:
    report = check_env(
        "mug_envcheck_testenvs.broken:SetOrderEnv",
        {},
        seed=0,
        steps=8,
        bundle_dir=bundle.path,
        packages=bundle.packages,
    )
    assert [(d.a.side, d.b.side, d.step) for d in report.differences] == [
        ("CPython", "CPython", 3),
        ("Pyodide", "Pyodide", 3),
    ]
    assert report.cause_names == ["set iteration order"]
    report = check_env(
        "mug_envcheck_testenvs.turns:env", {}, seed=2, steps=120, bundle_dir=bundle.path, packages=bundle.packages
    )
    assert report.ok, report.message
    assert len(report.runs) == 4 and {r.side for r in report.runs} == {"CPython", "Pyodide"}


def test_factory_error_is_reported_not_a_stack_dump(bundle: BuiltBundle, testenvs: Path) -> None:
    report = check_env(
        "mug_envcheck_testenvs:make_broken",
        {},
        seed=0,
        steps=5,
        actions="random",
        bundle_dir=bundle.path,
        packages=bundle.packages,
    )
    assert not report.ok
    assert report.message.startswith(
        "mug_envcheck_testenvs:make_broken: the environment failed in CPython: "
        "RuntimeError: this factory is broken on purpose\n"
    )
    assert report.pyodide_error == "RuntimeError: this factory is broken on purpose"


def test_cli_exit_codes(bundle: BuiltBundle, testenvs: Path, capsys: pytest.CaptureFixture[str]) -> None:
    packages = [arg for pkg in bundle.packages for arg in ("--package", pkg)]
    base = ["--bundle", str(bundle.path), *packages, "--steps", "10"]
    assert cli(["gymnasium.envs.classic_control.cartpole:CartPoleEnv", *base]) == 0
    assert cli(["mug_envcheck_testenvs:NoisyEnv", *base]) == 1
    assert "NOT deterministic" in capsys.readouterr().out
    assert cli(["gymnasium.envs.classic_control.cartpole:CartPoleEnv", "--kwargs", "{oops", *base]) == 2


def test_pygame_stub_lets_an_env_that_imports_pygame_be_checked(bundle: BuiltBundle, testenvs: Path) -> None:
    import sys

    from mug.client import pyodide_compat

    if pyodide_compat.pygame_available():
        pytest.skip("a real pygame is installed here")
    try:
        report = check_env(
            "mug_envcheck_testenvs.with_pygame:Walk",
            {},
            seed=2,
            steps=50,
            bundle_dir=bundle.path,
            packages=bundle.packages,
            pygame_stub=True,
        )
    finally:
        pyodide_compat.remove_pygame_stub()
        sys.modules.pop("mug_envcheck_testenvs.with_pygame", None)
    assert report.ok, report.message
    assert report.pygame == {"cpython": "stand-in", "pyodide": "stand-in"}
    assert "pygame (cpython: stand-in, pyodide: stand-in): 'stand-in' is MUG's importable stand-in" in report.message
