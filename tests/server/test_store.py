"""The store and the export, on SQLite and on a real PostgreSQL server (started by the fixture)."""

from __future__ import annotations

import asyncio
import collections
import csv
import secrets
from pathlib import Path

import pytest

from mug.server.export import export_async
from mug.server.store import Plan, Store, StoreError
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
    with pytest.raises(StoreError, match="schema version 1; this MUG writes version 4"):
        await Store.open(f"sqlite:///{db}")
    v2 = tmp_path / "v2.sqlite3"
    with sqlite3.connect(v2) as conn:  # schema 2: no conditions or scene orders
        conn.execute("create table participants (id varchar(32) primary key)")
        conn.execute("create table mug_schema (version integer primary key)")
        conn.execute("insert into mug_schema values (2)")
    with pytest.raises(StoreError, match="schema version 2; this MUG writes version 4"):
        await Store.open(f"sqlite:///{v2}")
    store = await Store.open(f"sqlite:///{tmp_path / 'new.sqlite3'}")  # a new database is set up
    await store.close()
    store = await Store.open(f"sqlite:///{tmp_path / 'new.sqlite3'}")  # and opened again
    await store.close()


def _plan(condition: str | None) -> Plan:
    return Plan(
        order_seed=1,
        order=[{"id": f"start-{condition}", "scene": "start", "repeat": None}],
        first_seed=None,
        completion_code="CODE",
    )


async def test_condition_assignment_is_atomic_across_processes(database_url: str) -> None:
    # three Store objects stand for three server processes sharing one database
    stores = [await Store.open(database_url) for _ in range(3)]
    tag, exp = secrets.token_hex(2), f"exp-{secrets.token_hex(4)}"  # the PostgreSQL server is shared by tests
    try:
        admitted = await asyncio.gather(
            *(
                stores[i % 3].admit(
                    f"p_{tag}{i}", f"{tag}{i:060d}", exp, "", {}, None, plan=_plan, conditions=["a", "b", "c"]
                )
                for i in range(12)
            )
        )
        assert collections.Counter(a.condition for a in admitted) == {"a": 4, "b": 4, "c": 4}
        assert await stores[0].condition_counts(exp) == {c: {"assigned": 4, "completed": 0} for c in "abc"}
        # the same unique URL parameter value arriving five times at once is admitted once
        dupes = await asyncio.gather(
            *(
                stores[i % 3].admit(
                    f"q_{i}",
                    f"{i + 100:064d}",
                    "exp",
                    "",
                    {"PROLIFIC_PID": "same"},
                    None,
                    plan=_plan,
                    unique=["PROLIFIC_PID"],
                    duplicate_code="DUP",
                )
                for i in range(5)
            )
        )
        assert sorted(str(a.outcome) for a in dupes) == ["None"] + ["duplicate_param"] * 4
        # balanced by completion: the condition with the fewest completed participants comes next
        finished = next(a for a in admitted if a.condition == "a")
        pid = f"p_{tag}{admitted.index(finished)}"
        await stores[1].leave_scene(pid, "start-a", {}, finished=True)
        await stores[1].leave_scene(pid, "start-a", {}, finished=True)  # counted once
        counts = await stores[1].condition_counts(exp)
        assert counts["a"] == {"assigned": 4, "completed": 1}
        nxt = await stores[2].admit(
            f"r_{tag}", tag * 16, exp, "", {}, None, plan=_plan, conditions=["a", "b", "c"], balance="completed"
        )
        assert nxt.condition in {"b", "c"}
    finally:
        for store in stores:
            await store.close()
