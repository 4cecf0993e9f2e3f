"""`mug export`: the stored data as CSV tables, byte-for-byte reproducible.

Files written (rows in a fixed order, JSON cells with sorted keys, no export timestamp inside):
- `steps_<scene_id>.csv`: one row per recorded step of that game scene;
- `participants.csv` (with the steps stored for each, and the steps their page reported the server refused
  for good: `records_refused` events), `url_params.csv`, `scene_visits.csv`, `answers.csv`, `events.csv`;
- `matches.csv`: one row per multiplayer match: its group, members, seed, how it ended, the agreed input
  delay, and the server's comparison of the members' own records (steps compared, steps whose checksums
  differ, the first);
- `match_members.csv`: one row per match and member: the match's scene and group, the member's slot, and the
  match's start: who played with whom, in which role, in each round (a group kept across scenes keeps its
  `group_id`);
- `match_links.csv`: one row per match, reporting member and peer: connection type (direct or relay), the
  protocol to the relay (udp, tcp or tls), round trip, input delay, stalls and desyncs as that member
  measured them; `pauses` and `pause_ms`: how often and how long that member's game waited for that peer to
  reconnect (the peer's connection dropped, or its page was reloaded); `rejoins`: how often that member's own
  reloaded page rejoined the match;
- `attrition.csv`: one row per participant: the furthest stage they reached (refused at entry, no game,
  a game but no steps, played, completed), their outcome and condition; `attrition_summary.csv`: those
  stages and outcomes counted per condition (see `mug.server.attrition`);
- `metadata.json`: what the data was recorded with (the experiment's configuration, versions, the bundle
  lock's hash; see `mug.server.metadata`), so `mug replay` can re-simulate the export on its own;
- `MANIFEST.csv`: every other file with its row count (empty for `metadata.json`) and SHA-256.

Cells a spreadsheet would evaluate as a formula (text beginning with `=`, `+`, `-`, `@`, a tab or a carriage
return, whatever a participant typed or a page sent) get a leading single quote, as OWASP advises against
CSV injection; a cell that is a plain number (`-1.5`, `+3`, `-2e-05`, `-inf`) stays as it is, and so do JSON cells
(they begin with `{`, `[`, `"` or a digit, or are such a number). The rule depends on the cell alone, so
exports stay byte-for-byte reproducible.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, select

from mug.server.attrition import (
    ATTRITION_COLUMNS,
    SUMMARY_COLUMNS,
    attrition_rows,
    game_scene_ids,
    summary_rows,
)
from mug.server.metadata import METADATA_FILE, build_metadata, metadata_bytes
from mug.server.store import Store
from mug.server.tables import (
    answers,
    events,
    match_members,
    match_reports,
    matches,
    participants,
    scene_visits,
    steps,
    url_params,
)

if TYPE_CHECKING:
    from mug.configurations import Experiment

STEP_COLUMNS = [
    "experiment_id",
    "participant_id",
    "scene_id",
    "episode",
    "step",
    "agent",
    "action",
    "reward",
    "terminated",
    "truncated",
    "info",
    "obs_checksum",
    "episode_seed",
    "frame",
    "turn_fallback",
    "match_id",
    "t_client_ms",
    "t_server",
]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# a number as Python writes it (repr), including the infinities of data stored before they were refused
_NUMBER = re.compile(r"[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|inf|nan)")


def neutralise(text: str) -> str:
    """Prefix a single quote to text a spreadsheet would evaluate; numbers such as `-1.5` stay numbers."""
    if text.startswith(FORMULA_STARTS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return neutralise(repr(value))
    if isinstance(value, dict | list):
        return neutralise(json.dumps(value, sort_keys=True, separators=(",", ":")))
    return "" if value is None else neutralise(str(value))


def _write(path: Path, header: list[str], rows: list[list[Any]]) -> tuple[int, str]:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    data = buf.getvalue().encode()
    path.write_bytes(data)
    return len(rows), hashlib.sha256(data).hexdigest()


async def _rows(store: Store, table: Table, order: list[str], experiment_id: str | None) -> list[Any]:
    query = select(table)
    if experiment_id is not None:
        if table is participants:
            query = query.where(participants.c.experiment_id == experiment_id)
        else:
            ids = select(participants.c.id).where(participants.c.experiment_id == experiment_id)
            query = query.where(table.c.participant_id.in_(ids))
    query = query.order_by(*[table.c[c] for c in order])
    async with store.engine.connect() as conn:
        return list((await conn.execute(query)).mappings())


def _refused_rows(event_rows: list[Any]) -> dict[str, int]:
    """Per participant: step rows the server refused for good, as their pages reported them."""
    refused: dict[str, int] = {}
    for e in event_rows:
        if e["kind"] == "records_refused" and e["participant_id"] is not None:
            try:
                n = int(json.loads(e["data"]).get("rows", 0))
            except (ValueError, TypeError, AttributeError):
                n = 0
            refused[e["participant_id"]] = refused.get(e["participant_id"], 0) + max(n, 0)
    return refused


async def export_async(
    database_url: str,
    out_dir: Path,
    experiment_id: str | None = None,
    experiment: Experiment | None = None,
    bundle_dir: Path | None = None,
) -> list[Path]:
    """Write the CSV tables and `metadata.json` to `out_dir` (created if needed) and return the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    store = await Store.open(database_url)
    written: list[tuple[Path, int | None, str]] = []
    try:
        people = await _rows(store, participants, ["id"], experiment_id)
        experiment_of = {p["id"]: p["experiment_id"] for p in people}
        event_rows = await _rows(store, events, ["id"], experiment_id)
        step_rows = await _rows(
            store, steps, ["scene_id", "participant_id", "match_id", "episode", "step", "agent"], experiment_id
        )
        stored: dict[str, int] = {}
        for r in step_rows:
            stored[r["participant_id"]] = stored.get(r["participant_id"], 0) + 1
        refused = _refused_rows(event_rows)
        cols = [
            "id",
            "experiment_id",
            "created_at",
            "scene_index",
            "completion_code",
            "finished_at",
            "outcome",
            "outcome_scene",
            "condition",
            "order_seed",
            "scene_order",
            "user_agent",
        ]
        path = out_dir / "participants.csv"
        table = [[p[c] for c in cols] + [stored.get(p["id"], 0), refused.get(p["id"], 0)] for p in people]
        written.append((path, *_write(path, [*cols, "steps_stored", "steps_refused"], table)))
        simple = [
            ("url_params.csv", url_params, ["participant_id", "name"], ["participant_id", "name", "value"]),
            (
                "scene_visits.csv",
                scene_visits,
                ["participant_id", "scene_index"],
                ["participant_id", "scene_id", "scene_index", "seed", "entered_at", "left_at"],
            ),
            (
                "answers.csv",
                answers,
                ["participant_id", "scene_id", "question_id"],
                ["participant_id", "scene_id", "question_id", "value", "answered_at"],
            ),
            ("events.csv", events, ["id"], ["participant_id", "scene_id", "kind", "data", "t_server"]),
        ]
        # each visit's scene as written and repetition (a `Repeat`'s visits have ids of their own)
        placed: dict[tuple[str, str], tuple[str, Any]] = {}
        for p in people:
            for entry in json.loads(p["scene_order"] or "[]"):
                placed[(p["id"], entry["id"])] = (entry["scene"], entry["repeat"])
        visits: list[dict[str, Any]] = []
        for name, source, order, columns in simple:
            rows = event_rows if source is events else await _rows(store, source, order, experiment_id)
            path = out_dir / name
            cells = [[r[c] for c in columns] for r in rows]
            if source is scene_visits:
                cells = [
                    [*cell, *placed.get((r["participant_id"], r["scene_id"]), (r["scene_id"], None))]
                    for cell, r in zip(cells, rows, strict=True)
                ]
                columns = [*columns, "scene", "repeat"]
                visits = [dict(zip(columns, cell, strict=True)) for cell in cells]
            written.append((path, *_write(path, columns, cells)))
        by_scene: dict[str, list[list[Any]]] = {}
        for r in step_rows:
            row = [experiment_of.get(r["participant_id"], ""), *[r[c] for c in STEP_COLUMNS[1:]]]
            by_scene.setdefault(r["scene_id"], []).append(row)
        for scene_id, rows in sorted(by_scene.items()):
            path = out_dir / f"steps_{scene_id}.csv"
            written.append((path, *_write(path, STEP_COLUMNS, rows)))
        written += await _export_matches(store, out_dir, step_rows, experiment_of, experiment_id)
        async with store.engine.connect() as conn:
            played = select(matches.c.scene_id, match_members.c.participant_id).join(
                match_members, match_members.c.match_id == matches.c.id
            )
            matched = {r.scene_id for r in await conn.execute(played) if r.participant_id in experiment_of}
        declared = experiment if experiment is not None and experiment.id in experiment_of.values() else None
        games = game_scene_ids(declared) | {r["scene_id"] for r in step_rows} | matched
        per_person = attrition_rows(people, visits, stored, games)
        for name, header, rows in (
            ("attrition.csv", ATTRITION_COLUMNS, per_person),
            ("attrition_summary.csv", SUMMARY_COLUMNS, summary_rows(per_person)),
        ):
            path = out_dir / name
            written.append((path, *_write(path, header, rows)))
        ids = sorted(set(experiment_of.values()))
        data = metadata_bytes(build_metadata(experiment, ids, bundle_dir))
        path = out_dir / METADATA_FILE
        path.write_bytes(data)
        written.append((path, None, hashlib.sha256(data).hexdigest()))
    finally:
        await store.close()
    manifest = out_dir / "MANIFEST.csv"
    _write(manifest, ["file", "rows", "sha256"], [[p.name, n, h] for p, n, h in written])
    return [p for p, _, _ in written] + [manifest]


MATCH_COLUMNS = [
    "match_id",
    "scene_id",
    "group_id",
    "seed",
    "members",
    "agents",
    "created_at",
    "ended_at",
    "end_reason",
    "input_delay",
    "steps_compared",
    "steps_differing",
    "first_difference",
]
MEMBER_COLUMNS = ["match_id", "scene_id", "group_id", "participant_id", "slot", "created_at"]
LINK_COLUMNS = [
    "match_id",
    "participant_id",
    "slot",
    "peer_slot",
    "connection_type",
    "relay_protocol",
    "rtt_ms",
    "input_delay",
    "own_delay_max",
    "paced_ms",
    "frames",
    "stalls",
    "stall_ms",
    "desyncs",
    "pauses",
    "pause_ms",
    "rejoins",
]


def compare_members(rows: list[Any]) -> dict[str, tuple[int, int, str]]:
    """Per match: (steps recorded by two or more members, steps whose checksums differ, the first such step)."""
    seen: dict[str, dict[tuple[int, str, int], dict[str, str | None]]] = {}
    for r in rows:
        if r["match_id"]:
            key = (r["episode"], r["agent"], r["step"])
            seen.setdefault(r["match_id"], {}).setdefault(key, {})[r["participant_id"]] = r["obs_checksum"]
    result = {}
    for match_id, by_step in seen.items():
        shared = {k: v for k, v in by_step.items() if len(v) > 1}
        differing = sorted(k for k, v in shared.items() if len(set(v.values())) > 1)
        first = f"episode {differing[0][0]} step {differing[0][2]}" if differing else ""
        result[match_id] = (len(shared), len(differing), first)
    return result


async def _export_matches(
    store: Store, out_dir: Path, step_rows: list[Any], experiment_of: dict[str, str], experiment_id: str | None
) -> list[tuple[Path, int, str]]:
    async with store.engine.connect() as conn:
        all_matches = list(
            (await conn.execute(select(matches).order_by(matches.c.created_at, matches.c.id))).mappings()
        )
        reports = list((await conn.execute(select(match_reports).order_by(match_reports.c.id))).mappings())
    if experiment_id is not None:
        all_matches = [
            m for m in all_matches if any(experiment_of.get(pid) == experiment_id for pid in json.loads(m["members"]))
        ]
    comparison = compare_members(step_rows)
    summaries: dict[tuple[str, str], dict[str, Any]] = {}
    links: dict[tuple[str, str], list[dict[str, Any]]] = {}
    pauses: dict[tuple[str, str, Any], tuple[int, float]] = {}
    rejoins: dict[tuple[str, str], int] = {}
    for report in reports:
        key = (report["match_id"], report["participant_id"])
        if report["kind"] == "summary":
            summaries[key] = json.loads(report["data"])
        elif report["kind"] == "links":
            links[key] = list(json.loads(report["data"]).get("peers", []))
        elif report["kind"] == "pause":
            data = json.loads(report["data"])
            count, total = pauses.get((*key, data.get("peer_slot")), (0, 0.0))
            away = data.get("away_ms")
            pauses[(*key, data.get("peer_slot"))] = (
                count + 1,
                total + (away if isinstance(away, int | float) else 0.0),
            )
        elif report["kind"] == "resumed":
            rejoins[key] = rejoins.get(key, 0) + 1
    match_rows, member_rows, link_rows = [], [], []
    for m in all_matches:
        members = json.loads(m["members"])
        for slot, pid in enumerate(members):
            member_rows.append([m["id"], m["scene_id"], m["group_id"], pid, slot, m["created_at"]])
        delays = sorted(
            {
                str(s["input_delay"])
                for (mid, _), s in summaries.items()
                if mid == m["id"] and s.get("input_delay") is not None
            }
        )
        compared, differing, first = comparison.get(m["id"], (0, 0, ""))
        match_rows.append(
            [
                m["id"],
                m["scene_id"],
                m["group_id"],
                m["seed"],
                m["members"],
                m["agents"],
                m["created_at"],
                m["ended_at"],
                m["end_reason"],
                "/".join(delays),
                compared,
                differing,
                first,
            ]
        )
        for slot, pid in enumerate(members):
            summary = summaries.get((m["id"], pid), {})
            for peer in sorted(links.get((m["id"], pid), []), key=lambda p: p.get("slot", -1)):
                link_rows.append(
                    [
                        m["id"],
                        pid,
                        slot,
                        peer.get("slot"),
                        peer.get("type"),
                        peer.get("relay_protocol"),
                        peer.get("rtt_ms"),
                        summary.get("input_delay"),
                        summary.get("own_delay_max"),
                        summary.get("paced_ms"),
                        summary.get("frames"),
                        summary.get("stalls"),
                        summary.get("stall_ms"),
                        summary.get("desyncs"),
                        pauses.get((m["id"], pid, peer.get("slot")), (0, 0.0))[0],
                        round(pauses.get((m["id"], pid, peer.get("slot")), (0, 0.0))[1]),
                        rejoins.get((m["id"], pid), 0),
                    ]
                )
    out = []
    for name, header, rows in (
        ("matches.csv", MATCH_COLUMNS, match_rows),
        ("match_members.csv", MEMBER_COLUMNS, member_rows),
        ("match_links.csv", LINK_COLUMNS, link_rows),
    ):
        path = out_dir / name
        out.append((path, *_write(path, header, rows)))
    return out


def export_csv(
    database_url: str,
    out_dir: Path | str,
    experiment_id: str | None = None,
    experiment: Experiment | None = None,
    bundle_dir: Path | None = None,
) -> list[Path]:
    """Export the database at `database_url` as CSV files and `metadata.json` in `out_dir`.

    Args:
        database_url: the server's MUG_DATABASE_URL.
        out_dir: the folder to write to.
        experiment_id: only this experiment's participants (default: all).
        experiment: the experiment the data was recorded with, for `metadata.json` (default: none).
        bundle_dir: the Pyodide bundle served, whose lock file's hash goes into `metadata.json`.

    Returns:
        The files written, MANIFEST.csv last.
    """
    return asyncio.run(export_async(database_url, Path(out_dir), experiment_id, experiment, bundle_dir))
