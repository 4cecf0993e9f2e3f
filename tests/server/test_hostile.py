"""Hostile input against a real server: each case gets a clear error ack, and nothing else changes."""

from __future__ import annotations

import asyncio
import csv
import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio
from raw_socketio import RawClient
from sio_peer import Peer, duo, experiment
from test_participants import EXPERIMENT, read_csv, row

from mug.server.export import export_async
from mug.server.limits import Limits, row_bytes
from mug.server.wire import MAX_JSON_FIELD_CHARS


def count(live: Any, table: str) -> int:
    with sqlite3.connect(live.database_url.removeprefix("sqlite:///")) as conn:
        return int(conn.execute(f"select count(*) from {table}").fetchone()[0])


async def connected(live: Any) -> int:
    async with httpx.AsyncClient(base_url=live.url) as http:
        return int((await http.get("/healthz")).json()["connected"])


async def raw_in_game(live: Any) -> RawClient:
    """A raw client that said hello and went through consent and survey to the game scene."""
    raw = await RawClient.open(live.url)
    raw.token = (await raw.hello())["token"]
    assert (await raw.call("advance", {"v": 1, "scene_id": "consent"}))["ok"]
    assert (await raw.call("advance", {"v": 1, "scene_id": "survey", "answers": {"age": 3, "fun": 2}}))["ok"]
    return raw


async def raw_match(live: Any) -> tuple[RawClient, Peer, str]:
    """A raw client in slot 0 and a python-socketio peer in slot 1 of one match."""
    raw = await RawClient.open(live.url)
    await raw.hello()
    assert (await raw.call("lobby_join", {"v": 1, "scene_id": "duo"}))["ok"]
    peer = await Peer(live.url, "partner").start()
    assert (await peer.call("lobby_join", {"v": 1, "scene_id": "duo"}))["ok"]
    start = await peer.wait_for("match_start")
    assert (await raw.wait_for("match_start"))["match_id"] == start["match_id"]
    return raw, peer, start["match_id"]


@pytest.mark.parametrize(
    "name", ["disconnect", "connect", "connect_error", "disconnecting", "message", "*", "newListener"]
)
async def test_reserved_event_names_change_nothing(serve: Any, name: str) -> None:
    live = serve(experiment(duo()))
    raw, peer, match_id = await raw_match(live)
    try:
        refused = await raw.call(name, {"v": 1})
        assert refused["error"]["code"] == "reserved_event" and name in refused["error"]["message"]
        bare = await raw.call_raw(json.dumps([name]))
        assert bare["error"]["code"] == "reserved_event"
        await asyncio.sleep(0.3)
        # the sender is still its participant, still in its match, and the partner's match goes on
        assert not [e for e in peer.events if e[0] == "match_end"]
        assert await connected(live) == 2
        assert (await raw.call("signal", {"v": 1, "to": 1, "kind": "offer", "data": {"sdp": "x"}}))["ok"]
        assert (await peer.wait_for("signal"))["data"] == {"sdp": "x"}
        row0 = {"episode": 0, "step": 1, "t_ms": 1.0, "frame": 0, "match_id": match_id}
        assert (await raw.call("records", {"v": 1, "scene_id": "duo", "batch": 0, "rows": [row0]}))["stored"] == 1
        with sqlite3.connect(live.database_url.removeprefix("sqlite:///")) as conn:
            assert conn.execute("select end_reason, ended_at from matches").fetchall() == [(None, None)]
            assert conn.execute("select outcome from participants").fetchall() == [(None,), (None,)]
    finally:
        await raw.close()
        await peer.stop()


def records(*rows: dict[str, Any]) -> dict[str, Any]:
    return {"v": 1, "scene_id": "game", "batch": 0, "rows": list(rows)}


# raw event texts (after `42<id>`), the error code and a piece of the message that names what is wrong
MALFORMED = [
    ('["records",{"v":1},{"v":1}]', "bad_message", "records takes one argument (a JSON object), got 2"),
    ('["hello"]', "bad_message", "hello takes one argument (a JSON object), got 0"),
    ('[5,{"v":1}]', "bad_event", "an event name is a string, not int"),
    ("[null]", "bad_event", "not NoneType"),
    ("[]", "bad_message", "an event is a name and one JSON object"),
    ('{"records":1}', "bad_message", "an event is a name and one JSON object"),
    ('["records",[1,2]]', "bad_message", "records takes a JSON object"),
    ('["records","text"]', "bad_message", "records takes a JSON object"),
    ('["nope",{}]', "unknown_event", "there is no event 'nope'"),
    (json.dumps(["records", records(row(0, 1, reward=0.5))]).replace("0.5", "NaN"), "bad_message", "rows.0.reward"),
    (json.dumps(["records", records(row(0, 1, reward=0.5))]).replace("0.5", "-Infinity"), "bad_message", "-inf"),
    (json.dumps(["records", records(row(0, 1, t_ms=0.5))]).replace("0.5", "Infinity"), "bad_message", "rows.0.t_ms"),
    (json.dumps(["records", records(row(0, 1, episode_seed=2**63))]), "bad_message", "rows.0.episode_seed: integer"),
    (json.dumps(["records", records(row(0, 1, info={"a": [-(2**63) - 1]}))]), "bad_message", "rows.0.info.a.0"),
    (json.dumps(["records", records(row(0, 1, action=-(2**63)))]), "bad_message", "rows.0.action: integer"),
    (json.dumps(["event", {"v": 1, "kind": "note", "data": {"x": 10**30}}]), "bad_message", "data.x: integer"),
    (
        json.dumps(["advance", {"v": 1, "scene_id": "game", "answers": {"q": 0.5}}]).replace("0.5", "NaN"),
        "bad_message",
        "answers.q",
    ),
    (json.dumps(["records", records(row(0, 1, info="x" * MAX_JSON_FIELD_CHARS))]), "bad_message", "rows.0.info"),
    (json.dumps(["records", records(row(0, 1, action=["a" * MAX_JSON_FIELD_CHARS]))]), "bad_message", "rows.0.action"),
    (
        json.dumps(["records", records(row(0, 1, reward={"r": "y" * MAX_JSON_FIELD_CHARS}))]),
        "bad_message",
        "rows.0.reward",
    ),
    (json.dumps(["event", {"v": 1, "kind": "note", "data": {"x": "z" * MAX_JSON_FIELD_CHARS}}]), "bad_message", "data"),
    (
        json.dumps(["advance", {"v": 1, "scene_id": "game", "answers": {"q": "w" * MAX_JSON_FIELD_CHARS}}]),
        "bad_message",
        "answers.q",
    ),
    ('["event",' + "[" * 40 + "]" * 40 + "]", "bad_message", "nested deeper than 32"),
    ('["event",' + "[" * 100_000 + "]" * 100_000 + "]", "bad_message", "not a Socket.IO event of JSON (RecursionError"),
    ('["event",{"v":1', "bad_message", "not a Socket.IO event of JSON (JSONDecodeError"),
    ('["event",{"v":1}]junk', "bad_message", "not a Socket.IO event of JSON (JSONDecodeError: Extra data"),
]


async def test_malformed_events_get_clear_acks_and_store_nothing(serve: Any) -> None:
    live = serve(EXPERIMENT)
    raw = await raw_in_game(live)
    try:
        for text, code, message in MALFORMED:
            ack = await raw.call_raw(text)
            assert ack["ok"] is False and ack["error"]["code"] == code, (text[:80], ack)
            assert message in ack["error"]["message"], (text[:80], ack)
        # binary attachments, in a row and as the whole payload
        placeholder = {"_placeholder": True, "num": 0}
        binary = await raw.call_raw(json.dumps(["records", records(row(0, 1, info=placeholder))]), (b"\x00\x01",))
        assert (
            binary["error"]["code"] == "bad_message" and "rows.0.info: binary attachments" in binary["error"]["message"]
        )
        whole = await raw.call_raw(json.dumps(["event", placeholder]), (b"\xff" * 10,))
        assert whole["error"]["message"] == "(message): binary attachments are not accepted; send JSON"
        # an event that announces an attachment and sends text instead is refused; the text is read as itself
        await raw.ws.send('451-99["event",{"_placeholder":true,"num":0}]')
        assert (await raw.call("nope", {}))["error"]["code"] == "unknown_event"
        never = await raw.ack(99)
        assert never["error"]["message"] == "the binary attachments this event announced never came"
        # the field limit is inclusive: a field of exactly MAX_JSON_FIELD_CHARS characters is stored
        fits = "x" * (MAX_JSON_FIELD_CHARS - 2)  # the JSON text of a string has its two quotes
        assert count(live, "steps") == 0 and count(live, "events") == 0
        ok = await raw.call("records", records(row(0, 1, info=fits), row(0, 2, reward=-(2**63) + 1)))
        assert ok == {"ok": True, "batch": 0, "stored": 2, "duplicates": 0}
        # the connection and its participant are still there, in the same scene, and nothing else was stored
        assert await connected(live) == 1
        assert count(live, "steps") == 2 and count(live, "events") == 0 and count(live, "participants") == 1
        assert count(live, "answers") == 3  # the survey's, from before
    finally:
        await raw.close()


async def test_two_hellos_in_flight_make_one_participant(serve: Any) -> None:
    live = serve(EXPERIMENT)
    raw = await RawClient.open(live.url)
    try:
        hello = json.dumps(["hello", {"v": 1, "token": None, "tab": "raw-tab", "params": {}}])
        ids = [await raw.send_raw(hello) for _ in range(3)]
        acks = [await raw.ack(i) for i in ids]
        assert sum(a["ok"] for a in acks) == 1, acks
        assert sorted(a["error"]["code"] for a in acks if not a["ok"]) == ["already_identified"] * 2
        assert count(live, "participants") == 1
        late = await raw.call("hello", {"v": 1, "token": None, "tab": "raw-tab", "params": {}})
        assert late["error"]["code"] == "already_identified" and count(live, "participants") == 1
    finally:
        await raw.close()


async def test_a_flooding_connection_is_refused_then_disconnected(serve: Any) -> None:
    limits = Limits(events_per_s=5, event_burst=10, refusals_before_disconnect=5, refusals_per_s=0.1)
    live = serve(EXPERIMENT, limits=limits)
    bystander = await RawClient.open(live.url)
    raw = await RawClient.open(live.url)
    try:
        await raw.hello()
        await bystander.hello(tab="bystander")
        note = json.dumps(["event", {"v": 1, "kind": "note", "data": {}}])
        acks = [await raw.ack(await raw.send_raw(note)) for _ in range(13)]
        assert [a["ok"] for a in acks[:8]] == [True] * 8  # the connect packet and hello took 2 of the 10
        refusal = acks[8]["error"]
        assert refusal["code"] == "rate_limited" and "more than 5 events a second" in refusal["message"]
        stored = count(live, "events")
        for _ in range(20):  # it keeps sending: after its 5 refusals it is disconnected
            await raw.send_raw(note)
        await raw.wait_for("disconnect")
        await asyncio.wait_for(raw.closed.wait(), 5)  # the server closed its TCP connection too
        assert count(live, "events") == stored == 8
        # the other connection was not affected
        assert (await bystander.call("event", {"v": 1, "kind": "note", "data": {}}))["ok"]
        assert await connected(live) == 1
    finally:
        await raw.close()
        await bystander.close()


async def test_bytes_are_rate_limited_too_and_signals_count(serve: Any) -> None:
    live = serve(experiment(duo()), limits=Limits(bytes_per_s=1000, byte_burst=100_000))
    raw, peer, _ = await raw_match(live)
    try:
        blob = {"sdp": "x" * 60_000}
        assert (await raw.call("signal", {"v": 1, "to": 1, "kind": "offer", "data": blob}))["ok"]
        refused = await raw.call("signal", {"v": 1, "to": 1, "kind": "offer", "data": blob})
        assert refused["error"]["code"] == "rate_limited" and "bytes a second" in refused["error"]["message"]
        await peer.wait_for("signal")
        await asyncio.sleep(0.2)
        assert not [e for e in peer.events if e[0] == "signal"]  # the refused one was not relayed
        assert (await raw.call("signal", {"v": 1, "to": 1, "kind": "candidate", "data": "small"}))["ok"]
    finally:
        await raw.close()
        await peer.stop()


async def test_a_peer_that_stops_reading_is_disconnected_not_buffered_for(serve: Any) -> None:
    limits = Limits(max_queued_packets=20, byte_burst=10**9, bytes_per_s=1e9, event_burst=10**6)
    live = serve(experiment(duo(reconnect_grace_s=0.5)), limits=limits)
    eio = live.uvicorn_server.config.app.engineio_server.eio  # the GuardedServer's Engine.IO server
    slow = await RawClient.open(live.url, receive_buffer=4096)
    await slow.hello()
    assert (await slow.call("lobby_join", {"v": 1, "scene_id": "duo"}))["ok"]
    peer = await Peer(live.url, "sender").start()
    try:
        assert (await peer.call("lobby_join", {"v": 1, "scene_id": "duo"}))["ok"]
        await peer.wait_for("match_start")
        await slow.wait_for("match_start")
        slow.stop_reading()
        payload = {"v": 1, "to": 0, "kind": "offer", "data": {"sdp": "s" * 60_000}}
        sent, deepest = 0, 0
        while len(eio.sockets) == 2:  # main buffered all of the 60 MB this loop may send
            assert sent < 1000, "the peer that stopped reading was never disconnected"
            sent += 1
            assert (await peer.call("signal", payload))["ok"]
            deepest = max([deepest, *(s.queue.qsize() for s in eio.sockets.values())])
        assert deepest <= limits.max_queued_packets
        assert sent < 500, sent  # the kernel's buffers (4.5 MB here), then 20 packets
        assert await connected(live) == 1
        # and its TCP connection is gone (uvicorn's close would wait for ever for the unread data to leave)
        for _ in range(50):
            if len(live.uvicorn_server.server_state.connections) == 1:
                break
            await asyncio.sleep(0.02)
        assert len(live.uvicorn_server.server_state.connections) == 1  # the sender's
        # the sender goes on; once the reader's grace to reconnect has passed, its match ends
        ended = await peer.wait_for("match_end")
        assert ended["reason"] == "peer_left"
        refused = await peer.call("signal", payload)
        assert refused["error"]["code"] == "match_ended"
        assert len(eio.sockets) == 1 and all(s.queue.qsize() == 0 for s in eio.sockets.values())
    finally:
        await slow.close()
        await peer.stop()


async def test_new_participants_per_address_are_limited(serve: Any) -> None:
    live = serve(EXPERIMENT, limits=Limits(new_participants_per_minute=3))
    clients = [await RawClient.open(live.url) for _ in range(5)]
    try:
        tokens = [(await c.hello(tab=f"tab-{i}"))["token"] for i, c in enumerate(clients[:3])]
        refused = await clients[3].call("hello", {"v": 1, "token": None, "tab": "tab-3", "params": {}})
        assert refused["error"]["code"] == "quota_exceeded" and "the limit is 3" in refused["error"]["message"]
        assert count(live, "participants") == 3
        # a known participant coming back is not a new one: it is let in
        await clients[0].close()
        await asyncio.sleep(0.1)
        assert (await clients[4].hello(token=tokens[0], tab="tab-0"))["ok"]
        assert count(live, "participants") == 3
    finally:
        for c in clients:
            await c.close()


async def test_bytes_stored_per_participant_are_limited_across_connections(serve: Any) -> None:
    live = serve(EXPERIMENT, limits=Limits(max_stored_bytes=3000))
    raw = await raw_in_game(live)
    token = raw.token
    # a row() counts 127 bytes: action `1`, reward `0.5`, info `{"k":[1,2]}`, a 16-digit checksum, 96 fixed
    assert row_bytes("1", "0.5", '{"k":[1,2]}', "", "00ff00ff00ff00ff") == 127
    try:
        assert (await raw.call("records", records(*[row(0, s) for s in range(20)])))["stored"] == 20
        over = await raw.call("records", records(*[row(0, s) for s in range(20, 25)]))
        assert over["error"]["code"] == "quota_exceeded" and "2540 bytes stored" in over["error"]["message"]
        assert count(live, "steps") == 20
    finally:
        await raw.close()
    await asyncio.sleep(0.1)
    again = await RawClient.open(live.url)
    try:
        await again.hello(token=token)  # the count is the database's, not the connection's
        assert (await again.call("records", records(row(0, 20))))["stored"] == 1  # 2667 bytes
        assert (await again.call("event", {"v": 1, "kind": "note", "data": {}}))["ok"]  # 70 more
        big = await again.call("event", {"v": 1, "kind": "note", "data": {"x": "y" * 300}})
        # 2540 recounted from the database at hello, then 127 and 70 counted as they were stored
        assert big["error"]["code"] == "quota_exceeded" and "2737 bytes stored" in big["error"]["message"]
        assert (await again.call("records", records(*[row(0, s) for s in range(21, 25)])))["error"][
            "code"
        ] == "quota_exceeded"
        assert count(live, "steps") == 21 and count(live, "events") == 1
    finally:
        await again.close()


async def test_export_neutralises_formulas_and_keeps_numbers(serve: Any, tmp_path: Path) -> None:
    live = serve(EXPERIMENT)
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(live.url, transports=["websocket"], headers={"User-Agent": "=cmd|' /C calc'!A0"})
    try:
        params = {"PROLIFIC_PID": '=HYPERLINK("http://evil")', "PHONE": "+1 555", "SCORE": "-1.5", "NOTE": "@x"}
        hello = await sio.call("hello", {"v": 1, "token": None, "tab": "tab-x", "params": params})
        assert hello["ok"]
        await sio.call("advance", {"v": 1, "scene_id": "consent"})
        await sio.call("advance", {"v": 1, "scene_id": "survey", "answers": {"age": 30, "fun": 2, "team": "red"}})
        rows = [
            row(0, 1, agent="=A1", action=-1, reward=-1.5, info={"x": "=1"}),
            row(0, 2, agent="\tleft", action="-x", reward=None, info=-2e-05),
        ]
        assert (await sio.call("records", {"v": 1, "scene_id": "game", "batch": 0, "rows": rows}))["stored"] == 2
    finally:
        await sio.disconnect()
    out = tmp_path / "out"
    await export_async(live.database_url, out)
    (person,) = read_csv(out / "participants.csv")
    assert person["user_agent"] == "'=cmd|' /C calc'!A0"
    got = {r["name"]: r["value"] for r in read_csv(out / "url_params.csv")}
    assert got == {"PROLIFIC_PID": '\'=HYPERLINK("http://evil")', "PHONE": "'+1 555", "SCORE": "-1.5", "NOTE": "'@x"}
    steps = read_csv(out / "steps_game.csv")
    assert [(s["agent"], s["action"], s["reward"], s["info"]) for s in steps] == [
        ("'=A1", "-1", "-1.5", '{"x":"=1"}'),
        ("'\tleft", '"-x"', "null", "-2e-05"),
    ]
    # every cell of every file: nothing a spreadsheet would evaluate, and the export is reproducible
    for path in out.glob("*.csv"):
        with path.open(newline="") as f:
            for cells in csv.reader(f):
                for cell in cells:
                    assert not cell.startswith(("=", "@", "\t", "\r", "+", "-")) or cell.lstrip("+-")[:1].isdigit()
    again = tmp_path / "again"
    await export_async(live.database_url, again)
    assert all(p.read_bytes() == (again / p.name).read_bytes() for p in out.glob("*.csv"))


async def test_behind_a_trusted_proxy_the_forwarded_address_is_counted(serve: Any) -> None:
    # uvicorn trusts X-Forwarded-For from 127.0.0.1 by default (--forwarded-allow-ips), as from a local proxy
    live = serve(EXPERIMENT, limits=Limits(new_participants_per_minute=1))
    acks = []
    for address in ("10.0.0.1", "10.0.0.1", "10.0.0.2"):
        sio = socketio.AsyncClient(reconnection=False)
        await sio.connect(live.url, transports=["websocket"], headers={"X-Forwarded-For": address})
        try:
            acks.append(await sio.call("hello", {"v": 1, "token": None, "tab": "tab-x", "params": {}}))
        finally:
            await sio.disconnect()
    assert [a["ok"] for a in acks] == [True, False, True]
    assert acks[1]["error"]["code"] == "quota_exceeded" and count(live, "participants") == 2


async def test_match_reports_count_towards_the_stored_bytes(serve: Any) -> None:
    live = serve(experiment(duo()), limits=Limits(max_stored_bytes=1000))
    raw, peer, match_id = await raw_match(live)
    try:
        links = {"peers": [{"slot": 1, "type": "direct", "note": "n" * 400}]}
        report = {"v": 1, "match_id": match_id, "kind": "links", "data": links}
        assert (await raw.call("match_report", report))["ok"]
        refused = await raw.call("match_report", report)
        assert refused["error"]["code"] == "quota_exceeded"
        assert count(live, "match_reports") == 1
        assert (await peer.call("match_report", report))["ok"]  # the partner has its own quota
    finally:
        await raw.close()
        await peer.stop()


async def test_lobby_round_trips_count_towards_the_stored_bytes(serve: Any) -> None:
    from mug.configurations import Lobby

    live = serve(experiment(duo(lobby=Lobby(max_rtt_ms=500))), limits=Limits(max_stored_bytes=1000))
    peer = await Peer(live.url, "joins").start()
    others = count(live, "events")
    try:
        acks = []
        for _ in range(30):  # each join measures and stores a round trip: leaving and joining again
            acks.append(await peer.call("lobby_join", {"v": 1, "scene_id": "duo"}))
            if not acks[-1].get("ok"):
                break
            assert (await peer.call("lobby_leave", {"v": 1, "scene_id": "duo"}))["ok"]
        assert acks[-1]["error"]["code"] == "quota_exceeded"
        assert count(live, "events") - others == len(acks) - 1 and 5 < len(acks) < 30
    finally:
        await peer.stop()
