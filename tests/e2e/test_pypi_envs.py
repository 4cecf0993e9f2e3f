"""A package from PyPI played unchanged in Chromium: Farama's minigrid (examples/minigrid), made with
`gymnasium.make("minigrid:MiniGrid-DoorKey-5x5-v0")`. It imports pygame and declares pygame-ce; the scene's
pygame stand-in and the bundle leaving pygame-ce out let it load, and it draws its own numpy frames."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from tests_e2e_helpers import HERE_EXPERIMENTS, export, wait_phase

pytestmark = pytest.mark.browser


def test_minigrid_from_pypi_plays_with_its_own_rgb_frames(
    mug_server: Any, page: Any, bundle: Any, tmp_path: Path
) -> None:
    # its declared pygame-ce: left out here (its official file is in no source reachable offline)
    assert bundle.manifest.left_out == {"pygame-ce": "minigrid"} or "pygame-ce" in bundle.manifest.sources
    server = mug_server(f"{HERE_EXPERIMENTS}:minigrid_short")
    page.goto(server.url + "/")
    page.click("[data-testid=mug-continue]")  # the instructions
    page.wait_for_function("window.mug?.status().scene_id === 'doorkey'")
    page.wait_for_function("window.mug?.status().runtime.ready", timeout=90_000)
    if page.evaluate("document.body.dataset.mugPhase") == "game":
        page.click("[data-testid=mug-continue]")
    wait_phase(page, "playing", timeout=60_000)
    page.wait_for_function("window.mug.status().frame > 0")  # presses before the first frame count as one
    for key in ["ArrowUp", "ArrowRight", "ArrowUp", "ArrowLeft", " ", "t"]:  # forward, turn, pick up, toggle
        frame = page.evaluate("window.mug.status().frame")
        page.keyboard.press(key)
        page.wait_for_function(f"window.mug.status().frame > {frame + 1}")  # taken before the next press
    # the env's own frame, drawn on the canvas: many colours, not a blank or single-colour canvas
    colours = page.evaluate(
        """() => { const c = document.querySelector('canvas'); const d = c.getContext('2d')
                     .getImageData(0, 0, c.width, c.height).data; const s = new Set();
                   for (let i = 0; i < d.length; i += 4 * 17) s.add(d[i] << 16 | d[i + 1] << 8 | d[i + 2]);
                   return s.size; }"""
    )
    assert colours >= 4, colours
    wait_phase(page, "end", timeout=60_000)
    out = export(server.database_url, tmp_path / "export")
    with open(out / "steps_doorkey.csv", newline="") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["step"]))
    assert [int(r["step"]) for r in rows] == list(range(1, 61)) and rows[-1]["truncated"] == "1"
    actions = [json.loads(r["action"]) for r in rows]
    assert {2, 1, 0} <= set(actions) and actions.count(6) >= 30, "the keys' moves, and 'done' (6) without a key"
    assert all(len(r["obs_checksum"]) > 0 for r in rows)
