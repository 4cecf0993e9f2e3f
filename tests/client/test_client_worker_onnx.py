"""The Pyodide worker (mug/client/static/worker.js) in Node, with a stand-in runtime, bridge and onnxruntime: a
model run still in flight when the page stops the scene and starts another belongs to the old scene."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "mug" / "client" / "static"
MODEL = b"not really a model"

PYODIDE = """
export async function loadPyodide() {
  return { runPython() {}, pyimport: () => ({ WorkerBridge: () => globalThis.fakeBridge }) };
}
"""

ORT = """
export const env = { wasm: {} };
export class Tensor { constructor(type, data, dims) { Object.assign(this, { type, data, dims }); } }
export const InferenceSession = { create: async () => globalThis.fakeSession };
"""

# Each model run waits until the script releases it with a value; the bridge records the outputs each tick
# got. The loop's pending timers are counted: one game clock has at most one.
HARNESS = """
const [dir, workerURL, sha] = process.argv.slice(1);
const posted = [];
let onMessage = null;
globalThis.self = { location: { href: dir }, postMessage: (m) => posted.push(m),
  addEventListener: (type, fn) => { onMessage = fn; } };
globalThis.fetch = async () => ({ ok: true, arrayBuffer: async () => new TextEncoder().encode(%(model)s).buffer });
const realSet = globalThis.setTimeout, realClear = globalThis.clearTimeout;
const pending = new Set();
let most = 0;
globalThis.setTimeout = (fn, ms) => {
  const id = realSet(() => { pending.delete(id); fn(); }, ms);
  if (fn.name === "loop") { pending.add(id); most = Math.max(most, pending.size); }
  return id;
};
globalThis.clearTimeout = (id) => { pending.delete(id); realClear(id); };
const runs = [];
globalThis.fakeSession = { inputNames: ["obs"], outputNames: ["logits"],
  run: () => new Promise((resolve) => runs.push((v) => resolve({ logits: { type: "float32", dims: [1],
    data: [v] } }))) };
const seen = [];
const frame = (done) => ({ get: (i) => (i === 0 ? JSON.stringify({ episode: 0, episode_done: done, rows: [] }) : null),
  destroy() {} });
globalThis.fakeBridge = {
  start: () => frame(false),
  next_episode: () => frame(false),
  close() {},
  inference: () => JSON.stringify([{ agent: "b", model: dir + "m.onnx", sha256: sha,
    feeds: { "": { type: "float32", dims: [1, 1], data: [0] } } }]),
  tick: (keys) => { seen.push(JSON.parse(keys).outputs?.b?.logits?.data?.[0] ?? null); return frame(false); },
};
await import(workerURL);
let id = 0;
const call = async (method, args) => {
  const my = ++id;
  await onMessage({ data: { type: "call", id: my, method, args } });
  const reply = posted.find((m) => m.type === "reply" && m.id === my);
  if (!reply.ok) throw new Error(JSON.stringify(reply.error));
  return reply.value;
};
const sleep = (ms) => new Promise((r) => realSet(r, ms));
const until = async (test) => { for (let i = 0; i < 500 && !test(); i++) await sleep(5); };
const { WORKER_PROTOCOL_VERSION } = await import(new URL("worker_protocol.js", workerURL).href);
await call("init", { protocol: WORKER_PROTOCOL_VERSION, indexURL: dir, lockFileURL: dir + "lock.json",
  packages: [], onnxruntime: dir + "ort.mjs" });
const scene = { fps: 50, agents: { a: "human", b: { kind: "onnx", model: dir + "m.onnx", sha256: sha } } };
await call("start", { scene, seed: 0, first_episode: 0 });
await until(() => runs.length === 1); // the first tick waits on its model run
await call("stop", {});
await call("start", { scene, seed: 1, first_episode: 0 });
await until(() => runs.length === 2); // the new scene's first tick waits too
runs[0](-1); // the old scene's run returns now: stale
await sleep(50);
runs[1](1);
for (let k = 2; k < 6; k++) { await until(() => runs.length > k); runs[k](k); }
await call("stop", {});
console.log(JSON.stringify({ seen, most }));
"""


def test_a_stale_model_run_is_dropped_and_starts_no_second_loop(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed")
    (tmp_path / "pyodide.mjs").write_text(PYODIDE)
    (tmp_path / "ort.mjs").write_text(ORT)
    script = HARNESS % {"model": json.dumps(MODEL.decode())}
    args = [tmp_path.as_uri() + "/", (STATIC / "worker.js").as_uri(), hashlib.sha256(MODEL).hexdigest()]
    out = subprocess.run(
        [node, "--no-warnings", "--input-type=module", "-e", script, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(out.stdout)
    assert result["seen"][:4] == [1, 2, 3, 4], result  # each tick acts on its own scene's run
    assert -1 not in result["seen"]  # the old scene's outputs never reach the new scene's tick
    assert result["most"] == 1  # one game clock: never two loop timers pending
