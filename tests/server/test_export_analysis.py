"""The export for analysis, on a study played through a real server: the data dictionary (docs/data.md)
lists exactly the columns written, the attrition tables say how far each participant got, and the README's
pandas line loads the steps."""

from __future__ import annotations

import collections
import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest
from test_study import ANDROID, Page

from mug.configurations import Condition, EndScene, Entry, Experiment, GameScene, Outcome, StaticScene
from mug.server.attrition import STAGES
from mug.server.export import export_async

ROOT = Path(__file__).resolve().parents[2]
DICTIONARY = ROOT / "docs" / "data.md"

STUDY = Experiment(
    id="analysis",
    scenes=[
        StaticScene(
            id="consent",
            body="Do you agree?",
            consent=True,
            declined=Outcome(title="No consent", body="You declined.", completion_code="NOPE"),
        ),
        GameScene(id="game", env="not_imported.by_server:make_env", key_bindings={"ArrowLeft": 0}),
        EndScene(id="end"),
    ],
    conditions=[Condition(id="a"), Condition(id="b")],
    entry=Entry(allow_mobile=False, mobile=Outcome(title="Mobile", body="Use a computer.", completion_code="MOB")),
)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def rows(n: int) -> list[dict[str, Any]]:
    """n steps of one episode, the last terminal; one with an agent-keyed action and a checksum pandas would
    read as a float (`0e12`) if it guessed the column's type."""
    out = []
    for s in range(1, n + 1):
        out.append(
            {
                "episode": 0,
                "step": s,
                "action": {"left": s, "right": -s} if s == 1 else s,
                "reward": 0.5,
                "terminated": s == n,
                "info": {"k": [1, 2]} if s == 2 else {},
                "obs_checksum": "0e12" if s == 1 else "00ff00ff",
                "episode_seed": 7,
                "t_ms": 1.7e12 + s,
                "frame": s,
            }
        )
    return out


async def play_study(live: Any, out: Path) -> dict[str, str]:
    """Six arrivals, one at each stage (two complete), exported to `out`; returns stage -> a participant."""
    who: dict[str, str] = {}
    async with Page(live.url, tab="t-mobile", user_agent=ANDROID) as page:
        who["refused_at_entry"] = (await page.hello())["participant"]
    async with Page(live.url, tab="t-decline") as page:
        who["no_game"] = (await page.hello())["participant"]
        assert (await page.advance("consent", decline=True))["scene"]["outcome"] == "consent_declined"
    async with Page(live.url, tab="t-lobby") as page:
        who["game_no_steps"] = (await page.hello())["participant"]
        assert (await page.advance("consent"))["scene"]["kind"] == "game"
    async with Page(live.url, tab="t-played") as page:
        who["played"] = (await page.hello())["participant"]
        await page.advance("consent")
        batch = {"v": 1, "scene_id": "game", "batch": 0, "rows": rows(2)[:1]}
        assert (await page.call("records", batch))["stored"] == 1
    for tab in ("t-done-1", "t-done-2"):
        async with Page(live.url, tab=tab) as page:
            who["completed"] = (await page.hello())["participant"]
            await page.advance("consent")
            assert (await page.call("records", {"v": 1, "scene_id": "game", "batch": 0, "rows": rows(3)}))["ok"]
            assert (await page.advance("game"))["scene"]["kind"] == "end"
    await export_async(live.database_url, out, experiment=STUDY)
    return who


def dictionary() -> dict[str, list[str]]:
    """File -> its columns (or metadata keys) in the order docs/data.md lists them."""
    text = DICTIONARY.read_text(encoding="utf-8")
    files: dict[str, list[str]] = {}
    for section in re.split(r"^## ", text, flags=re.M)[1:]:
        heading = re.match(r"`([^`]+)`", section)
        assert heading, f"docs/data.md: a section heading names its file in backticks: {section[:40]!r}"
        columns = re.findall(r"^\| `([^`]+)` \|", section, flags=re.M)
        assert columns, f"docs/data.md: section {heading.group(1)} has no table of columns"
        files[heading.group(1)] = columns
    return files


def written(out: Path) -> dict[str, list[str]]:
    """File -> its header (or metadata keys) as the export wrote it; `steps_<scene>.csv` for each steps file."""
    files: dict[str, list[str]] = {}
    for path in sorted(out.iterdir()):
        if path.name == "metadata.json":
            files[path.name] = list(json.loads(path.read_text()))
            continue
        with path.open(newline="") as f:
            header = next(csv.reader(f))
        name = "steps_<scene>.csv" if path.name.startswith("steps_") else path.name
        assert files.setdefault(name, header) == header, f"{path.name}: a steps file with other columns"
    return files


async def test_the_data_dictionary_lists_exactly_the_columns_written(serve: Any, tmp_path: Path) -> None:
    out = tmp_path / "export"
    await play_study(serve(STUDY), out)
    documented, exported = dictionary(), written(out)
    assert sorted(documented) == sorted(exported), "docs/data.md documents every file the export writes"
    for name, columns in exported.items():
        if name == "metadata.json":  # a JSON object: its keys, sorted as written
            assert sorted(documented[name]) == columns, name
        else:
            assert documented[name] == columns, f"docs/data.md: the columns of {name}, in the file's order"
    manifest = {r["file"] for r in read_csv(out / "MANIFEST.csv")}
    assert manifest == {p.name for p in out.iterdir()} - {"MANIFEST.csv"}


async def test_attrition_says_how_far_each_participant_got(serve: Any, tmp_path: Path) -> None:
    out = tmp_path / "export"
    who = await play_study(serve(STUDY), out)
    table = {r["participant_id"]: r for r in read_csv(out / "attrition.csv")}
    people = {p["id"]: p for p in read_csv(out / "participants.csv")}
    assert set(table) == set(people) and len(table) == 6
    assert collections.Counter(r["stage"] for r in table.values()) == {
        "refused_at_entry": 1,
        "no_game": 1,
        "game_no_steps": 1,
        "played": 1,
        "completed": 2,
    }
    for stage, pid in who.items():
        assert table[pid]["stage"] == stage
    refused, declined = table[who["refused_at_entry"]], table[who["no_game"]]
    assert (refused["outcome"], refused["outcome_scene"], refused["condition"]) == ("mobile_device", "entry", "")
    assert refused["scenes_entered"] == "0" and refused["last_scene"] == ""
    assert (declined["outcome"], declined["outcome_scene"], declined["games_entered"]) == (
        "consent_declined",
        "consent",
        "0",
    )
    waiting, played, done = table[who["game_no_steps"]], table[who["played"]], table[who["completed"]]
    assert (waiting["last_scene"], waiting["games_entered"], waiting["steps_stored"]) == ("game", "1", "0")
    assert (played["outcome"], played["steps_stored"], played["completed"], played["finished_at"]) == ("", "1", "0", "")
    assert (done["completed"], done["last_scene"], done["scenes_entered"], done["steps_stored"]) == (
        "1",
        "end",
        "3",
        "3",
    )
    for pid, row in table.items():  # the condition is the participant's own
        assert row["condition"] == people[pid]["condition"]
    # the summary counts the same rows by condition
    summary = {r["condition"]: r for r in read_csv(out / "attrition_summary.csv")}
    by_condition = collections.defaultdict(list)
    for row in table.values():
        by_condition[row["condition"]].append(row)
    assert set(summary) == set(by_condition) == {"", "a", "b"}
    for condition, members in by_condition.items():
        line = summary[condition]
        assert int(line["participants"]) == len(members)
        assert [int(line[s]) for s in STAGES] == [sum(r["stage"] == s for r in members) for s in STAGES]
        outcomes = collections.Counter(r["outcome"] for r in members if r["outcome"])
        assert json.loads(line["outcomes"]) == outcomes and int(line["ended_early"]) == sum(outcomes.values())
    assert json.loads(summary[""]["outcomes"]) == {"mobile_device": 1}
    assigned = collections.Counter(people[pid]["condition"] for pid in table if people[pid]["condition"])
    assert sorted(assigned.values()) == [2, 3]  # five admitted, balanced within one


def readme_pandas_line() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    lines = [line for line in readme.splitlines() if "pd.read_csv(" in line]
    assert len(lines) == 1, "the README shows one pandas line loading the steps"
    return lines[0]


def test_the_data_dictionary_shows_the_readmes_pandas_line() -> None:
    assert readme_pandas_line() in DICTIONARY.read_text(encoding="utf-8")


async def test_the_readmes_pandas_line_loads_the_steps(
    serve: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pandas", reason="pandas is a dev extra: pip install -e '.[dev]'")
    await play_study(serve(STUDY), tmp_path / "export")
    monkeypatch.chdir(tmp_path)  # the line reads export/steps_game.csv
    namespace: dict[str, Any] = {}
    exec(compile("import json, pandas as pd\n" + readme_pandas_line(), "README.md", "exec"), namespace)
    steps = namespace["steps"]
    stored = read_csv(tmp_path / "export" / "steps_game.csv")
    assert len(steps) == len(stored) == 1 + 3 + 3
    first = steps[steps["obs_checksum"] == "0e12"]  # text, not the float 0.0
    assert len(first) == 3 and first["action"].tolist() == [{"left": 1, "right": -1}] * 3
    assert steps["info"].tolist().count({"k": [1, 2]}) == 2 and steps["reward"].tolist() == [0.5] * 7
    assert steps["action"].map(type).value_counts().to_dict() == {dict: 3, int: 4}
    assert steps["terminated"].sum() == 2 and steps["step"].dtype.kind == "i" and steps["t_client_ms"].dtype.kind == "f"
