"""Lobbies, matches, signaling and outcomes against a real server, with python-socketio clients."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import sqlite3
from typing import Any

from sio_peer import KEYS, duo, experiment, matched, peers

from mug.configurations import GameScene, Lobby, Outcome, RemoteConfig, StaticScene


async def test_groups_form_first_come_first_served_with_fixed_slots(serve: Any) -> None:
    scene = duo(agents={"a": "human", "b": "human", "c": "human", "bot": "mug.demos.policies:make_catcher"})
    live = serve(experiment(scene))
    group = await peers(live.url, 4)
    try:
        for peer in group[:2]:
            assert (await peer.call("lobby_join", {"v": 1, "scene_id": "duo"}))["ok"]
        waiting = await group[1].wait_for("lobby_waiting")
        assert waiting == {"scene_id": "duo", "waiting": 2, "position": 1, "needed": 1}
        assert (await group[2].call("lobby_join", {"v": 1, "scene_id": "duo"}))["ok"]
        starts = [await p.wait_for("match_start") for p in group[:3]]
        assert [s["slot"] for s in starts] == [0, 1, 2]
        assert len({s["match_id"] for s in starts}) == 1 and len({s["seed"] for s in starts}) == 1
        assert starts[0]["members"] == [p.pid for p in group[:3]]
        assert starts[0]["agents"] == {
            "a": {"kind": "human", "slot": 0},
            "b": {"kind": "human", "slot": 1},
            "c": {"kind": "human", "slot": 2},
            "bot": {"kind": "policy", "ref": "mug.demos.policies:make_catcher", "kwargs": {}},
        }
        assert starts[0]["input_delay"] == "auto"
        assert starts[0]["ice"]["iceTransportPolicy"] == "all"
        again = await group[0].call("lobby_join", {"v": 1, "scene_id": "duo"})
        assert again["error"]["code"] == "already_in_match"
        assert not [e for e in group[3].events if e[0] == "match_start"]
    finally:
        for p in group:
            await p.stop()


async def test_someone_who_leaves_the_lobby_never_blocks_the_next_group(serve: Any) -> None:
    live = serve(experiment(duo()))
    a, b, c = await peers(live.url, 3)
    try:
        await a.call("lobby_join", {"v": 1, "scene_id": "duo"})
        await a.stop()  # closes the tab while waiting
        await asyncio.sleep(0.2)
        await b.call("lobby_join", {"v": 1, "scene_id": "duo"})
        await c.call("lobby_join", {"v": 1, "scene_id": "duo"})
        assert (await b.wait_for("match_start"))["members"] == [b.pid, c.pid]
    finally:
        for p in (b, c):
            await p.stop()


async def test_signaling_reaches_only_the_own_match(serve: Any) -> None:
    live = serve(experiment(duo()))
    a, b, c, d = await peers(live.url, 4)
    try:
        await matched(a, b, c, d)
        sdp = {"type": "offer", "sdp": "v=0 opaque"}
        assert (await a.call("signal", {"v": 1, "to": 1, "kind": "offer", "data": sdp}))["ok"]
        got = await b.wait_for("signal")
        assert got["data"] == sdp and got["from"] == {"pid": a.pid, "slot": 0}
        # slot 1 of a's match is b: c and d (the other match) never see a's messages, nor can a pick them
        assert not [e for e in c.events + d.events if e[0] == "signal"]
        refused = [
            await a.call("signal", {"v": 1, "to": 0, "kind": "offer", "data": {}}),
            await a.call("signal", {"v": 1, "to": 5, "kind": "offer", "data": {}}),
            await a.call("signal", {"v": 1, "to": 1, "kind": "evil", "data": {}}),
            await a.call("signal", {"v": 1, "to": 1, "kind": "offer", "data": "x" * 70_000}),
            await a.call("signal", {"v": 1, "to": "p_other", "kind": "offer", "data": {}}),
            await a.call("signal", "garbage"),
        ]
        assert [r["error"]["code"] for r in refused] == [
            "self_target",
            "bad_target",
            "bad_payload",
            "payload_too_large",
            "bad_message",
            "bad_message",
        ]
    finally:
        for p in (a, b, c, d):
            await p.stop()


async def test_signaling_outside_a_match_is_refused(serve: Any) -> None:
    live = serve(experiment(duo()))
    (a,) = await peers(live.url, 1)
    try:
        refused = await a.call("signal", {"v": 1, "to": 1, "kind": "offer", "data": {}})
        assert refused["error"]["code"] == "not_in_match"
        wrong = await a.call("lobby_join", {"v": 1, "scene_id": "elsewhere"})
        assert wrong["error"]["code"] == "wrong_scene"
    finally:
        await a.stop()


async def test_lobby_timeout_ends_on_its_own_page_with_its_own_code(serve: Any) -> None:
    scene = duo(
        lobby=Lobby(
            timeout_s=0.3, on_timeout="end", timeout_end=Outcome(body="No partner.", completion_code="NOPARTNER")
        )
    )
    live = serve(experiment(scene))
    (a,) = await peers(live.url, 1)
    try:
        await a.call("lobby_join", {"v": 1, "scene_id": "duo"})
        timeout = await a.wait_for("lobby_timeout")
        assert timeout["outcome"] == "end" and timeout["scene"]["completion_code"] == "NOPARTNER"
        assert timeout["scene"]["kind"] == "end" and "No partner." in timeout["scene"]["body_html"]
    finally:
        await a.stop()
    db = live.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        assert conn.execute("select outcome, completion_code from participants").fetchall() == [
            ("lobby_timeout", "NOPARTNER")
        ]


async def test_lobby_timeout_can_jump_to_a_scene(serve: Any) -> None:
    scene = duo(lobby=Lobby(timeout_s=0.3, on_timeout="scene", timeout_scene="solo"))
    solo = GameScene(id="solo", env="envs.solo:make", key_bindings=KEYS)
    live = serve(experiment(scene, StaticScene(id="between"), solo))
    (a,) = await peers(live.url, 1)
    try:
        await a.call("lobby_join", {"v": 1, "scene_id": "duo"})
        timeout = await a.wait_for("lobby_timeout")
        assert timeout["scene"]["id"] == "solo"
        assert (await a.call("advance", {"v": 1, "scene_id": "solo"}))["scene"]["id"] == "end"
    finally:
        await a.stop()


async def test_lobby_timeout_can_fill_empty_slots_with_ai(serve: Any) -> None:
    scene = duo(
        agents={"a": "human", "b": "human", "c": "human"},
        ai_fallback={
            "a": "mug.demos.policies:make_catcher",
            "b": "mug.demos.policies:make_catcher",
            "c": "mug.demos.policies:make_catcher",
        },
        lobby=Lobby(timeout_s=0.4, on_timeout="ai"),
    )
    live = serve(experiment(scene))
    a, b = await peers(live.url, 2)
    try:
        await a.call("lobby_join", {"v": 1, "scene_id": "duo"})
        await b.call("lobby_join", {"v": 1, "scene_id": "duo"})
        start = await a.wait_for("match_start")
        assert start["members"] == [a.pid, b.pid] and (await b.wait_for("match_start"))["slot"] == 1
        assert start["agents"]["c"] == {"kind": "policy", "ref": "mug.demos.policies:make_catcher", "kwargs": {}}
        assert start["agents"]["b"] == {"kind": "human", "slot": 1}
    finally:
        for p in (a, b):
            await p.stop()


async def test_a_lost_partner_ends_the_match_with_distinct_outcomes(serve: Any) -> None:
    scene = duo(partner_left=Outcome(body="Partner gone.", completion_code="PARTNERLEFT"))
    live = serve(experiment(scene))
    a, b = await peers(live.url, 2)
    try:
        start, _ = await matched(a, b)
        row = {"episode": 0, "step": 1, "t_ms": 1.0, "frame": 0, "match_id": start["match_id"]}
        assert (await a.call("records", {"v": 1, "scene_id": "duo", "batch": 0, "rows": [row]}))["stored"] == 1
        forged = row | {"step": 2, "match_id": "someone-elses-match"}
        refused = await a.call("records", {"v": 1, "scene_id": "duo", "batch": 1, "rows": [forged]})
        assert refused["error"]["code"] == "bad_rows"
        await b.stop()  # closes the tab mid-game: a's browser notices the lost peer and reports it
        await a.wait_until_disconnected_on_server(b)
        report = {"v": 1, "match_id": start["match_id"], "kind": "peer_gone", "data": {"peer_slot": 1}}
        assert (await a.call("match_report", report))["ok"]
        ended = await a.wait_for("match_end")
        assert ended["reason"] == "peer_lost" and ended["scene"]["completion_code"] == "PARTNERLEFT"
        # the remaining member may still flush the game's records after the match ended
        late = row | {"step": 2}
        assert (await a.call("records", {"v": 1, "scene_id": "duo", "batch": 2, "rows": [late]}))["stored"] == 1
        signal = await a.call("signal", {"v": 1, "to": 1, "kind": "offer", "data": {}})
        assert signal["error"]["code"] == "match_ended"
    finally:
        await a.stop()
    db = live.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        assert conn.execute("select end_reason from matches").fetchall() == [("peer_lost",)]
        assert sorted(conn.execute("select id, outcome, completion_code from participants").fetchall()) == sorted(
            [(a.pid, "partner_left", "PARTNERLEFT"), (b.pid, "left", "")]
        )
        assert conn.execute("select count(*) from steps where match_id != ''").fetchone() == (2,)


async def test_finished_members_end_the_match_quietly(serve: Any) -> None:
    live = serve(experiment(duo()))
    a, b = await peers(live.url, 2)
    try:
        match_id = (await matched(a, b))[0]["match_id"]
        links = {"peers": [{"slot": 1, "type": "direct", "rtt_ms": 0.4}]}
        assert (await a.call("match_report", {"v": 1, "match_id": match_id, "kind": "links", "data": links}))["ok"]
        for p in (a, b):
            assert (await p.call("match_report", {"v": 1, "match_id": match_id, "kind": "finished"}))["ok"]
            assert (await p.call("advance", {"v": 1, "scene_id": "duo"}))["scene"]["id"] == "end"
        await b.stop()
        await asyncio.sleep(0.2)
        assert not [e for e in a.events if e[0] == "match_end"]
        bad = await a.call("match_report", {"v": 1, "match_id": "nope", "kind": "links"})
        assert bad["error"]["code"] == "not_in_match"
    finally:
        await a.stop()
    db = live.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        assert conn.execute("select end_reason from matches").fetchall() == [("finished",)]
        assert conn.execute("select kind from match_reports order by id").fetchall() == [
            ("links",),
            ("finished",),
            ("finished",),
        ]


async def test_match_start_carries_minted_turn_credentials(serve: Any) -> None:
    remote = RemoteConfig().webrtc(
        turn_secret="s3cret", turn_urls=["turn:127.0.0.1:3478"], force_relay=True, turn_ttl_s=600, load_env_file=False
    )
    live = serve(experiment(duo(), remote=remote))
    a, b = await peers(live.url, 2)
    try:
        for p in (a, b):
            await p.call("lobby_join", {"v": 1, "scene_id": "duo"})
        ice = (await a.wait_for("match_start"))["ice"]
        assert ice["iceTransportPolicy"] == "relay"
        turn = next(s for s in ice["iceServers"] if "username" in s)
        expiry, pid = turn["username"].split(":")
        assert pid == a.pid and int(expiry) == ice["expiresAt"]
        expected = base64.b64encode(hmac.new(b"s3cret", turn["username"].encode(), hashlib.sha1).digest()).decode()
        assert turn["credential"] == expected
        other = (await b.wait_for("match_start"))["ice"]
        assert next(s for s in other["iceServers"] if "username" in s)["username"].endswith(b.pid)
    finally:
        for p in (a, b):
            await p.stop()


async def test_export_compares_members_records_and_reports_links(serve: Any, tmp_path: Any) -> None:
    from mug.server.export import export_async

    live = serve(experiment(duo()))
    a, b = await peers(live.url, 2)
    try:
        match_id = (await matched(a, b))[0]["match_id"]

        def rows(checksums: list[str]) -> list[dict[str, Any]]:
            return [
                {"episode": 0, "step": i + 1, "frame": i, "obs_checksum": c, "t_ms": 1.0, "match_id": match_id}
                for i, c in enumerate(checksums)
            ]

        await a.call("records", {"v": 1, "scene_id": "duo", "batch": 0, "rows": rows(["aaaa", "bbbb", "cccc"])})
        await b.call("records", {"v": 1, "scene_id": "duo", "batch": 0, "rows": rows(["aaaa", "bbbf"])})
        for p, other in ((a, 1), (b, 0)):
            await p.call(
                "match_report",
                {
                    "v": 1,
                    "match_id": match_id,
                    "kind": "links",
                    "data": {"peers": [{"slot": other, "type": "relay", "rtt_ms": 0.6}]},
                },
            )
            await p.call(
                "match_report",
                {
                    "v": 1,
                    "match_id": match_id,
                    "kind": "summary",
                    "data": {"input_delay": 3, "frames": 3, "stalls": 1, "stall_ms": 16.0, "desyncs": [1]},
                },
            )
    finally:
        for p in (a, b):
            await p.stop()
    out = tmp_path / "out"
    await export_async(live.database_url, out)
    import csv

    with (out / "matches.csv").open(newline="") as f:
        (match,) = list(csv.DictReader(f))
    # both pages closed less than the reconnection grace period before the export: the match has not ended
    assert match["match_id"] == match_id and match["end_reason"] == "" and match["input_delay"] == "3"
    assert (match["steps_compared"], match["steps_differing"], match["first_difference"]) == (
        "2",
        "1",
        "episode 0 step 2",
    )
    with (out / "match_links.csv").open(newline="") as f:
        links = list(csv.DictReader(f))
    assert [(r["slot"], r["peer_slot"], r["connection_type"], r["rtt_ms"], r["stalls"]) for r in links] == [
        ("0", "1", "relay", "0.6", "1"),
        ("1", "0", "relay", "0.6", "1"),
    ]


async def test_moving_on_without_finishing_ends_the_match_for_the_partner(serve: Any) -> None:
    live = serve(experiment(duo(partner_left=Outcome(completion_code="PARTNERLEFT"))))
    a, b = await peers(live.url, 2)
    try:
        await matched(a, b)
        moved = await a.call("advance", {"v": 1, "scene_id": "duo"})  # no `finished` report first
        assert moved["scene"]["id"] == "end" and "outcome" not in moved["scene"]
        ended = await b.wait_for("match_end")
        assert ended["reason"] == "peer_left" and ended["scene"]["completion_code"] == "PARTNERLEFT"
        assert not [e for e in a.events if e[0] == "match_end"]
    finally:
        for p in (a, b):
            await p.stop()
