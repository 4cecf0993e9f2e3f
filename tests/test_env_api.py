"""Every environment the project ships passes Gymnasium's or PettingZoo's own API checks.

The environments are made the way the browser makes them (`mug.client.host.make_env`, which passes
`render_mode="rgb_array"` when the factory takes it), so rendering is checked too; the env checker's own test
environments the way `mug check-env` makes them (the factory called with the keyword arguments only).
"""

from __future__ import annotations

import re
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from gymnasium.utils.env_checker import check_env
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.test import api_test, parallel_api_test

from mug.client.host import make_env
from mug.refs import resolve_ref

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = [
    ROOT / "tests" / "client",
    ROOT / "tests" / "envcheck" / "testpkg",
    ROOT / "tests" / "e2e" / "envpkg",
    ROOT / "examples" / "dodge" / "dodge_env",
    ROOT / "examples" / "cartpole" / "cartpole_browser",
]
ENVS: list[tuple[str, dict[str, Any]]] = [
    ("mug.demos.catch:make_env", {}),
    ("mug.demos.catch_duo:make_env", {}),
    ("mug.demos.grid_duo:make_env", {}),
    ("mug.demos.catch_party:make_env", {}),
    ("mug.demos.catch_party:make_env", {"players": 8}),
    ("dodge_env.game:make_env", {}),
    ("cartpole_browser.env:make_env", {}),
    ("cartpole_browser.env:make_env", {"coast": False}),
    ("mug_envcheck_testenvs:TagParallelEnv", {}),
    ("mug_envcheck_testenvs:NoisyEnv", {}),  # noisy only across processes (unseeded `random` after step 3)
    ("client_envs:make_counter", {}),
    ("client_envs:make_counter_no_render_mode", {}),
    ("client_envs:make_pair", {}),
    ("client_envs:make_turns", {}),
    ("client_envs:make_joint", {}),
    ("client_envs:make_joint", {"keyed": True}),
    ("mug_e2e_envs:make_env", {}),
    ("mug_e2e_envs.race:make_env", {}),
    ("mug_e2e_envs.trio:make_env", {}),
    ("mug_e2e_envs.tug:make_env", {}),
    ("mug_e2e_envs.tictactoe:make_env", {}),
    ("mug_e2e_envs.walkers:make_env", {}),
    ("mug_e2e_envs.sprite:make_env", {}),
    ("mug_e2e_envs.beacon:make_env", {}),
    ("mug_e2e_envs.classic:make_env", {}),  # with the pygame stand-in, as its scene plays it
]
NEEDS_PYGAME_STUB = {"mug_e2e_envs.classic:make_env"}
# Advice the checkers give that does not apply: factories are not registered with `gymnasium.make`, a MUG
# env may draw a Surface (or a draw list) in "rgb_array" mode, CartPole's own unbounded Box, and PettingZoo's
# naming suggestion (agents are named for the experiment's data) and its note on an all-zero observation (a
# counter game's legitimate start, drawn at random by the unseeded API test).
ADVICE = re.compile(
    r"Not able to test alternative render modes due to the environment not having a spec"
    r"|is different from the unwrapped version"
    r"|A Box observation space (minimum|maximum) value is -?infinity"
    r"|RGB-array rendering should return a numpy array, got <class '(mug\.rendering\.surface\.Surface|list)'>"
    r"|We recommend agents to be named in the format"
    r"|Observation numpy array is all zeros"
    # a board game's Dict observation with an action mask, PettingZoo's own convention for classic games
    r"|Observation space for each agent probably should be gymnasium.spaces.box or gymnasium.spaces.discrete"
    r"|Observation is not a NumPy array"
)


@pytest.fixture
def importable(monkeypatch: pytest.MonkeyPatch) -> None:
    for folder in FOLDERS:
        monkeypatch.syspath_prepend(str(folder))


@pytest.mark.parametrize(("ref", "kwargs"), ENVS, ids=[f"{r}{kw or ''}" for r, kw in ENVS])
@pytest.mark.usefixtures("importable")
def test_env_passes_its_library_api_check(ref: str, kwargs: dict[str, Any]) -> None:
    from mug.client import pyodide_compat

    if ref in NEEDS_PYGAME_STUB and not pyodide_compat.pygame_available():
        pyodide_compat.install_pygame_stub()
    try:
        _check(ref, kwargs)
    finally:
        if ref in NEEDS_PYGAME_STUB:
            pyodide_compat.remove_pygame_stub()
            for name in [m for m in sys.modules if m.startswith(("mug_e2e_envs.classic", "pettingzoo.classic"))]:
                del sys.modules[name]


def _check(ref: str, kwargs: dict[str, Any]) -> None:
    env = resolve_ref(ref, "env")(**kwargs) if ref.startswith("mug_envcheck_testenvs:") else make_env(ref, kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if isinstance(env, ParallelEnv):
            parallel_api_test(env, num_cycles=300)
        elif isinstance(env, AECEnv):
            api_test(env, num_cycles=300)
        else:
            check_env(env)
    env.close()
    unexpected = [str(w.message) for w in caught if not ADVICE.search(str(w.message))]
    assert unexpected == []


def test_every_shipped_factory_is_listed() -> None:
    """A new environment in mug/demos, examples/ or the tests' env packages must be added to ENVS."""
    listed = {ref.split(":")[0] for ref, _ in ENVS}
    shipped = {"mug.demos." + p.stem for p in (ROOT / "mug" / "demos").glob("*.py")} - {
        "mug.demos.__init__",
        "mug.demos.policies",
    }
    for pkg in ("examples/dodge/dodge_env/dodge_env", "examples/cartpole/cartpole_browser/cartpole_browser"):
        shipped |= {f"{Path(pkg).name}.{p.stem}" for p in (ROOT / pkg).glob("*.py") if "def make_env" in p.read_text()}
    for pkg in ("tests/e2e/envpkg/mug_e2e_envs",):
        for p in (ROOT / pkg).glob("*.py"):
            if "def make_env" in p.read_text():
                shipped.add(Path(pkg).name if p.stem == "__init__" else f"{Path(pkg).name}.{p.stem}")
    assert shipped <= listed
