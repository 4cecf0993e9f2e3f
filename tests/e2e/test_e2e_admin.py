"""The admin view in Chromium: logged in, it shows a live match of two participant pages playing over a direct
link, and ends it; the participants see their outcome page and their records are kept."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_e2e_multiplayer import EXPERIMENTS, netns_prefix

from mug.testing.bundle import BuiltBundle

pytestmark = pytest.mark.browser

SCENARIO = Path(__file__).resolve().parent / "admin_scenario.py"


def table(work: Path, name: str) -> list[dict[str, str]]:
    with open(work / "export" / name, newline="") as f:
        return list(csv.DictReader(f))


@pytest.mark.netns
def test_the_admin_page_shows_a_live_match_and_ends_it(bundle: BuiltBundle, tmp_path: Path) -> None:
    cmd = [
        *netns_prefix(),
        sys.executable,
        str(SCENARIO),
        "--experiment",
        f"{EXPERIMENTS}:admin_duo",
        "--bundle",
        str(bundle.path),
        "--work",
        str(tmp_path),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=dict(os.environ))
    result_file = tmp_path / "result.json"
    result: dict[str, Any] = json.loads(result_file.read_text()) if result_file.exists() else {}
    assert proc.returncode == 0, f"{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}\n{result.get('log', [])[-30:]}"
    print(json.dumps({k: v for k, v in result.items() if k != "log"}, indent=1))

    assert result["wrong_password"] == "Wrong password."
    row = result["row"]
    assert row["connection"] == "direct", "both members' links are shown with their connection type"
    (match,) = table(tmp_path, "matches.csv")
    match_id = match["match_id"].removeprefix("'")  # (the export neutralises a leading '-' for spreadsheets)
    assert row["testid"] == f"admin-match-{match_id}" and row["cells"][1] == "duo"
    links_cell = row["cells"][5]
    assert "0→1 direct" in links_cell and "1→0 direct" in links_cell and " -\n" not in links_cell + "\n"
    assert row["cells"][4] not in ("-", "auto"), "the input delay the pages agreed on (their status reports)"
    assert result["armed_text"] == "Confirm: end match"
    assert "1 running matches" in result["header"]

    for player in result["players"]:
        assert player["phase"] == "end" and player["code"] == "ADMINEND"
        assert "The game was ended" in player["text"] and "The researchers ended it." in player["text"]
    assert match["end_reason"] == "ended_by_admin"
    assert int(match["steps_compared"]) >= 60 and match["steps_differing"] == "0", "both records agree"
    outcomes = {r["id"]: (r["outcome"], r["completion_code"]) for r in table(tmp_path, "participants.csv")}
    assert sorted(outcomes.values()) == [("ended_by_admin", "ADMINEND")] * 2
    with open(tmp_path / "export" / "steps_duo.csv", newline="") as f:
        steps = list(csv.DictReader(f))
    frames = {pid: sorted(int(r["frame"]) for r in steps if r["participant_id"] == pid) for pid in outcomes}
    for pid, got in frames.items():
        assert got == list(range(len(got))), "every confirmed frame up to the end is stored, none missing"
        assert len(got) >= 60, f"{pid}: the steps played before the end are kept ({len(got)})"
        assert len(got) < 900, "the match ended early"
