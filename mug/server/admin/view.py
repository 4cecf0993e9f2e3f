"""What the admin view shows, read from shared state only: the database, which every server process writes.

Nothing here comes from one process's memory, so with several processes (`MUG_REDIS_URL`) any of them gives
the same picture. `snapshot` reads:

- participants (their scene, from the resolved scene list, and phase: `lobby` while a lobby wait is open,
  `match` while a member of a match that has not ended, `outcome` or `finished` once they ended, else `scene`);
- lobby waits (who waits where, since when);
- matches that have not ended, with their members' latest `status` report (input delay, frame, stalls,
  desyncs, connection type and round trip of each link), or their `match_connected` event before the first
  status;
- outcome and condition counts;
- arrivals and running matches over the last `HISTORY_S` (load), and the lobby waits of the matches formed
  then (the `lobby_matched` events), for the plots.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import func, select

from mug.configurations import Experiment, GameScene
from mug.server.store import ENTRY_SCENE, Store
from mug.server.tables import (
    condition_counts,
    events,
    lobby_waits,
    match_reports,
    matches,
    participants,
)

HISTORY_S = 30 * 60  # the plots cover the last half hour
BUCKET_S = 30  # in buckets of this many seconds
MAX_LISTED = 200  # participants listed one by one (the latest arrivals still under way); counts cover all
MAX_ENDED = 20  # ended matches listed


def _current_scene(row: Any, experiment: Experiment) -> str:
    if row["outcome_scene"] is not None and row["outcome"] is not None:
        return str(row["outcome_scene"])
    if row["scene_order"]:
        order = json.loads(row["scene_order"])
        return str(order[min(row["scene_index"], len(order) - 1)]["id"])
    scenes = experiment.default_scenes
    return str(scenes[min(row["scene_index"], len(scenes) - 1)].id)


async def snapshot(store: Store, experiment: Experiment, now: float | None = None) -> dict[str, Any]:
    """The admin view's state of the experiment at `now` (JSON-ready)."""
    now = time.time() if now is None else now
    since = now - HISTORY_S
    async with store.engine.connect() as conn:
        people = list(
            (
                await conn.execute(
                    select(
                        participants.c.id,
                        participants.c.created_at,
                        participants.c.scene_index,
                        participants.c.scene_order,
                        participants.c.outcome,
                        participants.c.outcome_scene,
                        participants.c.finished_at,
                        participants.c.condition,
                    ).where(participants.c.experiment_id == experiment.id)
                )
            ).mappings()
        )
        ids = {p["id"] for p in people}
        waits = [w for w in (await conn.execute(select(lobby_waits))).mappings() if w["participant_id"] in ids]
        live_rows = list((await conn.execute(select(matches).where(matches.c.ended_at.is_(None)))).mappings())
        live_rows = [m for m in live_rows if set(json.loads(m["members"])) & ids]
        ended_rows = list(
            (
                await conn.execute(
                    select(matches)
                    .where(matches.c.ended_at.is_not(None), matches.c.ended_at >= since)
                    .order_by(matches.c.ended_at.desc())
                )
            ).mappings()
        )
        ended_rows = [m for m in ended_rows if set(json.loads(m["members"])) & ids]
        live_ids = [m["id"] for m in live_rows]
        # each member's latest status report only (a long match has hundreds)
        latest = (
            select(func.max(match_reports.c.id))
            .where(match_reports.c.match_id.in_(live_ids), match_reports.c.kind == "status")
            .group_by(match_reports.c.match_id, match_reports.c.participant_id)
        )
        reports = list(
            (
                await conn.execute(
                    select(match_reports.c.match_id, match_reports.c.participant_id, match_reports.c.data).where(
                        match_reports.c.id.in_(latest)
                    )
                )
            ).all()
        )
        oldest = min((m["created_at"] for m in live_rows), default=now)
        connected = list(
            (
                await conn.execute(
                    select(events.c.participant_id, events.c.kind, events.c.data).where(
                        events.c.kind.in_(("match_connected", "desync")), events.c.t_server >= oldest - 1
                    )
                )
            ).all()
        )
        matched = list(
            (
                await conn.execute(
                    select(events.c.participant_id, events.c.data, events.c.t_server).where(
                        events.c.kind == "lobby_matched", events.c.t_server >= since
                    )
                )
            ).all()
        )
        counts = {
            r["condition"]: {"assigned": r["assigned"], "completed": r["completed"]}
            for r in (
                await conn.execute(select(condition_counts).where(condition_counts.c.experiment_id == experiment.id))
            ).mappings()
        }
        history = list(
            (
                await conn.execute(
                    select(matches.c.created_at, func.coalesce(matches.c.ended_at, now)).where(
                        func.coalesce(matches.c.ended_at, now) >= since
                    )
                )
            ).all()
        )

    waiting = {(w["participant_id"], w["scene_id"]): w["joined_at"] for w in waits}
    in_match = {pid for m in live_rows for pid in json.loads(m["members"])}
    scene_ids = [s.id for s in experiment.all_scenes]
    by_scene: dict[str, dict[str, int]] = {}
    outcomes: dict[str, int] = {}
    listed: list[dict[str, Any]] = []
    for p in sorted(people, key=lambda r: -r["created_at"]):
        scene = _current_scene(p, experiment)
        if p["outcome"] is not None:
            phase = "outcome"
        elif p["finished_at"] is not None:
            phase = "finished"
        elif (p["id"], scene) in waiting:
            phase = "lobby"
        elif p["id"] in in_match:
            phase = "match"
        else:
            phase = "scene"
        by_scene.setdefault(scene, {}).setdefault(phase, 0)
        by_scene[scene][phase] += 1
        ending = p["outcome"] or ("finished" if p["finished_at"] is not None else "under way")
        outcomes[ending] = outcomes.get(ending, 0) + 1
        if phase not in ("outcome", "finished") and len(listed) < MAX_LISTED:
            listed.append(
                {
                    "id": p["id"],
                    "scene": scene,
                    "phase": phase,
                    "condition": p["condition"],
                    "since_s": round(now - p["created_at"], 1),
                }
            )
    ordered = [s for s in scene_ids if s in by_scene] + sorted(set(by_scene) - set(scene_ids))
    if ENTRY_SCENE in by_scene and ENTRY_SCENE in ordered:
        ordered.remove(ENTRY_SCENE)
        ordered.insert(0, ENTRY_SCENE)

    lobbies = []
    for game in experiment.game_scenes:
        if not game.multiplayer:
            continue
        queue = sorted((at, pid) for (pid, sid), at in waiting.items() if sid == game.id and pid not in in_match)
        lobbies.append(
            {
                "scene_id": game.id,
                "group_size": len(game.human_agents),
                "timeout_s": game.lobby.timeout_s,
                "waiting": [{"participant": pid, "waited_s": round(now - at, 1)} for at, pid in queue],
            }
        )

    status: dict[tuple[str, str], dict[str, Any]] = {}
    for match_id, pid, data in reports:
        status[(match_id, pid)] = json.loads(data)
    links: dict[tuple[str, str], list[dict[str, Any]]] = {}
    desyncs: dict[tuple[str, str], int] = {}
    for pid, kind, data in connected:
        body = json.loads(data) if data else {}
        match_id = str(body.get("match_id", ""))
        if kind == "match_connected":
            links[(match_id, pid)] = list(body.get("peers") or [])
        else:
            desyncs[(match_id, pid)] = desyncs.get((match_id, pid), 0) + 1

    running = []
    for m in sorted(live_rows, key=lambda r: r["created_at"]):
        scene_obj = experiment.scene(m["scene_id"]) if m["scene_id"] in scene_ids else None
        configured = scene_obj.input_delay if isinstance(scene_obj, GameScene) else None
        members = []
        for slot, pid in enumerate(json.loads(m["members"])):
            st = status.get((m["id"], pid), {})
            peers = st.get("peers") or links.get((m["id"], pid), [])
            members.append(
                {
                    "participant": pid,
                    "slot": slot,
                    "frame": st.get("frames"),
                    "input_delay": st.get("input_delay"),
                    "stalls": st.get("stalls"),
                    "stall_ms": st.get("stall_ms"),
                    "desyncs": max(int(st.get("desyncs") or 0), desyncs.get((m["id"], pid), 0)),
                    "links": [
                        {"slot": peer.get("slot"), "type": peer.get("type"), "rtt_ms": peer.get("rtt_ms")}
                        for peer in peers
                        if isinstance(peer, dict)
                    ],
                }
            )
        running.append(
            {
                "id": m["id"],
                "scene_id": m["scene_id"],
                "running_s": round(now - m["created_at"], 1),
                "input_delay": configured,
                "members": members,
            }
        )
    ended = [
        {
            "id": m["id"],
            "scene_id": m["scene_id"],
            "end_reason": m["end_reason"],
            "ended_s_ago": round(now - m["ended_at"], 1),
            "members": json.loads(m["members"]),
        }
        for m in ended_rows[:MAX_ENDED]
    ]

    buckets = [since + BUCKET_S * (i + 1) for i in range(HISTORY_S // BUCKET_S)]
    arrivals = [0] * len(buckets)
    for p in people:
        if p["created_at"] >= since:
            arrivals[min(len(buckets) - 1, int((p["created_at"] - since) // BUCKET_S))] += 1
    running_at = [sum(1 for start, end in history if start <= t and end >= t - BUCKET_S) for t in buckets]
    wait_points = sorted(
        (float(t), float(json.loads(data).get("waited_s", 0.0))) for pid, data, t in matched if pid in ids
    )
    return {
        "now": now,
        "experiment": {"id": experiment.id, "title": experiment.title},
        "participants": {"total": len(people), "by_scene": [{"scene": s, "phases": by_scene[s]} for s in ordered]},
        "under_way": listed,
        "outcomes": dict(sorted(outcomes.items())),
        "conditions": counts,
        "lobbies": lobbies,
        "matches": running,
        "ended_matches": ended,
        "load": {"t": buckets, "arrivals": arrivals, "matches": running_at, "bucket_s": BUCKET_S},
        "waits": {"t": [t for t, _ in wait_points], "waited_s": [w for _, w in wait_points]},
    }
