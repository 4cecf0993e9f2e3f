// @ts-check
// ONNX policies' models in the Pyodide worker: the vendored onnxruntime-web (mug/bundle/onnxruntime.py), wasm
// backend, one thread (no SharedArrayBuffer, no worker of its own), every file from the bundle (no CDN).
// It is imported only when a scene has an ONNX policy. Python decides the feeds and the action
// (mug/client/onnx_policies.py); this module only runs the model, between frames.

/**
 * @typedef {{type: string, dims: number[], data: number[]|boolean[]}} TensorJSON  a tensor as JSON
 * @typedef {{agent: string, model: string, sha256: string, feeds: Object<string, TensorJSON>}} InferenceRequest
 *   one run the runner asks for (`Runner.inference`); feed "" is the model's single input
 * @typedef {{type: string, dims: readonly number[], data: ArrayLike<number|bigint|boolean>}} OrtTensor
 * @typedef {{inputNames: readonly string[], outputNames: readonly string[],
 *   run(feeds: Object<string, OrtTensor>): Promise<Object<string, OrtTensor>>}} OrtSession
 * @typedef {{env: {wasm: {numThreads: number, proxy: boolean, wasmPaths: {mjs: string, wasm: string}}},
 *   Tensor: new (type: string, data: ArrayLike<number|bigint|boolean>, dims: number[]) => OrtTensor,
 *   InferenceSession: {create(model: Uint8Array, options: {executionProviders: string[]}): Promise<OrtSession>}}} Ort
 */

/** @type {Promise<Ort>|null} */
let ort = null;
/** @type {Map<string, Promise<OrtSession>>} model URL -> its session */
const sessions = new Map();

/** @type {Object<string, (data: number[]|boolean[]) => ArrayLike<number|bigint|boolean>>} */
const ARRAYS = {
  float32: (d) => Float32Array.from(/** @type {number[]} */ (d)),
  int32: (d) => Int32Array.from(/** @type {number[]} */ (d)),
  int64: (d) => BigInt64Array.from(/** @type {number[]} */ (d), (v) => BigInt(v)),
  uint8: (d) => Uint8Array.from(/** @type {number[]} */ (d)),
  bool: (d) => Uint8Array.from(/** @type {boolean[]} */ (d), (v) => (v ? 1 : 0)),
};

/**
 * Imports onnxruntime-web from the bundle, once.
 * @param {string} entryURL the vendored module (ort.wasm.min.mjs)
 * @returns {Promise<Ort>}
 */
export function loadRuntime(entryURL) {
  if (!ort) {
    ort = (async () => {
      /** @type {Ort} */
      const mod = await import(entryURL);
      const base = new URL(".", entryURL).href;
      mod.env.wasm.numThreads = 1; // deterministic scheduling, and no SharedArrayBuffer needed
      mod.env.wasm.proxy = false; // already in a worker
      mod.env.wasm.wasmPaths = { mjs: base + "ort-wasm-simd-threaded.mjs", wasm: base + "ort-wasm-simd-threaded.wasm" };
      return mod;
    })();
  }
  return ort;
}

/** @param {ArrayBuffer} bytes @returns {Promise<string>} */
async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The session of a model file, fetched and checked against its SHA-256 once.
 * @param {string} entryURL @param {string} url @param {string} expected
 * @returns {Promise<OrtSession>}
 */
export function modelSession(entryURL, url, expected) {
  let found = sessions.get(url);
  if (!found) {
    found = (async () => {
      const mod = await loadRuntime(entryURL);
      const response = await fetch(url);
      if (!response.ok) throw new Error(`ONNX model ${url}: HTTP ${response.status}`);
      const bytes = await response.arrayBuffer();
      const got = await sha256(bytes);
      if (got !== expected) throw new Error(`ONNX model ${url}: SHA-256 ${got}, expected ${expected}`);
      return mod.InferenceSession.create(new Uint8Array(bytes), { executionProviders: ["wasm"] });
    })();
    sessions.set(url, found);
    found.catch(() => sessions.delete(url));
  }
  return found;
}

/**
 * Runs the requested models; returns their outputs by agent label, each in the model's output order.
 * @param {string} entryURL
 * @param {InferenceRequest[]} requests
 * @returns {Promise<Object<string, Object<string, TensorJSON>>>}
 */
export async function runModels(entryURL, requests) {
  const mod = await loadRuntime(entryURL);
  /** @type {Object<string, Object<string, TensorJSON>>} */
  const out = {};
  for (const req of requests) {
    const session = await modelSession(entryURL, req.model, req.sha256);
    /** @type {Object<string, OrtTensor>} */
    const feeds = {};
    for (const [name, t] of Object.entries(req.feeds)) {
      if (name === "" && session.inputNames.length !== 1) {
        throw new Error(
          `ONNX policy for agent ${req.agent}: the model has inputs ${session.inputNames.join(", ")}; ` +
            "the default mapping feeds one input: give OnnxPolicy(input='module:callable') to name them",
        );
      }
      const make = ARRAYS[t.type];
      if (!make) throw new Error(`ONNX policy for agent ${req.agent}: input type ${t.type} is not supported`);
      feeds[name === "" ? session.inputNames[0] : name] = new mod.Tensor(t.type, make(t.data), t.dims);
    }
    const results = await session.run(feeds);
    /** @type {Object<string, TensorJSON>} */
    const outputs = {};
    for (const name of session.outputNames) {
      const r = results[name];
      const data = Array.from(r.data, (v) => (typeof v === "bigint" ? Number(v) : typeof v === "boolean" ? Number(v) : v));
      outputs[name] = { type: r.type === "bool" ? "bool" : r.type, dims: Array.from(r.dims), data };
    }
    out[req.agent] = outputs;
  }
  return out;
}

/**
 * Whether a scene's or match's agents include an ONNX policy.
 * @param {Object<string, unknown>} agents
 */
export function usesOnnx(agents) {
  return Object.values(agents || {}).some((c) => typeof c === "object" && c !== null && "kind" in c && c.kind === "onnx");
}

/**
 * Loads the runtime and the sessions of these agents' models before the game starts (so the first frame is not
 * late, and a broken model stops the start rather than the game).
 * @param {string} entryURL @param {Object<string, unknown>} agents
 */
export async function preload(entryURL, agents) {
  for (const c of Object.values(agents || {})) {
    if (typeof c === "object" && c !== null && "kind" in c && c.kind === "onnx") {
      const spec = /** @type {import("./wire.js").OnnxSpec} */ (c);
      await modelSession(entryURL, spec.model, spec.sha256);
    }
  }
}
