"""The `mug` command as a researcher runs it."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from mug.server.store import Store

MUG = [sys.executable, "-m", "mug.cli"]


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*MUG, *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_export_writes_the_tables(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'data.sqlite3'}"

    async def fill() -> None:
        store = await Store.open(url)
        await store.create_participant("p_1", "h" * 64, "exp", "CODE", {}, None)
        await store.add_steps("p_1", "game", [{"episode": 0, "step": 1, "t_ms": 1.0}])
        await store.close()

    asyncio.run(fill())
    out = run("export", "--database", url, "--out", str(tmp_path / "out"))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "out" / "steps_game.csv").read_text().count("\n") == 2
    assert str(tmp_path / "out" / "MANIFEST.csv") in out.stdout


def test_serve_and_bundle_refuse_a_broken_experiment_clearly(tmp_path: Path) -> None:
    (tmp_path / "study.py").write_text(
        "from mug.configurations import *\n"
        "experiment = Experiment(id='s', scenes=[GameScene(id='g', env='nope', key_bindings={'a': 0}), "
        "EndScene(id='end')])\n"
    )
    for command in (["serve", "study.py", "--no-bundle"], ["bundle", "study.py"]):
        out = run(*command, cwd=tmp_path)
        assert out.returncode == 2, out
        assert "env: 'nope' is not a 'package.module:callable' reference" in out.stderr
        assert "Traceback" not in out.stderr


def test_serve_names_a_missing_experiment_file(tmp_path: Path) -> None:
    out = run("serve", "missing.py", "--no-bundle", cwd=tmp_path)
    assert out.returncode == 2 and "experiment file 'missing.py' does not exist" in out.stderr


def test_bundle_and_serve_say_when_pygame_is_a_stand_in() -> None:
    from mug.cli import pygame_notes
    from mug.configurations import EndScene, Experiment, GameScene

    scene = GameScene(id="ttt", env="pettingzoo.classic.tictactoe_v3:env", key_bindings={"1": 0}, pygame_stub=True)
    (note,) = pygame_notes(Experiment(id="e", scenes=[scene, EndScene(id="end")]))
    assert "scene 'ttt': pygame is MUG's stand-in (GameScene.pygame_stub=True)" in note
    assert "unless the bundle holds the official Pyodide build of pygame-ce" in note
    assert (
        pygame_notes(Experiment(id="e", scenes=[scene.model_copy(update={"pygame_stub": False}), EndScene(id="end")]))
        == []
    )


def test_serve_and_bundle_name_a_missing_assets_folder(tmp_path: Path) -> None:
    (tmp_path / "study.py").write_text(
        "from mug.configurations import *\n"
        "experiment = Experiment(id='s', scenes=[StaticScene(id='a', assets='sprites'), EndScene(id='end')])\n"
    )
    for command in (["serve", "study.py", "--no-bundle"], ["bundle", "study.py"]):
        out = run(*command, cwd=tmp_path)
        assert out.returncode == 2, out
        assert f"scene 'a': assets: the assets folder '{tmp_path / 'sprites'}'" in out.stderr
        assert "does not exist" in out.stderr and "Traceback" not in out.stderr
