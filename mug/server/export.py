"""`mug export`: the stored data as CSV tables, byte-for-byte reproducible.

Files written (rows in a fixed order, JSON cells with sorted keys, no export timestamp inside):
- `steps_<scene_id>.csv`: one row per recorded step of that game scene;
- `participants.csv`, `url_params.csv`, `scene_visits.csv`, `answers.csv`, `events.csv`;
- `MANIFEST.csv`: every other file with its row count and SHA-256.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
from pathlib import Path
from typing import Any

from sqlalchemy import Table, select

from mug.server.store import Store, answers, events, participants, scene_visits, steps, url_params

STEP_COLUMNS = [
    "experiment_id", "participant_id", "scene_id", "episode", "step", "agent", "action", "reward", "terminated",
    "truncated", "info", "obs_checksum", "episode_seed", "frame", "match_id", "t_client_ms", "t_server",
]


def _cell(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return "" if value is None else value


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


async def export_async(database_url: str, out_dir: Path, experiment_id: str | None = None) -> list[Path]:
    """Write the CSV tables to `out_dir` (created if needed) and return the paths written."""
    out_dir.mkdir(parents=True, exist_ok=True)
    store = await Store.open(database_url)
    written: list[tuple[Path, int, str]] = []
    try:
        people = await _rows(store, participants, ["id"], experiment_id)
        experiment_of = {p["id"]: p["experiment_id"] for p in people}
        cols = ["id", "experiment_id", "created_at", "scene_index", "completion_code", "finished_at", "user_agent"]
        path = out_dir / "participants.csv"
        written.append((path, *_write(path, cols, [[p[c] for c in cols] for p in people])))
        simple = [
            ("url_params.csv", url_params, ["participant_id", "name"], ["participant_id", "name", "value"]),
            ("scene_visits.csv", scene_visits, ["participant_id", "scene_index"],
             ["participant_id", "scene_id", "scene_index", "seed", "entered_at", "left_at"]),
            ("answers.csv", answers, ["participant_id", "scene_id", "question_id"],
             ["participant_id", "scene_id", "question_id", "value", "answered_at"]),
            ("events.csv", events, ["id"], ["participant_id", "scene_id", "kind", "data", "t_server"]),
        ]
        for name, table, order, columns in simple:
            rows = await _rows(store, table, order, experiment_id)
            path = out_dir / name
            written.append((path, *_write(path, columns, [[r[c] for c in columns] for r in rows])))
        step_rows = await _rows(store, steps, ["scene_id", "participant_id", "episode", "step", "agent"],
                                experiment_id)
        by_scene: dict[str, list[list[Any]]] = {}
        for r in step_rows:
            row = [experiment_of.get(r["participant_id"], ""), *[r[c] for c in STEP_COLUMNS[1:]]]
            by_scene.setdefault(r["scene_id"], []).append(row)
        for scene_id, rows in sorted(by_scene.items()):
            path = out_dir / f"steps_{scene_id}.csv"
            written.append((path, *_write(path, STEP_COLUMNS, rows)))
    finally:
        await store.close()
    manifest = out_dir / "MANIFEST.csv"
    _write(manifest, ["file", "rows", "sha256"], [[p.name, n, h] for p, n, h in written])
    return [p for p, _, _ in written] + [manifest]


def export_csv(database_url: str, out_dir: Path | str, experiment_id: str | None = None) -> list[Path]:
    """Export the database at `database_url` as CSV files in `out_dir`.

    Args:
        database_url: the server's MUG_DATABASE_URL.
        out_dir: the folder to write to.
        experiment_id: only this experiment's participants (default: all).

    Returns:
        The files written, MANIFEST.csv last.
    """
    return asyncio.run(export_async(database_url, Path(out_dir), experiment_id))
