"""The example environments give the same trajectory in CPython and in Pyodide 0.27.7 (Node)."""

from __future__ import annotations

import pytest

from mug.envcheck import check_env
from mug.testing.bundle import BuiltBundle

pytestmark = [pytest.mark.node, pytest.mark.usefixtures("example_envs")]


@pytest.mark.parametrize(
    ("factory", "kwargs"),
    [
        ("dodge_env.game:make_env", {"lives": 3}),
        ("cartpole_browser.env:make_env", {}),
        ("connect_four_env.game:make_env", {}),
        ("gather_env.gridworld:parallel_env", {"max_cycles": 50}),
    ],
)
def test_example_env_is_deterministic_in_pyodide(bundle: BuiltBundle, factory: str, kwargs: dict[str, int]) -> None:
    report = check_env(
        factory, kwargs, seed=3, steps=300, actions="random", bundle_dir=bundle.path, packages=bundle.packages
    )
    assert report.ok, report.message
    assert report.steps_compared == 300 and report.first_mismatch is None
