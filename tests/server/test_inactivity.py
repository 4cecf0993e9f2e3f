"""Inactivity in game scenes against a real server: the `inactive` outcome, alone and in a match."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from pydantic import ValidationError
from sio_peer import KEYS, Peer, duo, experiment, matched, peers

from mug.configurations import EndScene, Experiment, GameScene, Outcome, StaticScene


def solo(**kw: Any) -> GameScene:
    return GameScene(**({"id": "solo", "env": "not_imported.by_server:make_env", "key_bindings": KEYS} | kw))


def test_inactivity_settings_are_checked() -> None:
    assert solo().inactivity_s is None  # off by default
    with pytest.raises(ValidationError, match="inactivity_s"):
        solo(inactivity_s=0)
    with pytest.raises(ValidationError, match="inactivity_warning_s"):
        solo(inactivity_s=5, inactivity_warning_s=0.5)


async def test_an_inactive_participant_ends_on_the_scenes_inactive_outcome(serve: Any) -> None:
    scene = solo(inactivity_s=5, inactive=Outcome(title="Idle", body="You stopped.", completion_code="IDLE"))
    live = serve(Experiment(id="idle", scenes=[StaticScene(id="intro"), scene, EndScene(id="end")]))
    page = await Peer(live.url, "solo").start()
    try:
        early = await page.call("inactive", {"v": 1, "scene_id": "intro"})
        assert early["error"]["code"] == "not_watched"  # a static scene is not watched
        entered = await page.call("advance", {"v": 1, "scene_id": "intro", "answers": {}})
        assert (entered["scene"]["inactivity_s"], entered["scene"]["inactivity_warning_s"]) == (5, 10)
        wrong = await page.call("inactive", {"v": 1, "scene_id": "intro"})
        assert wrong["error"]["code"] == "wrong_scene"
        row = {"episode": 0, "step": 0, "t_ms": 1.0}
        assert (await page.call("records", {"v": 1, "scene_id": "solo", "batch": 0, "rows": [row]}))["stored"] == 1
        ack = await page.call("inactive", {"v": 1, "scene_id": "solo"})
        assert ack["ok"] and ack["scene"]["outcome"] == "inactive"
        assert ack["scene"]["title"] == "Idle" and ack["scene"]["completion_code"] == "IDLE"
        again = await page.call("inactive", {"v": 1, "scene_id": "solo"})
        assert again["error"]["code"] == "finished"
        late = row | {"step": 1}  # the records still in the outbox reach the server after the outcome
        assert (await page.call("records", {"v": 1, "scene_id": "solo", "batch": 1, "rows": [late]}))["stored"] == 1
        moved = await page.call("advance", {"v": 1, "scene_id": "solo", "answers": {}})
        assert moved["error"]["code"] == "finished"
    finally:
        await page.stop()
    with sqlite3.connect(live.database_url.removeprefix("sqlite:///")) as conn:
        assert conn.execute("select outcome, outcome_scene, completion_code from participants").fetchall() == [
            ("inactive", "solo", "IDLE")
        ]
        assert conn.execute("select count(*) from steps").fetchone() == (2,)


async def test_a_scene_without_inactivity_s_refuses_an_inactive_report(serve: Any) -> None:
    live = serve(Experiment(id="plain", scenes=[solo(), EndScene(id="end")]))
    page = await Peer(live.url, "plain").start()
    try:
        refused = await page.call("inactive", {"v": 1, "scene_id": "solo"})
        assert refused["error"]["code"] == "not_watched" and "inactivity_s" in refused["error"]["message"]
    finally:
        await page.stop()


async def test_an_inactive_member_ends_the_match_and_the_partner_gets_partner_inactive(serve: Any) -> None:
    scene = duo(
        inactivity_s=5,
        inactive=Outcome(body="Idle.", completion_code="IDLE"),
        partner_inactive=Outcome(title="Partner idle", body="Your partner stopped.", completion_code="PIDLE"),
    )
    live = serve(experiment(scene))
    a, b = await peers(live.url, 2)
    try:
        start, _ = await matched(a, b)
        rows = [{"episode": 0, "step": n, "t_ms": 1.0, "frame": n, "match_id": start["match_id"]} for n in range(3)]
        for p in (a, b):
            assert (await p.call("records", {"v": 1, "scene_id": "duo", "batch": 0, "rows": rows}))["stored"] == 3
        ack = await b.call("inactive", {"v": 1, "scene_id": "duo"})
        assert ack["ok"] and ack["scene"]["outcome"] == "inactive" and ack["scene"]["completion_code"] == "IDLE"
        told = await a.wait_for("match_end")
        assert told["reason"] == "peer_inactive" and told["scene"]["outcome"] == "partner_inactive"
        assert told["scene"]["title"] == "Partner idle" and told["scene"]["completion_code"] == "PIDLE"
        late = [r | {"step": 3, "frame": 3} for r in rows[:1]]  # the partner flushes what it played since
        assert (await a.call("records", {"v": 1, "scene_id": "duo", "batch": 1, "rows": late}))["stored"] == 1
        again = await a.call("inactive", {"v": 1, "scene_id": "duo"})
        assert again["error"]["code"] == "finished"  # the outcome applies once, to the scene they were in
    finally:
        await a.stop()
        await b.stop()
    with sqlite3.connect(live.database_url.removeprefix("sqlite:///")) as conn:
        assert conn.execute("select end_reason from matches").fetchall() == [("peer_inactive",)]
        assert sorted(conn.execute("select id, outcome, completion_code from participants").fetchall()) == sorted(
            [(a.pid, "partner_inactive", "PIDLE"), (b.pid, "inactive", "IDLE")]
        )
        assert conn.execute("select count(*) from steps where match_id != ''").fetchone() == (7,)


async def test_inactive_in_the_lobby_leaves_it(serve: Any) -> None:
    live = serve(experiment(duo(inactivity_s=5)))
    a, b, c = await peers(live.url, 3)
    try:
        assert (await a.call("lobby_join", {"v": 1, "scene_id": "duo"}))["ok"]
        assert (await a.call("inactive", {"v": 1, "scene_id": "duo"}))["scene"]["outcome"] == "inactive"
        await matched(b, c)  # a no longer waits: b and c form the match
    finally:
        for p in (a, b, c):
            await p.stop()


async def test_inactive_after_another_process_ended_the_match_answers_with_the_stored_outcome(serve: Any) -> None:
    import gc

    from mug.server.multiplayer import Multiplayer

    scene = duo(inactivity_s=5, partner_left=Outcome(body="Your partner left.", completion_code="PLEFT"))
    live = serve(experiment(scene))
    a, b = await peers(live.url, 2)
    try:
        await matched(a, b)

        # this server's (earlier tests' servers may not be collected yet)
        def ours(o: Any) -> bool:
            try:
                return isinstance(o, Multiplayer) and b.pid in o.participants.by_pid
            except ReferenceError:  # a weak proxy among the collector's objects whose referent is gone
                return False

        (server,) = [o for o in gc.get_objects() if ours(o)]
        end = server.live.end

        async def ended_elsewhere(match_id: str, reason: str, now: float) -> bool:
            # another process won the match end (a left) and stored b's outcome; this process's copy of b
            # has not heard of it yet
            await end(match_id, "peer_left", now)
            await server.store.set_outcome(b.pid, "duo", "partner_left", "PLEFT")
            return False

        server.live.end = ended_elsewhere  # type: ignore[method-assign]
        ack = await b.call("inactive", {"v": 1, "scene_id": "duo"})
        assert ack["ok"] and ack["scene"]["outcome"] == "partner_left" and ack["scene"]["completion_code"] == "PLEFT"
    finally:
        await a.stop()
        await b.stop()
