"""The store and the export, on SQLite and on a real PostgreSQL server (started by the fixture)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from mug.server.export import export_async
from mug.server.store import Store, StoreError
from mug.testing.services import PostgresServer


@pytest.fixture(scope="module")
def postgres_server(postgres: PostgresServer) -> str:
    return postgres.new_database()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data.sqlite3'}"
    return str(request.getfixturevalue("postgres_server"))


async def test_store_and_export(database_url: str, tmp_path: Path) -> None:
    store = await Store.open(database_url)
    try:
        await store.create_participant("p_1", "h" * 64, "exp", "CODE", {"PROLIFIC_PID": "x"}, "ua")
        assert (await store.participant_by_token_hash("h" * 64) or {})["id"] == "p_1"
        assert await store.enter_scene("p_1", "game", 0, 1234) == 1234
        assert await store.enter_scene("p_1", "game", 0, 999) == 1234  # a resume keeps the first seed
        rows = [
            {
                "episode": 0,
                "step": s,
                "action": {"left": 1},
                "reward": 0.5,
                "terminated": s == 3,
                "truncated": False,
                "info": {"b": 2, "a": 1},
                "obs_checksum": "abcd",
                "t_ms": 1.5,
            }
            for s in (1, 2, 3)
        ]
        assert await store.add_steps("p_1", "game", rows) == (3, 0)
        assert await store.add_steps("p_1", "game", rows + [rows[0] | {"step": 4}]) == (1, 3)
        assert await store.next_episode("p_1", "game") == 1
        await store.leave_scene("p_1", "game", {"q": 5}, finished=True)
    finally:
        await store.close()
    paths = await export_async(database_url, tmp_path / "a")
    again = await export_async(database_url, tmp_path / "b")
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in again]
    with (tmp_path / "a" / "steps_game.csv").open(newline="") as f:
        steps = list(csv.DictReader(f))
    assert [r["step"] for r in steps] == ["1", "2", "3", "4"]
    assert steps[0]["action"] == '{"left":1}' and steps[0]["info"] == '{"a":1,"b":2}' and steps[2]["terminated"] == "1"


async def test_a_step_is_keyed_by_its_match_too(database_url: str) -> None:
    store = await Store.open(database_url)
    try:
        await store.create_participant("p_keyed", "k" * 64, "exp-keyed", "CODE", {}, "ua")
        row = {"episode": 0, "step": 1, "agent": "left", "t_ms": 1.0}
        # the same scene, episode, agent and step: alone, in one match, in another match are three rows
        assert await store.add_steps("p_keyed", "duo", [row]) == (1, 0)
        two = [row | {"match_id": "m1"}, row | {"match_id": "m2"}]
        assert await store.add_steps("p_keyed", "duo", two) == (2, 0)
        assert await store.add_steps("p_keyed", "duo", [row, row | {"match_id": "m2"}]) == (0, 2)
    finally:
        await store.close()


async def test_a_database_of_another_schema_is_refused_with_a_message(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "old.sqlite3"
    with sqlite3.connect(db) as conn:  # the layout of MUG 0.1's first schema: no version table
        conn.execute("create table participants (id varchar(32) primary key)")
    with pytest.raises(StoreError, match="schema version 1; this MUG writes version 2"):
        await Store.open(f"sqlite:///{db}")
    store = await Store.open(f"sqlite:///{tmp_path / 'new.sqlite3'}")  # a new database is set up
    await store.close()
    store = await Store.open(f"sqlite:///{tmp_path / 'new.sqlite3'}")  # and opened again
    await store.close()
