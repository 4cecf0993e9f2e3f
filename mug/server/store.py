"""The experiment's data: participants, scene visits, survey answers, steps and events.

SQLite (the embedded default, through aiosqlite) or PostgreSQL (through asyncpg), via SQLAlchemy Core.
Writes that may be repeated (a batch of steps sent twice after a lost acknowledgement) are idempotent:
a step is keyed by (participant, scene, match, episode, agent, step) and stored once; `match_id` is "" for a
game played alone, so a second match of the same scene (a participant who plays it again) is kept apart.

The database is the source of truth for the live state of a study too: matches and their members, who
finished them, and lobby waits are written when they change, so a restarted server rebuilds them (see
`mug.server.multiplayer`). The tables are in `mug.server.tables`; a database of another `SCHEMA_VERSION` is
refused at start-up with a message instead of being used half-way.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, event, func, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from mug.server.lobby import Group
from mug.server.tables import (
    SCHEMA_VERSION,
    answers,
    condition_counts,
    events,
    lobby_waits,
    match_members,
    match_reports,
    matches,
    metadata,
    participants,
    scene_visits,
    schema,
    steps,
    unique_params,
    url_params,
)

ENTRY_SCENE = "entry"  # the outcome_scene of a participant refused at entry
ATTEMPT_EVENT = "comprehension_attempt"  # the event kind of a submission of comprehension checks
LOBBY_RTT_EVENT = "lobby_rtt"  # the round trip measured as a participant joined a lobby with max_rtt_ms


@dataclass
class Plan:
    """A new participant's way through the experiment, chosen once their condition is known."""

    order_seed: int
    order: list[dict[str, Any]]  # the resolved scene list (see tables.participants.scene_order)
    first_seed: int | None  # the first scene's seed
    completion_code: str  # the end scene's fixed code, or a random one


@dataclass
class Admission:
    """What `Store.admit` decided: a condition (None without conditions) and plan, or an entry outcome."""

    condition: str | None = None
    plan: Plan | None = None
    outcome: str | None = None
    completion_code: str = ""


def async_url(url: str) -> str:
    """Map a plain database URL to its asyncio driver (sqlite -> aiosqlite, postgresql -> asyncpg)."""
    if url.startswith("sqlite:"):
        return "sqlite+aiosqlite:" + url[len("sqlite:") :]
    if url.startswith("postgres://"):
        return "postgresql+asyncpg://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url[len("postgresql://") :]
    return url


def dumps(value: Any) -> str:
    """Compact, key-sorted JSON: the same value always gives the same text (reproducible exports)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=True)


SCHEMA_LOCK_KEY = 0x6D7567  # "mug": PostgreSQL advisory lock held while the tables are checked and created


class Store:
    """Async access to the experiment database. Create with `await Store.open(url)`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @classmethod
    async def open(cls, url: str) -> Store:
        """Connect and create the tables if they do not exist.

        Raises:
            StoreError: the database holds MUG tables of another schema version.
        """
        if url.startswith("sqlite"):
            # SQLite has one writer: one shared connection serialises writes in order instead of letting pooled
            # connections contend for the file lock (and fail with "database is locked" under load)
            engine = create_async_engine(async_url(url), pool_size=1, max_overflow=0, pool_timeout=60)
        else:
            engine = create_async_engine(async_url(url), pool_size=10, max_overflow=20)
        if engine.dialect.name == "sqlite":
            event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        try:
            async with engine.begin() as conn:
                if engine.dialect.name == "postgresql":
                    # several server processes starting at once on a new database: one creates the tables,
                    # the others wait for it (the lock is released when this transaction ends)
                    await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
                await conn.run_sync(_check_schema)
                await conn.run_sync(metadata.create_all)
                await conn.execute(
                    cls._insert_for(engine, schema).values(version=SCHEMA_VERSION).on_conflict_do_nothing()
                )
        except BaseException:
            await engine.dispose()
            raise
        return cls(engine)

    async def close(self) -> None:
        """Release the connections."""
        await self.engine.dispose()

    @staticmethod
    def _insert_for(engine: AsyncEngine, table: Table) -> Any:
        dialect = sqlite if engine.dialect.name == "sqlite" else postgresql
        return dialect.insert(table)

    def _insert(self, table: Table) -> Any:
        return self._insert_for(self.engine, table)

    async def create_participant(
        self,
        pid: str,
        token_hash: str,
        experiment_id: str,
        completion_code: str,
        params: dict[str, str],
        user_agent: str | None,
        first_scene: tuple[str, int | None] | None = None,
    ) -> None:
        """Store a new participant, the URL parameters they arrived with and (optionally) their entry into
        the first scene `(scene_id, seed)`, in one transaction."""
        now = time.time()
        async with self.engine.begin() as conn:
            await _insert_participant(conn, pid, token_hash, experiment_id, completion_code, params, user_agent, now)
            if first_scene is not None:
                await conn.execute(
                    scene_visits.insert().values(
                        participant_id=pid, scene_id=first_scene[0], scene_index=0, seed=first_scene[1], entered_at=now
                    )
                )

    async def admit(
        self,
        pid: str,
        token_hash: str,
        experiment_id: str,
        completion_code: str,
        params: dict[str, str],
        user_agent: str | None,
        *,
        plan: Callable[[str | None], Plan],
        conditions: Sequence[str] = (),
        balance: str = "assigned",
        unique: Sequence[str] = (),
        refused: tuple[str, str] | None = None,
        duplicate_code: str = "",
    ) -> Admission:
        """Store a new participant in one transaction: refused at entry (`refused`: outcome and code), or
        refused because a value of a `unique` URL parameter arrived before (`duplicate_param`), or admitted
        with a condition (balanced by `balance` counts; the count rows are locked while read, so concurrent
        arrivals, in any number of server processes, are counted one after another) and `plan(condition)`.
        """
        now = time.time()
        async with self.engine.begin() as conn:
            await _insert_participant(conn, pid, token_hash, experiment_id, completion_code, params, user_agent, now)
            if refused is None:
                for name in unique:
                    if name not in params:
                        continue
                    result = await conn.execute(
                        self._insert(unique_params)
                        .values(experiment_id=experiment_id, name=name, value=params[name], participant_id=pid)
                        .on_conflict_do_nothing()
                    )
                    if result.rowcount == 0:
                        refused = ("duplicate_param", duplicate_code)
                        break
            if refused is not None:
                outcome, code = refused
                await conn.execute(
                    participants.update()
                    .where(participants.c.id == pid)
                    .values(outcome=outcome, outcome_scene=ENTRY_SCENE, completion_code=code, finished_at=now)
                )
                return Admission(outcome=outcome, completion_code=code)
            condition = await self._assign(conn, experiment_id, conditions, balance) if conditions else None
            chosen = plan(condition)
            await conn.execute(
                participants.update()
                .where(participants.c.id == pid)
                .values(
                    condition=condition,
                    order_seed=chosen.order_seed,
                    scene_order=dumps(chosen.order),
                    completion_code=chosen.completion_code,
                )
            )
            await conn.execute(
                scene_visits.insert().values(
                    participant_id=pid,
                    scene_id=chosen.order[0]["id"],
                    scene_index=0,
                    seed=chosen.first_seed,
                    entered_at=now,
                )
            )
        return Admission(condition=condition, plan=chosen, completion_code=chosen.completion_code)

    async def _assign(self, conn: Any, experiment_id: str, conditions: Sequence[str], balance: str) -> str:
        counts = condition_counts.c
        await conn.execute(
            self._insert(condition_counts)
            .values(
                [{"experiment_id": experiment_id, "condition": c, "assigned": 0, "completed": 0} for c in conditions]
            )
            .on_conflict_do_nothing()
        )
        mine = counts.experiment_id == experiment_id
        if self.engine.dialect.name == "sqlite":
            # SQLite has no row locks: a write first takes the database's write lock for this transaction
            await conn.execute(condition_counts.update().where(mine).values(assigned=counts.assigned))
        rows = await conn.execute(
            select(counts.condition, counts.assigned, counts.completed)
            .where(mine)
            .order_by(counts.condition)
            .with_for_update()
        )
        have = {r.condition: (r.completed if balance == "completed" else r.assigned, r.assigned) for r in rows}
        least = min(have.get(c, (0, 0)) for c in conditions)
        condition = secrets.choice([c for c in conditions if have.get(c, (0, 0)) == least])
        await conn.execute(
            condition_counts.update().where(mine, counts.condition == condition).values(assigned=counts.assigned + 1)
        )
        return condition

    async def condition_counts(self, experiment_id: str) -> dict[str, dict[str, int]]:
        """Condition -> {"assigned", "completed"} counts."""
        counts = condition_counts.c
        async with self.engine.connect() as conn:
            rows = await conn.execute(select(condition_counts).where(counts.experiment_id == experiment_id))
            return {r.condition: {"assigned": r.assigned, "completed": r.completed} for r in rows}

    async def participant_by_token_hash(self, token_hash: str) -> dict[str, Any] | None:
        """The participant row for this token hash, or None."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(participants).where(participants.c.token_hash == token_hash))).first()
        return dict(row._mapping) if row else None

    async def participant(self, pid: str) -> dict[str, Any] | None:
        """The participant row, or None."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(participants).where(participants.c.id == pid))).first()
        return dict(row._mapping) if row else None

    async def params(self, pid: str) -> dict[str, str]:
        """The URL parameters of a participant."""
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                select(url_params.c.name, url_params.c.value).where(url_params.c.participant_id == pid)
            )
            return {r.name: r.value for r in rows}

    async def enter_scene(self, pid: str, scene_id: str, scene_index: int, seed: int | None) -> int | None:
        """Record entering a scene (once; a resume keeps the first visit) and return the scene's seed."""
        async with self.engine.begin() as conn:
            await conn.execute(
                self._insert(scene_visits)
                .values(
                    participant_id=pid,
                    scene_id=scene_id,
                    scene_index=scene_index,
                    seed=seed,
                    entered_at=time.time(),
                )
                .on_conflict_do_nothing()
            )
            await conn.execute(participants.update().where(participants.c.id == pid).values(scene_index=scene_index))
            row = (
                await conn.execute(
                    select(scene_visits.c.seed).where(
                        scene_visits.c.participant_id == pid, scene_visits.c.scene_id == scene_id
                    )
                )
            ).first()
        return None if row is None else row.seed

    async def leave_scene(self, pid: str, scene_id: str, answers_by_question: dict[str, Any], finished: bool) -> None:
        """Record leaving a scene with its survey answers (all in one transaction)."""
        now = time.time()
        async with self.engine.begin() as conn:
            await conn.execute(_close_visit(pid, scene_id, now))
            if answers_by_question:
                stmt = (
                    self._insert(answers)
                    .values(
                        [
                            {
                                "participant_id": pid,
                                "scene_id": scene_id,
                                "question_id": q,
                                "value": v,
                                "answered_at": now,
                            }
                            for q, v in sorted(answers_by_question.items())
                        ]
                    )
                    .on_conflict_do_nothing()
                )
                await conn.execute(stmt)
            if finished:
                people = participants.c
                done = await conn.execute(
                    participants.update().where(people.id == pid, people.finished_at.is_(None)).values(finished_at=now)
                )
                if done.rowcount:
                    counts = condition_counts.c
                    condition = select(people.condition).where(people.id == pid).scalar_subquery()
                    experiment = select(people.experiment_id).where(people.id == pid).scalar_subquery()
                    await conn.execute(
                        condition_counts.update()
                        .where(
                            counts.experiment_id == experiment,
                            counts.condition == condition,
                        )
                        .values(completed=counts.completed + 1)
                    )

    async def add_steps(self, pid: str, scene_id: str, rows: Sequence[dict[str, Any]]) -> tuple[int, int]:
        """Store step rows; return (stored, duplicates). A row already stored is not stored again."""
        if not rows:
            return 0, 0
        now = time.time()
        values = [
            {
                "participant_id": pid,
                "scene_id": scene_id,
                "episode": r["episode"],
                "agent": r.get("agent") or "",
                "step": r["step"],
                "action": dumps(r.get("action")),
                "reward": dumps(r.get("reward")),
                "terminated": bool(r.get("terminated")),
                "truncated": bool(r.get("truncated")),
                "info": dumps(r.get("info")),
                "obs_checksum": r.get("obs_checksum"),
                "episode_seed": r.get("episode_seed"),
                "frame": r.get("frame"),
                "turn_fallback": bool(r.get("turn_fallback")),
                "match_id": r.get("match_id") or "",
                "t_client_ms": r["t_ms"],
                "t_server": now,
            }
            for r in rows
        ]
        stmt = (
            self._insert(steps)
            .values(values)
            .on_conflict_do_nothing(
                index_elements=["participant_id", "scene_id", "match_id", "episode", "agent", "step"]
            )
        )
        async with self.engine.begin() as conn:
            result = await conn.execute(stmt)
        stored = result.rowcount if result.rowcount is not None and result.rowcount >= 0 else len(values)
        return stored, len(values) - stored

    async def next_episode(self, pid: str, scene_id: str) -> int:
        """The episode to resume at: one past the highest episode with stored steps (0 if none)."""
        async with self.engine.connect() as conn:
            value = (
                await conn.execute(
                    select(func.max(steps.c.episode)).where(steps.c.participant_id == pid, steps.c.scene_id == scene_id)
                )
            ).scalar()
        return 0 if value is None else int(value) + 1

    async def set_outcome(self, pid: str, scene_id: str, outcome: str, completion_code: str) -> None:
        """Finish a participant on an outcome page (its own completion code)."""
        now = time.time()
        async with self.engine.begin() as conn:
            await conn.execute(
                participants.update()
                .where(participants.c.id == pid)
                .values(outcome=outcome, outcome_scene=scene_id, completion_code=completion_code, finished_at=now)
            )
            await conn.execute(_close_visit(pid, scene_id, now))

    async def add_match(
        self,
        match_id: str,
        scene_id: str,
        seed: int,
        members: list[str],
        agents: dict[str, Any],
        created_at: float,
        group_id: str = "",
    ) -> dict[str, float]:
        """Record a match as it starts, with its members by slot and its group (`group_id`, "" for a new group:
        the match's own id), and take them out of the lobby's waits.

        Returns:
            When each member who waited in the lobby started waiting (seconds since the epoch).
        """
        async with self.engine.begin() as conn:
            waits = lobby_waits.c
            joined = await conn.execute(
                select(waits.participant_id, waits.joined_at).where(
                    waits.participant_id.in_(members), waits.scene_id == scene_id
                )
            )
            since = {pid: float(at) for pid, at in joined}
            await conn.execute(
                matches.insert().values(
                    id=match_id,
                    scene_id=scene_id,
                    seed=seed,
                    members=dumps(members),
                    agents=dumps(agents),
                    group_id=group_id or match_id,
                    created_at=created_at,
                )
            )
            await conn.execute(
                match_members.insert(),
                [{"match_id": match_id, "participant_id": pid, "slot": slot} for slot, pid in enumerate(members)],
            )
            await conn.execute(
                lobby_waits.delete().where(
                    lobby_waits.c.participant_id.in_(members), lobby_waits.c.scene_id == scene_id
                )
            )
        return since

    async def match(self, match_id: str) -> dict[str, Any] | None:
        """A match (live or ended): id, scene_id, members (slot order), created_at, ended_at, end_reason."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(matches).where(matches.c.id == match_id))).mappings().first()
        if row is None:
            return None
        return dict(row) | {"members": json.loads(row["members"])}

    async def live_matches(self) -> list[dict[str, Any]]:
        """Matches that have not ended: id, scene_id, seed, members (slot order), created_at and `finished`,
        the members who reported playing every episode."""
        async with self.engine.connect() as conn:
            rows = list((await conn.execute(select(matches).where(matches.c.ended_at.is_(None)))).mappings())
            done = await conn.execute(
                select(match_reports.c.match_id, match_reports.c.participant_id).where(
                    match_reports.c.kind == "finished",
                    match_reports.c.match_id.in_(select(matches.c.id).where(matches.c.ended_at.is_(None))),
                )
            )
            finished: dict[str, set[str]] = {}
            for match_id, pid in done:
                finished.setdefault(match_id, set()).add(pid)
        return [
            {
                "id": r["id"],
                "scene_id": r["scene_id"],
                "seed": r["seed"],
                "members": json.loads(r["members"]),
                "created_at": r["created_at"],
                "group_id": r["group_id"],
                "finished": finished.get(r["id"], set()),
            }
            for r in sorted(rows, key=lambda r: (r["created_at"], r["id"]))
        ]

    async def last_group(self, pid: str) -> Group | None:
        """The group of the participant's latest match (members in that match's slot order), or None."""
        query = (
            select(matches.c.group_id, matches.c.members)
            .join(match_members, match_members.c.match_id == matches.c.id)
            .where(match_members.c.participant_id == pid)
            .order_by(matches.c.created_at.desc(), matches.c.id.desc())
            .limit(1)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        return None if row is None else Group(row.group_id, tuple(json.loads(row.members)))

    async def _exists(self, query: Any) -> bool:
        async with self.engine.connect() as conn:
            return (await conn.execute(query.limit(1))).first() is not None

    async def is_match_member(self, match_id: str, pid: str) -> bool:
        """Whether the participant was a member of that match (live or ended)."""
        members = match_members.c
        return await self._exists(
            select(members.slot).where(members.match_id == match_id, members.participant_id == pid)
        )

    async def finished_a_match(self, pid: str, scene_id: str) -> bool:
        """Whether the participant reported playing every episode of a match of this scene."""
        reports = match_reports.c
        return await self._exists(
            select(reports.id)
            .join(matches, matches.c.id == reports.match_id)
            .where(reports.participant_id == pid, reports.kind == "finished", matches.c.scene_id == scene_id)
        )

    async def lobby_wait(self, pid: str, scene_id: str, now: float) -> float:
        """Record that a participant waits in a scene's lobby and return when they started waiting: a
        participant who joins again (after a reconnection or a server restart) keeps their first time."""
        async with self.engine.begin() as conn:
            await conn.execute(
                self._insert(lobby_waits)
                .values(participant_id=pid, scene_id=scene_id, joined_at=now)
                .on_conflict_do_nothing()
            )
            row = (
                await conn.execute(
                    select(lobby_waits.c.joined_at).where(
                        lobby_waits.c.participant_id == pid, lobby_waits.c.scene_id == scene_id
                    )
                )
            ).first()
        return now if row is None else float(row.joined_at)

    async def end_lobby_wait(self, pid: str, scene_id: str | None = None) -> None:
        """The participant no longer waits in that lobby, or in any (left it, timed out, or moved on)."""
        query = lobby_waits.delete().where(lobby_waits.c.participant_id == pid)
        if scene_id is not None:
            query = query.where(lobby_waits.c.scene_id == scene_id)
        async with self.engine.begin() as conn:
            await conn.execute(query)

    async def visited(self, pid: str, scene_id: str) -> bool:
        """Whether the participant has entered that scene."""
        visits = scene_visits.c
        return await self._exists(
            select(visits.scene_index).where(visits.participant_id == pid, visits.scene_id == scene_id)
        )

    async def end_match(self, match_id: str, reason: str) -> None:
        """Record why and when a match ended (the first end wins)."""
        async with self.engine.begin() as conn:
            await conn.execute(
                matches.update()
                .where(matches.c.id == match_id, matches.c.ended_at.is_(None))
                .values(ended_at=time.time(), end_reason=reason)
            )

    async def add_match_report(self, match_id: str, pid: str, kind: str, data: Any) -> None:
        """Store what a member reports about its match (connections, input delay, stalls, desyncs)."""
        async with self.engine.begin() as conn:
            await conn.execute(
                match_reports.insert().values(
                    match_id=match_id, participant_id=pid, kind=kind, data=dumps(data), t_server=time.time()
                )
            )

    async def add_attempt(self, pid: str, scene_id: str, answers_by_question: dict[str, Any], wrong: list[str]) -> int:
        """Record a submission of a scene's comprehension checks (an event `comprehension_attempt` {attempt,
        answers, wrong, passed}) and return its number, 1 for the first: counted and written in one
        transaction."""
        async with self.engine.begin() as conn:
            if self.engine.dialect.name == "sqlite":
                # take SQLite's write lock before counting, so two submissions cannot get one number
                await conn.execute(
                    participants.update().where(participants.c.id == pid).values(scene_index=participants.c.scene_index)
                )
            else:
                await conn.execute(select(participants.c.id).where(participants.c.id == pid).with_for_update())
            done = (
                await conn.execute(
                    select(func.count())
                    .select_from(events)
                    .where(
                        events.c.participant_id == pid,
                        events.c.scene_id == scene_id,
                        events.c.kind == ATTEMPT_EVENT,
                    )
                )
            ).scalar_one()
            attempt = int(done) + 1
            data = {"attempt": attempt, "answers": answers_by_question, "wrong": wrong, "passed": not wrong}
            await conn.execute(
                events.insert().values(
                    participant_id=pid, scene_id=scene_id, kind=ATTEMPT_EVENT, data=dumps(data), t_server=time.time()
                )
            )
        return attempt

    async def add_event(self, pid: str | None, scene_id: str | None, kind: str, data: Any) -> None:
        """Store a bookkeeping event."""
        async with self.engine.begin() as conn:
            await conn.execute(
                events.insert().values(
                    participant_id=pid, scene_id=scene_id, kind=kind, data=dumps(data), t_server=time.time()
                )
            )


def _close_visit(pid: str, scene_id: str, now: float) -> Any:
    """The statement that records leaving a scene (the first time only)."""
    visit = scene_visits.c
    where = (visit.participant_id == pid, visit.scene_id == scene_id, visit.left_at.is_(None))
    return scene_visits.update().where(*where).values(left_at=now)


class StoreError(Exception):
    """The database cannot be used as it is; the message says why and what to do."""


def _check_schema(sync_conn: Any) -> None:
    from sqlalchemy import inspect

    tables = set(inspect(sync_conn).get_table_names())
    if "participants" not in tables:
        return  # a new database
    found = None
    if "mug_schema" in tables:
        found = sync_conn.execute(select(func.max(schema.c.version))).scalar()
    if found != SCHEMA_VERSION:
        raise StoreError(
            f"the database holds MUG data of schema version {found or 1}; this MUG writes version "
            f"{SCHEMA_VERSION}. Export it with the MUG version that wrote it (`mug export`), then point "
            "MUG_DATABASE_URL at a new database"
        )


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


async def _insert_participant(
    conn: Any,
    pid: str,
    token_hash: str,
    experiment_id: str,
    completion_code: str,
    params: dict[str, str],
    user_agent: str | None,
    now: float,
) -> None:
    """The participant's row and the URL parameters they arrived with (within the caller's transaction)."""
    await conn.execute(
        participants.insert().values(
            id=pid,
            token_hash=token_hash,
            experiment_id=experiment_id,
            created_at=now,
            scene_index=0,
            completion_code=completion_code,
            user_agent=user_agent,
        )
    )
    if params:
        await conn.execute(
            url_params.insert(),
            [{"participant_id": pid, "name": k, "value": v} for k, v in sorted(params.items())],
        )
