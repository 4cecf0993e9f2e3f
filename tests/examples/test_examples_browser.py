"""Connect four (examples/connect_four) played by clicks on two Chromium pages in a match."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mug.testing.bundle import BuiltBundle

pytestmark = [pytest.mark.browser, pytest.mark.netns]

HERE = Path(__file__).resolve().parent
PROGRAM = HERE / "mp_connect_four.py"  # the scripted match: see its docstring
NETNS_RUN = HERE.parents[2] / "shared" / "tools" / "netns-run"


def table(work: Path, name: str) -> list[dict[str, str]]:
    with open(work / "export" / name, newline="") as f:
        return list(csv.DictReader(f))


def test_connect_four_by_clicks_in_a_match_ignores_masked_and_out_of_turn_clicks(
    bundle: BuiltBundle, tmp_path: Path
) -> None:
    if os.geteuid() != 0 or not NETNS_RUN.exists():
        pytest.skip("direct peer-to-peer needs a private network namespace (root and the shared netns-run)")
    if shutil.which("chromium") is None:
        pytest.skip("needs Debian's chromium")
    cmd = [str(NETNS_RUN), sys.executable, str(PROGRAM), "--bundle", str(bundle.path), "--work", str(tmp_path)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    result: dict[str, Any] = json.loads((tmp_path / "result.json").read_text())
    assert [p["status"]["phase"] for p in result["players"]] == ["end", "end"], result["log"][-30:]
    assert all(p["code"] for p in result["players"])
    assert result["seen"][0] == {"who": "R", "mover": "Your turn", "other": "Waiting for player_0"}
    assert result["seen"][1] == {"who": "Y", "mover": "Your turn", "other": "Waiting for player_1"}
    rows = table(tmp_path, "steps_connect_four.csv")
    by: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by.setdefault(r["participant_id"], []).append(r)
    keyed = [{r["step"]: (r["frame"], r["obs_checksum"], r["action"], r["reward"]) for r in v} for v in by.values()]
    assert len(keyed) == 2 and keyed[0] == keyed[1], "both peers recorded the same frames, actions, checksums"
    ordered = sorted(next(iter(by.values())), key=lambda r: int(r["step"]))
    actions = [json.loads(r["action"]) for r in ordered]
    assert actions == [{"player_0": 6}, {"player_1": 6}] * 3 + [{"player_0": 0}, {"player_1": 1}] * 3 + [
        {"player_0": 0},
        {"player_1": None},
        {"player_0": None},
    ], "only legal moves on one's own turn were played; the masked and out-of-turn clicks did nothing"
    assert json.loads(ordered[12]["reward"]) == {"player_0": 1.0, "player_1": -1.0}, "Red won"
    (match,) = table(tmp_path, "matches.csv")
    assert match["end_reason"] == "finished" and match["steps_differing"] == "0"
