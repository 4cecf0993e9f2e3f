"""The page's lobby (mug/client/static/scenes/lobby.js), run in Node with a stand-in DOM and connection: what a
lobby_join ack for a browser without WebRTC leads to."""

from __future__ import annotations

import json

from node_js import STATIC, run_harness

HARNESS = """
const el = () => ({ textContent: "", setAttribute() {}, append() {}, replaceChildren() {} });
globalThis.document = { createElement: el };
const reloads = [];
globalThis.location = { reload: () => reloads.push("reload") };
const { waitForMatch } = await import(process.argv[1]);
const ack = JSON.parse(process.argv[2]);
const socket = { on() { return socket; }, off() { return socket; } };
const ctx = { conn: { socket, request: async () => ack }, status: { setPhase() {} } };
const scene = { id: "duo", agents: { a: "human", b: "human" } };
const result = await Promise.race([waitForMatch(scene, ctx, el()), new Promise((r) => setTimeout(r, 50))]);
console.log(JSON.stringify({ result: result ?? null, reloads }));
"""


def lobby(ack: dict[str, object]) -> dict[str, object]:
    result: dict[str, object] = run_harness(HARNESS, str(STATIC / "scenes" / "lobby.js"), json.dumps(ack))
    return result


def test_no_webrtc_with_its_page_shows_it() -> None:
    page = {"kind": "end", "outcome": "no_webrtc"}
    assert lobby({"ok": True, "outcome": "no_webrtc", "scene": page}) == {"result": {"scene": page}, "reloads": []}


def test_no_webrtc_without_a_page_reloads_instead_of_waiting_for_ever() -> None:
    assert lobby({"ok": True, "outcome": "no_webrtc", "scene": None}) == {"result": None, "reloads": ["reload"]}


def test_a_plain_join_waits_in_the_lobby() -> None:
    assert lobby({"ok": True}) == {"result": None, "reloads": []}
