"""What `mug replay` reads: an export folder (`mug export`), parsed back into the values the browser recorded.

Used: `metadata.json` (the experiment's configuration), `scene_visits.csv` (a participant's scene seed),
`matches.csv` (a match's seed, members and agents) and every `steps_<scene>.csv`. Cells are read back as
`mug.server.export` wrote them: JSON cells parsed, a spreadsheet guard quote (`'=...`) removed, `1`/`0` as
booleans, empty cells as None.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mug.client.agents import from_label
from mug.configurations import Experiment
from mug.server.export import FORMULA_STARTS
from mug.server.metadata import AGENT_KEYED, METADATA_FILE, METADATA_VERSION


class ReplayError(Exception):
    """The data cannot be replayed as it is (a missing file, an unknown participant or scene, no experiment);
    the message says what and how to fix it."""


@dataclass(frozen=True)
class Recorded:
    """One recorded step row, its values as the browser recorded them."""

    episode: int
    step: int
    action: Any
    reward: Any
    terminated: bool
    truncated: bool
    info: Any
    obs_checksum: str
    episode_seed: int | None
    frame: int | None
    turn_fallback: bool | None = None  # None: an export of before the column

    def compared(self) -> dict[str, Any]:
        """The fields a replay must reproduce (everything but the agent column and the clocks)."""
        fallback = {} if self.turn_fallback is None else {"turn_fallback": self.turn_fallback}
        return {
            "episode": self.episode,
            "step": self.step,
            "action": self.action,
            "reward": self.reward,
            "terminated": self.terminated,
            "truncated": self.truncated,
            "info": self.info,
            "obs_checksum": self.obs_checksum,
            "episode_seed": self.episode_seed,
            "frame": self.frame,
        } | fallback


@dataclass
class Played:
    """The rows one participant recorded in one scene, alone (`match_id` "") or in one match."""

    participant: str
    scene: str
    match_id: str
    rows: list[Recorded] = field(default_factory=list)


@dataclass(frozen=True)
class Match:
    match_id: str
    seed: int
    members: list[str]
    agents: dict[str, Any]


@dataclass
class ExportData:
    """An export folder, read for replay."""

    folder: Path
    metadata: dict[str, Any]
    seeds: dict[tuple[str, str], int | None]  # (participant, scene) -> the scene's seed
    matches: dict[str, Match]
    played: list[Played]


def _text(cell: str) -> str:
    """The cell's text without the spreadsheet guard quote `mug export` adds to `=...`, `-x`, ...."""
    if cell.startswith("'") and cell[1:2] and cell[1:2] in FORMULA_STARTS:
        return cell[1:]
    return cell


def _json(cell: str) -> Any:
    return json.loads(_text(cell)) if cell != "" else None


def _int(cell: str) -> int | None:
    return int(cell) if cell != "" else None


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def load_export(folder: Path) -> ExportData:
    """Read an export folder.

    Raises:
        ReplayError: a file `mug replay` needs is missing or unreadable (the message names it).
    """
    if not folder.is_dir():
        raise ReplayError(f"export folder {str(folder)!r} does not exist: write it with `mug export --out DIR`")
    need = [METADATA_FILE, "scene_visits.csv", "matches.csv"]
    missing = [n for n in need if not (folder / n).is_file()]
    if missing:
        raise ReplayError(
            f"export folder {str(folder)!r} has no {', '.join(missing)}: export again with this MUG "
            "(`mug export`), which writes everything a replay needs"
        )
    try:
        metadata = json.loads((folder / METADATA_FILE).read_text(encoding="utf-8"))
        seeds = {(r["participant_id"], r["scene_id"]): _int(r["seed"]) for r in _read(folder / "scene_visits.csv")}
        matches = {
            r["match_id"]: Match(r["match_id"], int(r["seed"]), _json(r["members"]), _json(r["agents"]))
            for r in _read(folder / "matches.csv")
        }
        groups: dict[tuple[str, str, str], Played] = {}
        for path in sorted(folder.glob("steps_*.csv")):
            for r in _read(path):
                key = (r["participant_id"], r["scene_id"], r["match_id"])
                group = groups.setdefault(key, Played(*key))
                group.rows.append(
                    Recorded(
                        episode=int(r["episode"]),
                        step=int(r["step"]),
                        action=_json(r["action"]),
                        reward=_json(r["reward"]),
                        terminated=r["terminated"] == "1",
                        truncated=r["truncated"] == "1",
                        info=_json(r["info"]),
                        obs_checksum=_text(r["obs_checksum"]),
                        episode_seed=_int(r["episode_seed"]),
                        frame=_int(r["frame"]),
                        turn_fallback=None if r.get("turn_fallback", "") == "" else r["turn_fallback"] == "1",
                    )
                )
    except (OSError, ValueError, KeyError) as exc:
        raise ReplayError(f"export folder {str(folder)!r} cannot be read ({type(exc).__name__}: {exc})") from exc
    if metadata.get("metadata_version") != METADATA_VERSION:
        raise ReplayError(
            f"{METADATA_FILE} has metadata_version {metadata.get('metadata_version')!r}; this MUG reads "
            f"{METADATA_VERSION}: replay with the MUG version that exported it"
        )
    played = [groups[k] for k in sorted(groups)]
    for p in played:
        p.rows.sort(key=lambda r: (r.episode, r.step))
    return ExportData(folder, metadata, seeds, matches, played)


def load_experiment_config(config: dict[str, Any]) -> Experiment:
    """The `Experiment` of `mug.server.metadata.experiment_config` (raises pydantic's ValidationError)."""
    conditions = []
    for condition in config.get("conditions", []):
        if isinstance(condition, dict):
            overrides = {
                scene_id: changes | {n: _keyed(changes[n]) for n in AGENT_KEYED if isinstance(changes.get(n), dict)}
                for scene_id, changes in (condition.get("overrides") or {}).items()
            }
            scenes = condition.get("scenes")
            condition = condition | {"overrides": overrides, "scenes": None if scenes is None else _unlabel_all(scenes)}
        conditions.append(condition)
    scenes = _unlabel_all(config.get("scenes", []))
    return Experiment.model_validate(config | {"scenes": scenes, "conditions": conditions})


def _keyed(by_label: dict[str, Any]) -> dict[Any, Any]:
    return {from_label(k): v for k, v in by_label.items()}


def _unlabel_all(items: list[Any]) -> list[Any]:
    return [_unlabel(item) for item in items]


def _unlabel(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    if item.get("kind") == "game":
        return item | {n: _keyed(item[n]) for n in AGENT_KEYED if n in item}
    if item.get("kind") == "repeat":
        return item | {"scene": _unlabel(item.get("scene"))}
    if item.get("kind") == "randomize":
        return item | {"scenes": _unlabel_all(item.get("scenes") or [])}
    return item


def experiment_of(data: ExportData) -> Experiment:
    """The experiment stored in the export's metadata.

    Raises:
        ReplayError: the metadata holds none (the note says why), or it does not validate.
    """
    config = data.metadata.get("experiment")
    if config is None:
        note = data.metadata.get("note") or "the export's metadata.json holds no experiment"
        raise ReplayError(f"{note}; or name it here: `mug replay --experiment study.py`")
    try:
        return load_experiment_config(config)
    except ValueError as exc:
        raise ReplayError(
            f"the experiment in {METADATA_FILE} does not load with this MUG ({exc}); name it: "
            "`mug replay --experiment study.py`"
        ) from exc
