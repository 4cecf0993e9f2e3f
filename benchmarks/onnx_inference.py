"""What an ONNX policy costs in Chromium: loading onnxruntime-web from the bundle, creating a session, one run.

    .venv/bin/mug bundle && .venv/bin/python benchmarks/onnx_inference.py [--runs 5] [--calls 300]

Each run is a fresh headless Chromium page on the example experiment's server (examples/onnx_partner). In a
dedicated worker, as MUG's Pyodide worker does (wasm backend, numThreads = 1, files from the bundle), it
times the runtime's import and first session (what an ONNX scene adds to its start), then `--calls`
session.run calls (their mean; and the slowest) of the example's partner model (9 -> 3 linear layer),
including building the input tensor and reading the output. Prints the median and range over the runs,
and the machine's load average.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from mug.testing import start_server
from mug.testing.chromium import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parent.parent

WORKER_JS = """
self.onmessage = async (ev) => {
  const { entry, model, calls } = ev.data;
  const t0 = performance.now();
  const ort = await import(entry);
  const base = new URL(".", entry).href;
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  ort.env.wasm.wasmPaths = { mjs: base + "ort-wasm-simd-threaded.mjs", wasm: base + "ort-wasm-simd-threaded.wasm" };
  const bytes = new Uint8Array(await (await fetch(model)).arrayBuffer());
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
  const t1 = performance.now();
  let slowest = 0;
  for (let i = 0; i < calls; i++) {
    const s = performance.now();
    const x = new ort.Tensor("float32", Float32Array.from({ length: 9 }, (_, k) => (i + k) % 7 / 7), [1, 9]);
    const out = await session.run({ [session.inputNames[0]]: x });
    Array.from(out[session.outputNames[0]].data);
    slowest = Math.max(slowest, performance.now() - s);
  }
  // (timers are coarse, 0.1 ms, in a page that is not cross-origin isolated: the mean of many calls is exact)
  self.postMessage({ load_ms: t1 - t0, run_mean_ms: (performance.now() - t1) / calls, run_max_ms: slowest });
};
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    manifest = json.loads((ROOT / "pyodide_bundle" / "mug-bundle.json").read_text())
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(
            str(ROOT / "examples" / "onnx_partner" / "experiment.py"),
            database_url=f"sqlite:///{tmp}/bench.sqlite3",
            bundle_dir=ROOT / "pyodide_bundle",
        )
        try:
            entry = f"{server.url}/bundle/{manifest['bundle_id']}/{manifest['onnxruntime']['entry']}"
            digest = hashlib.sha256((ROOT / "examples" / "onnx_partner" / "partner.onnx").read_bytes()).hexdigest()
            model = f"{server.url}/assets/{digest[:16]}/partner.onnx"
            with sync_playwright() as pw:
                for _ in range(args.runs):
                    browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                    page = browser.new_page()
                    page.goto(server.url + "/healthz")
                    out = page.evaluate(
                        """([src, msg]) => new Promise((ok, fail) => {
                            const w = new Worker(URL.createObjectURL(new Blob([src], {type: "text/javascript"})),
                                                 {type: "module"});
                            w.onmessage = (e) => ok(e.data); w.onerror = (e) => fail(e.message);
                            w.postMessage(msg);
                        })""",
                        [WORKER_JS, {"entry": entry, "model": model, "calls": args.calls}],
                    )
                    results.append(out)
                    browser.close()
        finally:
            server.stop()
    load = os.getloadavg()
    for key in ("load_ms", "run_mean_ms", "run_max_ms"):
        values = [r[key] for r in results]
        median, low, high = statistics.median(values), min(values), max(values)
        print(f"{key}: median {median:.3f}, range {low:.3f}-{high:.3f} ({len(values)} runs)")
    print(f"load average: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
