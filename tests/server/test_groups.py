"""Groups kept from one multiplayer scene to the next, against a real server with python-socketio clients."""

from __future__ import annotations

import asyncio
import csv
import json
import sqlite3
from pathlib import Path
from typing import Any

from sio_peer import Peer, duo, experiment, matched, peers

from mug.configurations import Lobby
from mug.server.export import export_async


def two_rounds(**lobby: Any) -> Any:
    second = duo(id="duo2", lobby=Lobby(keep_group=True, slots="rotate", **lobby))
    return experiment(duo(), second)


async def play_round(*group: Peer, scene_id: str = "duo") -> dict[str, Any]:
    """The group plays its match to the end and moves on; returns the first member's match_start."""
    starts = await matched(*group, scene_id=scene_id)
    for p in group:
        report = {"v": 1, "match_id": starts[0]["match_id"], "kind": "finished"}
        assert (await p.call("match_report", report))["ok"]
        assert (await p.call("advance", {"v": 1, "scene_id": scene_id}))["ok"]
    return starts[0]


def rows(folder: Path, name: str) -> list[dict[str, str]]:
    with (folder / name).open(newline="") as f:
        return list(csv.DictReader(f))


async def test_partners_meet_again_in_round_2_with_swapped_slots_and_strangers_wait_apart(
    serve: Any, tmp_path: Path
) -> None:
    live = serve(two_rounds())
    a, b, c, d = await peers(live.url, 4)
    try:
        first = await play_round(a, b)
        assert first["members"] == [a.pid, b.pid]
        await play_round(c, d)
        # round 2: a and c arrive first, each waiting for their own partner, not for each other
        for p in (a, c):
            assert (await p.call("lobby_join", {"v": 1, "scene_id": "duo2"}))["ok"]
            assert (await p.wait_for("lobby_waiting"))["waiting"] == 1
        assert (await d.call("lobby_join", {"v": 1, "scene_id": "duo2"}))["ok"]
        cd = await d.wait_for("match_start")
        assert cd["members"] == [d.pid, c.pid]
        assert (await b.call("lobby_join", {"v": 1, "scene_id": "duo2"}))["ok"]
        ab = await a.wait_for("match_start")
        assert ab["members"] == [b.pid, a.pid] and ab["slot"] == 1, "the roles swapped"
        assert (await b.wait_for("match_start"))["slot"] == 0
    finally:
        for p in (a, b, c, d):
            await p.stop()
    out = tmp_path / "export"
    await export_async(live.database_url, out, None, None, None)
    members = rows(out, "match_members.csv")
    by_match: dict[str, list[dict[str, str]]] = {}
    for r in members:
        by_match.setdefault(r["match_id"], []).append(r)
    first_ab = by_match[first["match_id"]]
    group = first_ab[0]["group_id"]
    assert group == first["match_id"]
    assert [(r["scene_id"], r["participant_id"], r["slot"]) for r in first_ab] == [
        ("duo", a.pid, "0"),
        ("duo", b.pid, "1"),
    ]
    assert [(r["scene_id"], r["group_id"], r["participant_id"], r["slot"]) for r in by_match[ab["match_id"]]] == [
        ("duo2", group, b.pid, "0"),
        ("duo2", group, a.pid, "1"),
    ]
    assert {r["group_id"] for r in by_match[cd["match_id"]]} != {group}
    matches = {r["match_id"]: r for r in rows(out, "matches.csv")}
    assert matches[ab["match_id"]]["group_id"] == group and len(matches) == 4


async def test_when_a_partner_has_left_the_study_the_other_is_grouped_with_whoever_comes(
    serve: Any, tmp_path: Path
) -> None:
    live = serve(two_rounds(timeout_s=1.0))
    a, b, c, d = await peers(live.url, 4)
    try:
        first_ab = await play_round(a, b)
        first_cd = await play_round(c, d)
        # b and d arrive first; each waits for its own partner only, and times out (an outcome: they left)
        for p in (b, d):
            assert (await p.call("lobby_join", {"v": 1, "scene_id": "duo2"}))["ok"]
        for p in (b, d):
            timed_out = await p.wait_for("lobby_timeout")
            assert timed_out["outcome"] == "end"
        assert not b.got("match_start") and not d.got("match_start")
        # a and c find their partners gone: they are grouped together, a new group, slots by arrival
        ac = await matched(a, c, scene_id="duo2")
        assert ac[0]["members"] == [a.pid, c.pid]
    finally:
        for p in (a, b, c, d):
            await p.stop()
    out = tmp_path / "export"
    await export_async(live.database_url, out, None, None, None)
    groups = {r["match_id"]: r["group_id"] for r in rows(out, "matches.csv")}
    assert groups[ac[0]["match_id"]] == ac[0]["match_id"]
    assert groups[first_ab["match_id"]] == first_ab["match_id"] and groups[first_cd["match_id"]] == first_cd["match_id"]
    outcomes = {r["id"]: r["outcome"] for r in rows(out, "participants.csv")}
    assert outcomes[b.pid] == outcomes[d.pid] == "lobby_timeout"


async def test_who_waits_for_a_partner_who_leaves_the_study_meanwhile_is_grouped_with_whoever_comes(
    serve: Any,
) -> None:
    live = serve(two_rounds())
    a, b, c, d = await peers(live.url, 4)
    try:
        await play_round(a, b)
        await play_round(c, d)
        for p in (a, c):  # each waits for its own partner
            assert (await p.call("lobby_join", {"v": 1, "scene_id": "duo2"}))["ok"]
            assert (await p.wait_for("lobby_waiting"))["waiting"] == 1
        # their partners end the study meanwhile (an outcome, as an exclusion writes it)
        db = live.database_url.removeprefix("sqlite:///")
        with sqlite3.connect(db) as conn:
            conn.execute("update participants set outcome = 'excluded' where id in (?, ?)", (b.pid, d.pid))
        start = await a.wait_for("match_start", timeout=8.0)  # the server checks every 2 s
        assert sorted(start["members"]) == sorted([a.pid, c.pid])
        assert (await c.wait_for("match_start"))["match_id"] == start["match_id"]
    finally:
        for p in (a, b, c, d):
            await p.stop()


class SlowPeer(Peer):
    """A page whose answers to the server's pings take `delay_s` (a long round trip)."""

    delay_s = 0.6

    def _client(self) -> Any:
        sio = super()._client()

        async def ping(data: Any) -> Any:
            await asyncio.sleep(self.delay_s)
            return data

        sio.on("mug_ping", ping)
        return sio


async def test_strangers_are_grouped_only_when_their_measured_round_trips_fit_the_limit(
    serve: Any, tmp_path: Path
) -> None:
    live = serve(experiment(duo(lobby=Lobby(max_rtt_ms=500))))
    slow = await SlowPeer(live.url, "slow").start()
    a, b = await peers(live.url, 2)
    try:
        assert (await slow.call("lobby_join", {"v": 1, "scene_id": "duo"}))["ok"]
        # a's round trip is short, but with slow's 600 ms it is over 500: they do not play together
        assert (await a.call("lobby_join", {"v": 1, "scene_id": "duo"}))["ok"]
        assert (await a.wait_for("lobby_waiting"))["waiting"] == 2
        start = (await matched(b))[0]
        assert start["members"] == [a.pid, b.pid]
        assert not slow.got("match_start")
    finally:
        for p in (slow, a, b):
            await p.stop()
    out = tmp_path / "export"
    await export_async(live.database_url, out, None, None, None)
    measured = {
        r["participant_id"]: json.loads(r["data"])["rtt_ms"]
        for r in rows(out, "events.csv")
        if r["kind"] == "lobby_rtt"
    }
    assert measured[slow.pid] >= 600 and measured[a.pid] + measured[b.pid] <= 500
