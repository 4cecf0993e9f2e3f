// @ts-check
// Runs one seeded trajectory inside Pyodide under Node and prints the result as one JSON line.
// Usage: node runner.mjs <bundle_dir> <request.json>
// request: {"packages": [...], "lock_file": "...", "factory": "...", "kwargs": {...}, "seed": 0, "steps": 200,
//           "actions": "random"|[...], "agents": null|{...}, "max_steps": null|n, "pygame_stub": bool,
//           "hash_seed": null|n (PYTHONHASHSEED for this interpreter)}
// output (stdout, one line): {"ok": true, ...trajectory_report's keys..., "timings": {...}}
//                         or {"ok": false, "stage": "load"|"import", "message": "..."}
import { readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const [bundleDir, requestPath] = process.argv.slice(2);
const request = JSON.parse(readFileSync(requestPath, "utf-8"));
const dir = path.resolve(bundleDir);
const print = (/** @type {unknown} */ obj) => process.stdout.write("MUG-RESULT " + JSON.stringify(obj) + "\n");

// gymnasium needs `_multiprocessing`, which Pyodide lacks: the browser worker installs the same inert
// stand-in (mug.client.pyodide_compat) before importing it.
const PRELUDE = "import mug.client.pyodide_compat as _c\n_c.install()\n";

const t0 = performance.now();
let pyodide;
try {
  const { loadPyodide } = await import(pathToFileURL(path.join(dir, "pyodide.mjs")).href);
  pyodide = await loadPyodide({
    indexURL: dir + path.sep,
    lockFileURL: path.join(dir, request.lock_file ?? "pyodide-lock.json"),
    packages: request.packages,
    stdout: (/** @type {string} */ s) => process.stderr.write(s + "\n"),
    stderr: (/** @type {string} */ s) => process.stderr.write(s + "\n"),
    messageCallback: () => {},
    env: request.hash_seed == null ? {} : { PYTHONHASHSEED: String(request.hash_seed) },
  });
} catch (err) {
  print({ ok: false, stage: "load", message: String(err && /** @type {Error} */ (err).message || err) });
  process.exit(0);
}
const t1 = performance.now();
try {
  pyodide.runPython(PRELUDE + "\nimport numpy, gymnasium, pettingzoo\nimport mug.client.trajectory\n");
} catch (err) {
  print({ ok: false, stage: "import", message: String(/** @type {Error} */ (err).message || err) });
  process.exit(0);
}
const t2 = performance.now();
pyodide.globals.set("_mug_request_json", JSON.stringify(request));
const out = pyodide.runPython(`
import json
from mug.client.trajectory import run_request
json.dumps(run_request(json.loads(_mug_request_json)))
`);
const t3 = performance.now();
const result = JSON.parse(out);
print({
  ok: true,
  ...result,
  timings: { load_s: (t1 - t0) / 1000, import_s: (t2 - t1) / 1000, run_s: (t3 - t2) / 1000 },
});
