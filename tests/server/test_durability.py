"""Nothing recorded is lost and nobody is stranded: reconnections, reloads, absences, restarts, lobby ghosts."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from sio_peer import Peer, connected, duo, experiment, matched, peers, until_connected

from mug.configurations import Outcome, StaticScene
from mug.testing import wait_until_async


def rows(match_id: str, steps: range) -> list[dict[str, Any]]:
    return [{"episode": 0, "step": s, "frame": s, "t_ms": 1.0, "match_id": match_id} for s in steps]


async def _has_outcome(live: Any, pid: str) -> bool:
    return db_rows(live, f"select outcome from participants where id = '{pid}'") != [(None,)]


def db_rows(live: Any, sql: str) -> list[Any]:
    with sqlite3.connect(live.database_url.removeprefix("sqlite:///")) as conn:
        return conn.execute(sql).fetchall()


async def finish(*group: Peer, match_id: str) -> None:
    for p in group:
        assert (await p.call("match_report", {"v": 1, "match_id": match_id, "kind": "finished"}))["ok"]


async def test_a_member_whose_connection_drops_comes_back_into_the_same_match(serve: Any) -> None:
    live = serve(experiment(duo(reconnect_grace_s=0.5)))
    a, b = await peers(live.url, 2)
    try:
        match_id = (await matched(a, b))[0]["match_id"]
        await b.stop()  # the network drops; the peers' own data channel goes on
        await until_connected(live.url, 1)
        await b.start(match_id=match_id)  # the page reconnects by itself, naming the match it plays
        assert b.hello["scene"]["id"] == "duo" and "outcome" not in b.hello["scene"]
        await asyncio.sleep(0.8)  # longer than the grace period: being back counts
        for p in (a, b):
            batch = {"v": 1, "scene_id": "duo", "batch": 0, "rows": rows(match_id, range(1, 4))}
            assert (await p.call("records", batch))["stored"] == 3
        await finish(a, b, match_id=match_id)
        assert a.got("match_end") == [] and b.got("match_end") == []
    finally:
        for p in (a, b):
            await p.stop()
    assert db_rows(live, "select end_reason from matches") == [("finished",)]
    assert db_rows(live, "select outcome from participants") == [(None,), (None,)]


async def test_a_member_who_stays_away_past_the_grace_period_left_and_sees_their_own_outcome(serve: Any) -> None:
    scene = duo(
        reconnect_grace_s=0.3,
        partner_left=Outcome(body="Your partner is gone.", completion_code="STAYED"),
        left=Outcome(title="You left", body="You were away too long.", give_code=False),
    )
    live = serve(experiment(scene))
    a, b = await peers(live.url, 2)
    try:
        await matched(a, b)
        await b.stop()
        ended = await a.wait_for("match_end")
        assert ended["reason"] == "peer_left" and ended["scene"]["completion_code"] == "STAYED"
        await wait_until_async(lambda: _has_outcome(live, b.pid), 5, what="b's outcome stored")
        await b.start()  # back too late
        assert b.hello["scene"]["outcome"] == "left" and b.hello["scene"]["completion_code"] == ""
        assert "You were away too long." in b.hello["scene"]["body_html"]
    finally:
        for p in (a, b):
            await p.stop()
    assert sorted(db_rows(live, "select id, outcome, completion_code from participants")) == sorted(
        [(a.pid, "partner_left", "STAYED"), (b.pid, "left", "")]
    )


async def test_a_reloaded_page_gets_its_running_match_back_to_rejoin(serve: Any) -> None:
    live = serve(experiment(duo(left=Outcome(completion_code="LEFTCODE"))))
    a, b = await peers(live.url, 2)
    try:
        start = (await matched(a, b))[1]
        await b.start()  # the page reloads: a fresh page plays no match yet
        rejoin = b.hello["resume"]["match"]
        assert rejoin["rejoin"] is True and "outcome" not in b.hello["scene"]
        assert {k: rejoin[k] for k in ("match_id", "slot", "members", "seed", "agents")} == {
            k: start[k] for k in ("match_id", "slot", "members", "seed", "agents")
        }
        assert rejoin["ice"]["iceServers"] is not None
        report = {"v": 1, "match_id": start["match_id"], "kind": "resumed", "data": {"frame": 40}}
        assert (await b.call("match_report", report))["ok"]
        assert (await a.call("match_report", report | {"kind": "pause", "data": {"peer_slot": 1}}))["ok"]
        await finish(a, b, match_id=start["match_id"])
        assert not a.got("match_end") and not b.got("match_end")
    finally:
        for p in (a, b):
            await p.stop()
    assert db_rows(live, "select end_reason from matches") == [("finished",)]
    kinds = sorted(k for (k,) in db_rows(live, "select kind from match_reports"))
    assert kinds == ["finished", "finished", "pause", "resumed"]


async def test_a_reloaded_page_that_never_resumes_has_left(serve: Any) -> None:
    scene = duo(left=Outcome(completion_code="LEFTCODE"), reconnect_grace_s=0.5, connect_timeout_s=2)
    live = serve(experiment(scene))
    a, b = await peers(live.url, 2)
    try:
        await matched(a, b)
        await b.start()  # reloaded; its page never gets back into the match
        assert b.hello["resume"]["match"]["rejoin"] is True
        ended = await a.wait_for("match_end", timeout=10)
        assert ended["reason"] == "peer_left" and ended["scene"]["outcome"] == "partner_left"
        mine = await b.wait_for("match_end", timeout=5)
        assert mine["scene"]["outcome"] == "left" and mine["scene"]["completion_code"] == "LEFTCODE"
    finally:
        for p in (a, b):
            await p.stop()


async def test_a_restarted_server_accepts_the_records_reports_and_reconnections_of_running_matches(
    serve: Any,
) -> None:
    first = serve(experiment(duo()))
    a, b = await peers(first.url, 2)
    c = await Peer(first.url, "c").start()
    match_id = (await matched(a, b))[0]["match_id"]
    assert (await c.call("lobby_join", {"v": 1, "scene_id": "duo"}))["ok"]
    assert (await a.call("records", {"v": 1, "scene_id": "duo", "batch": 0, "rows": rows(match_id, range(1, 4))}))[
        "stored"
    ] == 3
    waited_since = db_rows(first, "select joined_at from lobby_waits")
    for p in (a, b, c):
        await p.stop()
    first.stop()

    second = serve(experiment(duo()))
    assert second.database_url == first.database_url
    try:
        for p in (a, b):
            await p.start(match_id=match_id, url=second.url)
            assert p.hello["scene"]["id"] == "duo" and "outcome" not in p.hello["scene"]
        for p in (a, b):  # a sends its batch again (its acknowledgement was lost), b its own rows
            batch = {"v": 1, "scene_id": "duo", "batch": 1, "rows": rows(match_id, range(1, 7))}
            assert (await p.call("records", batch))["ok"]
        await finish(a, b, match_id=match_id)
        await c.start(url=second.url)
        assert (await c.call("lobby_join", {"v": 1, "scene_id": "duo"}))["ok"]
        assert db_rows(second, "select joined_at from lobby_waits") == waited_since  # still waiting since then
        assert a.got("match_end") == [] and b.got("match_end") == []
    finally:
        for p in (a, b, c):
            await p.stop()
    assert db_rows(second, "select end_reason from matches") == [("finished",)]
    assert sorted(db_rows(second, "select participant_id, count(*) from steps group by participant_id")) == sorted(
        [(a.pid, 6), (b.pid, 6)]
    )


async def test_a_restarted_server_ends_a_match_whose_members_never_come_back(serve: Any) -> None:
    first = serve(experiment(duo(reconnect_grace_s=0.3, left=Outcome(completion_code="GONE"))))
    a, b = await peers(first.url, 2)
    await matched(a, b)
    for p in (a, b):
        await p.stop()
    first.stop()
    second = serve(experiment(duo(reconnect_grace_s=0.3, left=Outcome(completion_code="GONE"))))
    try:
        await a.start(url=second.url)  # a fresh page: it is offered the match to rejoin
        assert a.hello["resume"]["match"]["rejoin"] is True
        ended = await a.wait_for("match_end", timeout=5)  # b never comes back
        assert ended["scene"]["outcome"] == "partner_left"
        await wait_until_async(lambda: _has_outcome(second, b.pid), 5, what="b's outcome stored")
    finally:
        await a.stop()
    assert sorted(db_rows(second, "select id, outcome, completion_code from participants")) == sorted(
        [(a.pid, "partner_left", ended["scene"]["completion_code"]), (b.pid, "left", "GONE")]
    )


async def test_a_participant_who_played_the_match_moves_on_instead_of_playing_again(serve: Any) -> None:
    live = serve(experiment(duo(), StaticScene(id="survey")))
    a, b = await peers(live.url, 2)
    try:
        match_id = (await matched(a, b))[0]["match_id"]
        await finish(a, b, match_id=match_id)
        await a.start()  # refreshed after finishing, before moving on
        assert a.hello["scene"]["id"] == "duo" and a.hello["resume"]["played"] is True
        again = await a.call("lobby_join", {"v": 1, "scene_id": "duo"})
        assert again["error"]["code"] == "already_played"
        assert (await a.call("advance", {"v": 1, "scene_id": "duo"}))["scene"]["id"] == "survey"
    finally:
        for p in (a, b):
            await p.stop()


async def test_leaving_a_scene_leaves_its_lobby(serve: Any) -> None:
    live = serve(experiment(duo(), StaticScene(id="survey")))
    a, b, c = await peers(live.url, 3)
    try:
        assert (await a.call("lobby_join", {"v": 1, "scene_id": "duo"}))["ok"]
        assert (await a.call("advance", {"v": 1, "scene_id": "duo"}))["scene"]["id"] == "survey"
        starts = await matched(b, c)
        assert starts[0]["members"] == [b.pid, c.pid]
        assert a.got("match_start") == []
    finally:
        for p in (a, b, c):
            await p.stop()
    assert db_rows(live, "select count(*) from lobby_waits") == [(0,)]


async def test_ended_matches_are_not_kept_in_memory(serve: Any) -> None:
    live = serve(experiment(duo(reconnect_grace_s=0.2)))
    group = await peers(live.url, 4)
    try:
        first = (await matched(*group[:2]))[0]["match_id"]
        await matched(*group[2:])
        await finish(*group[:2], match_id=first)
        for p in group:
            await p.call("advance", {"v": 1, "scene_id": "duo"})
        for p in group:
            await p.stop()
        deadline = asyncio.get_running_loop().time() + 5
        while connected(live.url) or _matches_held(live.url):
            assert asyncio.get_running_loop().time() < deadline, f"{_matches_held(live.url)} matches still held"
            await asyncio.sleep(0.05)
    finally:
        for p in group:
            await p.stop()


def _matches_held(url: str) -> int:
    import json
    import urllib.request

    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
        return int(json.load(response)["matches"])


async def test_members_who_cannot_connect_to_each_other_end_on_their_own_outcome(serve: Any) -> None:
    live = serve(experiment(duo(no_connection=Outcome(body="No connection.", completion_code="NOCONN"))))
    a, b = await peers(live.url, 2)
    try:
        match_id = (await matched(a, b))[0]["match_id"]
        failed = {"reason": "connect_failed", "peer_slot": 1, "last_confirmed_frame": None}
        report = {"v": 1, "match_id": match_id, "kind": "peer_gone", "data": failed}
        assert (await a.call("match_report", report))["ok"]
        for p in (a, b):
            ended = await p.wait_for("match_end")
            assert ended["reason"] == "no_connection" and ended["scene"]["completion_code"] == "NOCONN"
            assert ended["scene"]["outcome"] == "no_connection" and "No connection." in ended["scene"]["body_html"]
    finally:
        for p in (a, b):
            await p.stop()
    assert db_rows(live, "select end_reason from matches") == [("no_connection",)]
    assert db_rows(live, "select outcome, completion_code from participants") == [("no_connection", "NOCONN")] * 2
    (data,) = db_rows(live, "select data from match_reports where kind = 'peer_gone'")
    assert '"reason":"connect_failed"' in data[0]  # why, recorded
