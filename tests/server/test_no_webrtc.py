"""A browser without WebRTC is kept out of multiplayer lobbies by the server, whatever its page does: python-socketio
clients say hello as such a page would (`client.webrtc` false) and ask to join anyway."""

from __future__ import annotations

import sqlite3
from typing import Any

from sio_peer import Peer, duo, experiment

from mug.configurations import Lobby, Outcome, Policy

NO_WEBRTC = {"mobile": None, "platform": None, "webrtc": False}
WEBRTC = {"mobile": None, "platform": None, "webrtc": True}
CATCHER = "mug.demos.policies:make_catcher"


def outcome_of(database_url: str, pid: str) -> tuple[str | None, str | None, str | None]:
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
        row = db.execute(
            "SELECT outcome, outcome_scene, completion_code FROM participants WHERE id = ?", (pid,)
        ).fetchone()
    return row[0], row[1], row[2]


async def test_a_browser_without_webrtc_ends_on_its_own_outcome_and_never_waits(serve: Any) -> None:
    scene = duo(no_webrtc=Outcome(body="No WebRTC here.", completion_code="NORTC"), lobby=Lobby(timeout_s=30))
    live = serve(experiment(scene))
    without = await Peer(live.url, "without", NO_WEBRTC).start()
    able = await Peer(live.url, "able", WEBRTC).start()
    try:
        for peer in (without,):
            ack = await peer.call("lobby_join", {"v": 1, "scene_id": "duo"})
            assert ack["ok"] and ack["outcome"] == "no_webrtc", ack
            assert ack["scene"]["kind"] == "end" and ack["scene"]["completion_code"] == "NORTC"
            assert "No WebRTC here." in ack["scene"]["body_html"]
            assert outcome_of(live.database_url, peer.pid) == ("no_webrtc", "duo", "NORTC")
            again = await peer.call("lobby_join", {"v": 1, "scene_id": "duo"})
            assert again["error"]["code"] == "wrong_scene"  # it has its outcome: no way back into the lobby
        # neither waits in the lobby: the next able browser waits alone, and nobody gets a match
        assert (await able.call("lobby_join", {"v": 1, "scene_id": "duo"})) == {"ok": True}
        assert (await able.wait_for("lobby_waiting"))["waiting"] == 1
        assert not [e for p in (without, able) for e in p.events if e[0] in ("lobby_waiting", "match_start")]
    finally:
        for p in (without, able):
            await p.stop()


async def test_a_page_that_does_not_say_whether_it_has_webrtc_is_not_kept_out(serve: Any) -> None:
    # a tab opened before a redeploy reconnects with its old script, which sends `client` without `webrtc`
    scene = duo(no_webrtc=Outcome(body="No WebRTC here.", completion_code="NORTC"), lobby=Lobby(timeout_s=30))
    live = serve(experiment(scene))
    old = await Peer(live.url, "old", {"mobile": False, "platform": "Linux"}).start()
    able = await Peer(live.url, "able", WEBRTC).start()
    try:
        assert (await old.call("lobby_join", {"v": 1, "scene_id": "duo"})) == {"ok": True}
        assert (await able.call("lobby_join", {"v": 1, "scene_id": "duo"})) == {"ok": True}
        start = await old.wait_for("match_start")
        assert sorted(start["members"]) == sorted([old.pid, able.pid])
        assert outcome_of(live.database_url, old.pid)[0] is None
    finally:
        for p in (old, able):
            await p.stop()


async def test_a_browser_without_webrtc_plays_with_ai_partners_at_once_where_the_scene_allows(serve: Any) -> None:
    scene = duo(
        lobby=Lobby(timeout_s=600, on_timeout="ai"),
        ai_fallback={"left": Policy(ref=CATCHER), "right": Policy(ref=CATCHER)},
    )
    live = serve(experiment(scene))
    able = await Peer(live.url, "able", WEBRTC).start()
    without = await Peer(live.url, "without", NO_WEBRTC).start()
    try:
        assert (await able.call("lobby_join", {"v": 1, "scene_id": "duo"})) == {"ok": True}
        assert (await without.call("lobby_join", {"v": 1, "scene_id": "duo"})) == {"ok": True}
        start = await without.wait_for("match_start")  # long before the lobby's 600 s timeout
        assert start["members"] == [without.pid] and start["slot"] == 0
        assert start["agents"] == {
            "left": {"kind": "human", "slot": 0},
            "right": {"kind": "policy", "ref": CATCHER, "kwargs": {}},
        }
        # the able browser still waits for a human partner: it was not paired with the one without WebRTC
        assert not able.got("match_start")
        assert (await without.call("lobby_join", {"v": 1, "scene_id": "duo"})) == {"ok": True}  # asked again
        assert not without.got("match_start")  # ... the running match is kept, no second one
        assert outcome_of(live.database_url, without.pid)[0] is None
    finally:
        for p in (able, without):
            await p.stop()


async def test_a_scripted_client_without_client_hints_may_join(serve: Any) -> None:
    live = serve(experiment(duo()))
    a, b = Peer(live.url, "a"), Peer(live.url, "b")
    try:
        for p in (a, b):
            await p.start()
            assert (await p.call("lobby_join", {"v": 1, "scene_id": "duo"})) == {"ok": True}
        assert (await a.wait_for("match_start"))["members"] == [a.pid, b.pid]
    finally:
        for p in (a, b):
            await p.stop()
