"""The database layout of an experiment's data (SQLAlchemy Core tables), one table per concept.

`SCHEMA_VERSION` names the layout; `mug.server.store` refuses a database of another version. Steps are keyed
by (participant, scene, match, episode, agent, step); `match_id` is "" for a game played alone.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# 2: steps keyed by match too; match members and lobby waits stored
# 3: a participant's condition and resolved scene order; condition counts; URL parameter values seen once
# 4: steps say whether a turn's time limit played the move (turn_fallback); matches carry the id of the
#    group that played them (kept across scenes with Lobby(keep_group=True))
SCHEMA_VERSION = 4

metadata = MetaData()

schema = Table(
    "mug_schema",
    metadata,
    Column("version", Integer, primary_key=True),
)

participants = Table(
    "participants",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("experiment_id", String(64), nullable=False, index=True),
    Column("created_at", Float, nullable=False),
    Column("scene_index", Integer, nullable=False, default=0),
    Column("completion_code", String(64), nullable=False),
    Column("finished_at", Float),
    Column("user_agent", Text),
    # set when the participant finished on an outcome page (lobby timeout, partner left) instead of the end scene
    Column("outcome", String(40)),
    Column("outcome_scene", String(64)),
    # the condition assigned (None without conditions), and the resolved scene list that scene_index points
    # into: JSON [{"id", "scene", "repeat"}] (resolved id, id as written, 1-based repetition or null), drawn
    # with order_seed
    Column("condition", String(64)),
    Column("order_seed", BigInteger),
    Column("scene_order", Text),
)

# how many participants each condition has: the balanced assignment reads and counts them in one transaction
condition_counts = Table(
    "condition_counts",
    metadata,
    Column("experiment_id", String(64), primary_key=True),
    Column("condition", String(64), primary_key=True),
    Column("assigned", Integer, nullable=False, default=0),
    Column("completed", Integer, nullable=False, default=0),
)

# values of `Entry.unique_params` seen so far: the key refuses a second arrival of one value atomically
unique_params = Table(
    "unique_params",
    metadata,
    Column("experiment_id", String(64), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("value", String(1000), primary_key=True),
    Column("participant_id", String(32), ForeignKey("participants.id"), nullable=False),
)

url_params = Table(
    "url_params",
    metadata,
    Column("participant_id", String(32), ForeignKey("participants.id"), primary_key=True),
    Column("name", String(200), primary_key=True),
    Column("value", Text, nullable=False),
)

scene_visits = Table(
    "scene_visits",
    metadata,
    Column("participant_id", String(32), ForeignKey("participants.id"), primary_key=True),
    Column("scene_id", String(64), primary_key=True),
    Column("scene_index", Integer, nullable=False),
    Column("seed", BigInteger),
    Column("entered_at", Float, nullable=False),
    Column("left_at", Float),
)

answers = Table(
    "answers",
    metadata,
    Column("participant_id", String(32), ForeignKey("participants.id"), primary_key=True),
    Column("scene_id", String(64), primary_key=True),
    Column("question_id", String(64), primary_key=True),
    Column("value", JSON),
    Column("answered_at", Float, nullable=False),
)

steps = Table(
    "steps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("participant_id", String(32), ForeignKey("participants.id"), nullable=False),
    Column("scene_id", String(64), nullable=False),
    Column("episode", Integer, nullable=False),
    Column("agent", String(200), nullable=False, default=""),
    Column("step", Integer, nullable=False),
    Column("action", Text),
    Column("reward", Text),
    Column("terminated", Boolean, nullable=False),
    Column("truncated", Boolean, nullable=False),
    Column("info", Text),
    Column("obs_checksum", String(64)),
    Column("episode_seed", BigInteger),
    Column("frame", Integer),
    # the scene's turn_fallback chose the move: the human's turn time ran out (turn-based scenes only)
    Column("turn_fallback", Boolean, nullable=False, default=False),
    Column("match_id", String(64), nullable=False, default=""),  # "" when played alone (NULLs never collide)
    Column("t_client_ms", Float, nullable=False),
    Column("t_server", Float, nullable=False),
    UniqueConstraint("participant_id", "scene_id", "match_id", "episode", "agent", "step", name="uq_step"),
)

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("participant_id", String(32), ForeignKey("participants.id")),
    Column("scene_id", String(64)),
    Column("kind", String(40), nullable=False),
    Column("data", Text),
    Column("t_server", Float, nullable=False),
)


matches = Table(
    "matches",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("scene_id", String(64), nullable=False),
    Column("seed", BigInteger, nullable=False),
    Column("members", Text, nullable=False),
    Column("agents", Text, nullable=False),
    # the group: the id of the first match its members played together (this match's own id for a new group)
    Column("group_id", String(64), nullable=False, index=True),
    Column("created_at", Float, nullable=False),
    Column("ended_at", Float),
    Column("end_reason", String(40)),
)

match_members = Table(
    "match_members",
    metadata,
    Column("match_id", String(64), ForeignKey("matches.id"), primary_key=True),
    Column("participant_id", String(32), ForeignKey("participants.id"), primary_key=True, index=True),
    Column("slot", Integer, nullable=False),
)

lobby_waits = Table(
    "lobby_waits",
    metadata,
    Column("participant_id", String(32), ForeignKey("participants.id"), primary_key=True),
    Column("scene_id", String(64), primary_key=True),
    Column("joined_at", Float, nullable=False),
)

match_reports = Table(
    "match_reports",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("match_id", String(64), ForeignKey("matches.id"), nullable=False),
    Column("participant_id", String(32), ForeignKey("participants.id"), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("data", Text, nullable=False),
    Column("t_server", Float, nullable=False),
)
