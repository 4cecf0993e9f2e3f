"""The opt-in pygame stand-in: PettingZoo's classic games import pygame, which the browser bundle lacks."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from mug.client import pyodide_compat
from mug.client.runner import Runner
from mug.client.trajectory import trajectory_report

pytestmark = pytest.mark.skipif(pyodide_compat.pygame_available(), reason="a real pygame is installed here")


@pytest.fixture(autouse=True)
def clean_imports() -> Iterator[None]:
    """Each test starts and ends without the stand-in and without modules imported through it."""

    def forget() -> None:
        pyodide_compat.remove_pygame_stub()
        for name in [n for n in sys.modules if n.startswith(("pettingzoo.classic", "mug_e2e_envs.classic"))]:
            del sys.modules[name]

    forget()
    yield
    forget()


def test_without_the_stand_in_the_classic_games_need_pygame() -> None:
    with pytest.raises(ModuleNotFoundError, match="pygame"):
        import mug_e2e_envs.classic  # noqa: F401


def test_a_scene_that_opts_in_plays_tictactoe_v3_with_a_surface_renderer() -> None:
    scene = {
        "id": "ttt",
        "env": "mug_e2e_envs.classic:make_env",
        "agents": {"player_1": "human", "player_2": {"ref": "mug_e2e_envs.tictactoe:make_first_legal"}},
        "key_bindings": {str(i + 1): i for i in range(9)},
        "input_mode": "press",
        "pygame_stub": True,
    }
    runner = Runner()
    first = runner.start(scene, 1)
    assert first["render"]["kind"] == "draw" and first["turn"]["yours"]
    moves = []
    for key in "5", "", "1", "3", "", "7":  # "1": square 0 is the policy's by then (masked)
        moves += [r["action"] for r in runner.tick([], [key] if key else [], 0.0)["rows"]]
    assert moves == [{"player_1": 4}, {"player_2": 0}, {"player_1": 2}, {"player_2": 1}, {"player_1": 6}]
    assert runner.score == 1.0  # 2-4-6 is a diagonal in either numbering


def test_pygame_itself_raises_saying_why() -> None:
    assert pyodide_compat.install_pygame_stub() == "stand-in"
    import pygame
    import pygame.gfxdraw  # submodules import too

    assert pygame.gfxdraw is not None
    with pytest.raises(pyodide_compat.PygameUnavailable, match=r"pygame.display.set_mode\(\) was called.*pygame_stub"):
        pygame.display.set_mode((10, 10))


def test_trajectory_report_says_which_pygame_was_used() -> None:
    report = trajectory_report("mug_e2e_envs.walkers:make_env", {}, 1, 20, pygame_stub=True)
    assert report["error"] is None and len(report["checksums"]) == 20 and report["pygame"] == "stand-in"
    assert trajectory_report("mug.demos.catch:make_env", {}, 1, 2)["pygame"] is None


def test_an_env_that_draws_with_pygame_fails_naming_the_stand_in() -> None:
    # rps draws with pygame when made with render_mode="rgb_array" (as the browser makes every env): the
    # stand-in cannot help it
    report = trajectory_report("pettingzoo.classic.rps.rps:parallel_env", {}, 1, 20, pygame_stub=True)
    assert report["error"]["type"] == "PygameUnavailable" and "() was called" in report["error"]["message"]
    assert report["error"]["message"].startswith("pygame.")
