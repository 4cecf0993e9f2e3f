"""The page's Connection (mug/client/static/wire.js), run in Node with a stand-in socket: what it resends."""

from __future__ import annotations

import json

from node_js import STATIC, run_harness

# A stand-in socket.io-client socket: `answers` are the acks its emits get, in order; the hello runs on each
# "connect". setTimeout is made immediate so the retry backoff does not slow the test.
HARNESS = """
globalThis.setTimeout = (f) => { Promise.resolve().then(f); return 0; };
const { Connection } = await import(process.argv[1]);
const answers = JSON.parse(process.argv[2]);
const sent = [];
const handlers = {};
const socket = {
  connected: false,
  on(name, f) { handlers[name] = f; },
  connect() { this.connected = true; handlers.connect(); },
  timeout() { return { emitWithAck: async (event, data) => { sent.push(event); return answers.shift(); } }; },
};
const conn = new Connection(socket, async (c) => { await c.send("hello", {}, 1000); });
conn.connect();
let result;
try { result = await conn.request("advance", { scene_id: "a" }); } catch (err) { result = { thrown: err.code }; }
console.log(JSON.stringify({ sent, result }));
"""


def run(answers: list[object]) -> dict[str, object]:
    result: dict[str, object] = run_harness(HARNESS, str(STATIC / "wire.js"), json.dumps(answers))
    return result


def test_a_message_refused_for_coming_before_the_hello_is_sent_again() -> None:
    # socket.io-client sends what was emitted as the connection dropped on the new one, before its hello
    no_hello = {"ok": False, "error": {"code": "no_hello", "message": "say hello first"}}
    got = run([{"ok": True}, no_hello, {"ok": True, "scene": "b"}])
    assert got == {"sent": ["hello", "advance", "advance"], "result": {"ok": True, "scene": "b"}}


def test_another_refusal_is_not_sent_again() -> None:
    refused = {"ok": False, "error": {"code": "wrong_scene", "message": "not your scene"}}
    got = run([{"ok": True}, refused, {"ok": True}])
    assert got == {"sent": ["hello", "advance"], "result": {"thrown": "wrong_scene"}}
