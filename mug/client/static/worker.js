// @ts-check
// The Pyodide worker: loads the runtime once, then runs the game clock and the runner (see worker_protocol.js).
// Type-checked with the worker's globals (tsconfig.worker.json).

import { preload, runModels, usesOnnx } from "./onnx.js";
import { WORKER_PROTOCOL_VERSION, WorkerCallError, staleFilesMessage } from "./worker_protocol.js";

/**
 * @typedef {import("./worker_protocol.js").ToWorker} ToWorker
 * @typedef {import("./worker_protocol.js").FromWorker} FromWorker
 * @typedef {import("./worker_protocol.js").WorkerError} WorkerError
 * @typedef {import("./worker_protocol.js").WorkerMethods} WorkerMethods
 * @typedef {import("./worker_protocol.js").MethodName} MethodName
 * @typedef {import("./worker_protocol.js").InitArgs} InitArgs
 * @typedef {import("./worker_protocol.js").FrameInfo} FrameInfo
 * @typedef {import("./worker_protocol.js").MatchEvent} MatchEvent
 * @typedef {import("./worker_protocol.js").MatchStatus} MatchStatus
 *
 * What the worker uses of Pyodide and of the Python WorkerBridge (mug/client/bridge.py), as Pyodide shows them:
 * @typedef {{getBuffer(type: "u8"): {data: Uint8Array, release(): void}, destroy(): void}} PyArray  an ndarray
 * @typedef {{get(i: 0): string, get(i: 1): PyArray|null|undefined, destroy(): void}} PyFrame
 *   a (frame JSON, pixels or None) tuple
 * @typedef {{get(i: 0): string, get(i: 1): {toJs(): Uint8Array, destroy?: () => void}, destroy(): void}} PyExchange
 *   a (JSON, bytes to send) tuple
 * @typedef {{start(scene: string, seed: number, first_episode: number): PyFrame,
 *   tick(keys: string, t_ms: number): PyFrame, next_episode(): PyFrame,
 *   start_match(scene: string, match: string): PyFrame,
 *   match_exchange(now_ms: number, keys: string): PyExchange,
 *   match_advance(now_ms: number, t_ms: number, with_status: boolean): PyFrame,
 *   match_receive(peer: string, data: Uint8Array, now_ms: number): void, match_peer_left(peer: string): void,
 *   inference(): string, match_outputs(outputs: string): string,
 *   close(): void}} Bridge
 * @typedef {{runPython(code: string): unknown, pyimport(name: "mug.client.bridge"): {WorkerBridge(): Bridge}}} Pyodide
 * @typedef {[string, number, number][]} Sends  match_exchange's JSON (or {error}): [peer, bytes, reliable]
 * @typedef {{frame: FrameInfo|null, events: MatchEvent[], status: MatchStatus|null}} PollOut
 *   match_advance's JSON (or {error})
 */

const scope = /** @type {DedicatedWorkerGlobalScope} a module worker started with new Worker() */ (self);

/** @type {Bridge|null} the Python WorkerBridge */
let bridge = null;
/** @type {Promise<{load_ms: number, protocol: number}>|null} */
let loading = null;
/** @type {string|null} the vendored onnxruntime-web module's URL (InitArgs.onnxruntime) */
let onnxURL = null;
/** @type {boolean} the running scene or match has ONNX policies this worker runs */
let onnxInUse = false;

// Keyboard state, updated as the page reports key changes; read and cleared once per tick.
/** @type {string[]} keys held now, in press order */
let held = [];
/** @type {string[]} keys pressed since the last tick */
let pressed = [];
/** @type {[number, number, number, number][]} clicks on the canvas since the last tick: [x, y, width, height]
 *  in the env's surface coordinates (mug/client/pointer.py) */
let clicks = [];
let hidden = false;

// The game clock.
let running = false;
let fps = 30;
let nextAt = 0;
/** @type {ReturnType<typeof setTimeout>|null} */
let timer = null;
// Each start and stop of a loop (the game clock's, the match's) is a new generation. A model run is awaited,
// and the page may stop the scene and start another meanwhile: what it returns belongs to the generation it
// started in, so a stale run's outputs are dropped and it schedules no second loop.
let generation = 0;
// When the clock falls this many frames behind (a long GC pause, a throttled tab), it skips ahead instead
// of playing the missed frames in a burst.
const MAX_CATCH_UP_FRAMES = 5;

/** @param {FromWorker} msg @param {Transferable[]} [transfer] */
function post(msg, transfer = []) {
  scope.postMessage(msg, transfer);
}

/** @returns {Bridge} */
function theBridge() {
  if (!bridge) throw new WorkerCallError({ message: "the game runtime is not loaded yet", where: "worker" });
  return bridge;
}

/**
 * @param {InitArgs} args
 * @returns {Promise<{load_ms: number, protocol: number}>}
 */
async function init(args) {
  const t0 = performance.now();
  onnxURL = args.onnxruntime ? new URL(args.onnxruntime, scope.location.href).href : null;
  const indexURL = new URL(args.indexURL, scope.location.href).href;
  const lockFileURL = new URL(args.lockFileURL, scope.location.href).href;
  post({ type: "progress", stage: "runtime", percent: 5 });
  /** @type {{loadPyodide(opts: {indexURL: string, lockFileURL: string, packages: string[]}): Promise<Pyodide>}} */
  let mod;
  try {
    mod = await import(indexURL + "pyodide.mjs");
  } catch (err) {
    throw new WorkerCallError({ message: `cannot load the Python runtime from ${indexURL}: ${err}`, where: "load" });
  }
  // loadPyodide reports nothing while it works; estimate progress by the time a load usually takes.
  const started = performance.now();
  const ticker = setInterval(() => {
    const frac = 1 - Math.exp(-(performance.now() - started) / 2000);
    post({ type: "progress", stage: "packages", percent: Math.round(10 + 70 * frac) });
  }, 200);
  let py;
  try {
    py = await mod.loadPyodide({ indexURL, lockFileURL, packages: args.packages });
  } catch (err) {
    throw new WorkerCallError({ message: `cannot load the Python runtime and packages: ${err}`, where: "load" });
  } finally {
    clearInterval(ticker);
  }
  post({ type: "progress", stage: "imports", percent: 85 });
  try {
    py.runPython(
      "import mug.client.pyodide_compat as _c\n_c.install()\n" +
        "import numpy, gymnasium, pettingzoo\nimport mug.client.bridge\n",
    );
    bridge = py.pyimport("mug.client.bridge").WorkerBridge();
  } catch (err) {
    throw new WorkerCallError({ message: `cannot import the game runtime: ${err}`, where: "import" });
  }
  const load_ms = Math.round(performance.now() - t0);
  post({ type: "progress", stage: "ready", percent: 100 });
  post({ type: "ready", load_ms });
  return { load_ms, protocol: WORKER_PROTOCOL_VERSION };
}

/**
 * Posts one frame (a `[json, pixels]` tuple from the bridge) to the page.
 * @param {PyFrame} result
 * @returns {FrameInfo|{error: WorkerError}} the parsed frame, or the error the bridge returned instead
 */
function postFrame(result) {
  const text = result.get(0);
  const px = result.get(1);
  result.destroy();
  /** @type {FrameInfo|{error: WorkerError}} the bridge's JSON (mug/client/bridge.py) */
  const frame = JSON.parse(text);
  if ("error" in frame) {
    if (px) px.destroy();
    return frame;
  }
  /** @type {import("./worker_protocol.js").Pixels|null} */
  let pixels = null;
  if (px) {
    const buf = px.getBuffer("u8");
    try {
      pixels = new Uint8ClampedArray(buf.data); // a copy out of wasm memory, so it can be transferred
    } finally {
      buf.release();
      px.destroy();
    }
  }
  post({ type: "frame", frame, pixels }, pixels ? [pixels.buffer] : []);
  return frame;
}

/**
 * The ONNX runs the runner asks for (Runner.inference / MatchRunner.inference), as JSON requests.
 * @returns {import("./onnx.js").InferenceRequest[]}
 */
function inferenceRequests() {
  /** @type {import("./onnx.js").InferenceRequest[]|{error: WorkerError}} */
  const reqs = JSON.parse(theBridge().inference());
  if ("error" in reqs) throw new WorkerCallError(reqs.error);
  return reqs;
}

/** @returns {string} */
function theOnnxURL() {
  if (!onnxURL) {
    throw new WorkerCallError({
      message: "this scene has an ONNX policy but the bundle has no onnxruntime-web (run `make node`, then `mug bundle`)",
      where: "inference",
    });
  }
  return onnxURL;
}

async function tick() {
  // Single player: the models run first, on the observation this tick acts on (a slow model makes the frame late).
  /** @type {Object<string, unknown>|null} */
  let outputs = null;
  if (onnxInUse) {
    const started = generation;
    try {
      const reqs = inferenceRequests();
      if (reqs.length) outputs = await runModels(theOnnxURL(), reqs);
    } catch (err) {
      if (started !== generation) return; // the scene it ran for has gone
      stopLoop();
      post({ type: "error", error: asError(err) });
      return;
    }
    if (!running || started !== generation) return;
  }
  const keys = hidden ? { held: [], pressed: [], clicks: [], outputs } : { held, pressed, clicks, outputs };
  pressed = [];
  clicks = [];
  const frame = postFrame(theBridge().tick(JSON.stringify(keys), Date.now()));
  if ("error" in frame) {
    stopLoop();
    post({ type: "error", error: frame.error });
  } else if (frame.episode_done) {
    stopLoop();
  }
}

async function loop() {
  timer = null;
  if (!running) return;
  const started = generation;
  await tick();
  if (!running || started !== generation) return; // stopped (and maybe started again, with its own timer)
  const period = 1000 / fps;
  nextAt += period;
  const now = performance.now();
  if (now - nextAt > MAX_CATCH_UP_FRAMES * period) nextAt = now;
  timer = setTimeout(loop, Math.max(0, nextAt - now));
}

function startLoop() {
  generation += 1;
  running = true;
  pressed = [];
  clicks = [];
  nextAt = performance.now() + 1000 / fps;
  timer = setTimeout(loop, 1000 / fps);
}

function stopLoop() {
  generation += 1;
  running = false;
  if (timer !== null) clearTimeout(timer);
  timer = null;
}

/** @param {Object<string, unknown>} agents */
async function loadModels(agents) {
  try {
    await preload(theOnnxURL(), agents);
  } catch (err) {
    if (err instanceof WorkerCallError) throw err;
    throw new WorkerCallError({ message: `cannot load the ONNX policy: ${err}`, where: "start" });
  }
}

/** @param {PyFrame} result @param {string} where @returns {FrameInfo} */
function checked(result, where) {
  const frame = postFrame(result);
  if ("error" in frame) throw new WorkerCallError({ ...frame.error, where });
  return frame;
}

// Multiplayer: the match loop polls the lockstep session every POLL_MS and whenever bytes arrive; the
// session decides when a frame is due (it steps the env only on its Step requests).
const POLL_MS = 4;
const STATUS_EVERY_MS = 250; // the match status rides along this often (and with every event)
let matchRunning = false;
/** @type {ReturnType<typeof setTimeout>|null} */
let matchTimer = null;
let lastStatusAt = 0;

function matchPoll() {
  const keys = hidden ? { held: [], pressed: [], clicks: [] } : { held, pressed, clicks };
  pressed = [];
  clicks = [];
  const now = performance.now();
  const withStatus = now - lastStatusAt >= STATUS_EVERY_MS;
  if (withStatus) lastStatusAt = now;
  // First what the peers wait for (our inputs), then the environment step, which may take milliseconds.
  const exchanged = theBridge().match_exchange(now, JSON.stringify(keys));
  const sendsText = exchanged.get(0);
  const blob = exchanged.get(1);
  exchanged.destroy();
  try {
    /** @type {Sends|{error: WorkerError}} */
    const sends = JSON.parse(sendsText);
    if ("error" in sends) {
      stopMatch();
      post({ type: "error", error: sends.error });
      return;
    }
    if (sends.length) {
      const bytes = blob.toJs();
      let pos = 0;
      for (const [peer, n, reliable] of sends) {
        const data = bytes.slice(pos, pos + n).buffer;
        pos += n;
        post({ type: "net", peer, data, reliable: reliable === 1 }, [data]);
      }
    }
  } finally {
    if (blob && blob.destroy) blob.destroy();
  }
  const result = theBridge().match_advance(now, Date.now(), withStatus);
  const text = result.get(0);
  const px = result.get(1);
  result.destroy();
  /** @type {PollOut|{error: WorkerError}} the bridge's JSON (mug/client/bridge.py) */
  const out = JSON.parse(text);
  try {
    if ("error" in out) {
      stopMatch();
      post({ type: "error", error: out.error });
      return;
    }
    if (out.frame) {
      /** @type {import("./worker_protocol.js").Pixels|null} */
      let pixels = null;
      if (px) {
        const buf = px.getBuffer("u8");
        try {
          pixels = new Uint8ClampedArray(buf.data);
        } finally {
          buf.release();
        }
      }
      post({ type: "frame", frame: out.frame, pixels }, pixels ? [pixels.buffer] : []);
    }
    if (out.events.length || out.status) post({ type: "match", events: out.events, status: out.status });
    if (out.events.some((e) => e.kind === "done" || e.kind === "peer_gone")) stopMatch();
  } finally {
    if (px) px.destroy();
  }
  if (onnxInUse && matchRunning) matchInference();
}

// The owner of a match's ONNX policies runs their models between polls; the actions enter the lockstep as
// those agents' inputs (mug/client/match.py). At most one run is in flight: the runner asks for none meanwhile.
function matchInference() {
  let reqs;
  try {
    reqs = inferenceRequests();
  } catch (err) {
    stopMatch();
    post({ type: "error", error: asError(err) });
    return;
  }
  if (!reqs.length) return;
  const started = generation;
  runModels(theOnnxURL(), reqs)
    .then((outputs) => {
      if (!matchRunning || started !== generation) return; // a run for a match that has gone
      /** @type {{error?: WorkerError}} */
      const answer = JSON.parse(theBridge().match_outputs(JSON.stringify(outputs)));
      if (answer.error) throw new WorkerCallError(answer.error);
    })
    .catch((err) => {
      if (!matchRunning || started !== generation) return;
      stopMatch();
      post({ type: "error", error: asError(err) });
    });
}

function matchLoop() {
  matchTimer = null;
  if (!matchRunning) return;
  matchPoll();
  if (matchRunning) matchTimer = setTimeout(matchLoop, POLL_MS);
}

function stopMatch() {
  generation += 1;
  matchRunning = false;
  if (matchTimer !== null) clearTimeout(matchTimer);
  matchTimer = null;
}

/**
 * Every call of the protocol (WorkerMethods), so tsc checks each handler's arguments and value.
 * @type {{[M in MethodName]: (args: WorkerMethods[M]["args"]) => Promise<WorkerMethods[M]["value"]>|WorkerMethods[M]["value"]}}
 */
const methods = {
  init: (args) => {
    // The page's first message: a page of another version (or a stale cached worker) stops here.
    if (args.protocol !== WORKER_PROTOCOL_VERSION) {
      throw new WorkerCallError({ message: staleFilesMessage(WORKER_PROTOCOL_VERSION, args.protocol), where: "protocol" });
    }
    loading = loading || init(args);
    return loading;
  },
  start: async (args) => {
    if (!loading) throw new WorkerCallError({ message: "init must be called before start", where: "start" });
    await loading;
    stopLoop();
    fps = Number(args.scene.fps) || 30;
    onnxInUse = usesOnnx(args.scene.agents);
    if (onnxInUse) await loadModels(args.scene.agents);
    const frame = checked(theBridge().start(JSON.stringify(args.scene), args.seed, args.first_episode), "start");
    startLoop();
    return { episode: frame.episode };
  },
  next_episode: () => {
    stopLoop();
    const frame = checked(theBridge().next_episode(), "reset");
    startLoop();
    return { episode: frame.episode };
  },
  start_match: async (args) => {
    if (!loading) throw new WorkerCallError({ message: "init must be called before start_match", where: "start" });
    await loading;
    stopLoop();
    stopMatch();
    // only the owner (slot 0) runs the match's ONNX policies; the other peers never load the runtime
    onnxInUse = args.match.slot === 0 && usesOnnx(args.match.agents);
    if (onnxInUse) await loadModels(args.match.agents);
    checked(theBridge().start_match(JSON.stringify(args.scene), JSON.stringify(args.match)), "start");
    return {};
  },
  run_match: () => {
    if (!matchRunning) {
      generation += 1;
      matchRunning = true;
      pressed = [];
      clicks = [];
      lastStatusAt = 0;
      matchLoop();
    }
    return {};
  },
  peer_left: (args) => {
    if (bridge) bridge.match_peer_left(String(args.peer));
    if (matchRunning) matchPoll();
    return {};
  },
  stop: () => {
    stopLoop();
    stopMatch();
    if (bridge) bridge.close();
    return {};
  },
};

/**
 * Runs one call; generic in the method so its arguments match its handler.
 * @template {MethodName} M
 * @param {{method: M, args: WorkerMethods[M]["args"]}} call
 */
function invoke(call) {
  if (!Object.hasOwn(methods, call.method)) {
    throw new WorkerCallError({ message: `unknown worker method ${call.method}`, where: "worker" });
  }
  /** @type {(args: WorkerMethods[M]["args"]) => unknown} */
  const method = methods[call.method];
  return method(call.args);
}

/** @param {unknown} err @returns {WorkerError} */
function asError(err) {
  if (err instanceof WorkerCallError) return err.toData();
  return { message: String(err instanceof Error ? err.message : err), where: "worker" };
}

scope.addEventListener("message", async (ev) => {
  const msg = /** @type {ToWorker} postMessage data from the page (worker_protocol.js) */ (ev.data);
  if (msg.type === "key") {
    if (msg.down) {
      if (!held.includes(msg.key)) held.push(msg.key);
      pressed.push(msg.key);
    } else {
      held = held.filter((k) => k !== msg.key);
    }
  } else if (msg.type === "pointer") {
    if (!hidden) clicks.push([msg.x, msg.y, msg.width, msg.height]);
  } else if (msg.type === "net") {
    if (!bridge) return;
    bridge.match_receive(msg.peer, new Uint8Array(msg.data), performance.now());
    if (matchRunning) matchPoll(); // a peer's input may be what the due frame waits for
  } else if (msg.type === "visibility") {
    hidden = msg.hidden;
    if (hidden) held = [];
  } else if (msg.type === "call") {
    try {
      const value = await invoke(msg);
      post({ type: "reply", id: msg.id, ok: true, value });
    } catch (err) {
      post({ type: "reply", id: msg.id, ok: false, error: asError(err) });
    }
  }
});
