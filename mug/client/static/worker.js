// @ts-check
/// <reference lib="webworker" />
// The Pyodide worker: loads the runtime once, then runs the game clock and the runner (see worker_protocol.js).

/** @typedef {import("./worker_protocol.js").ToWorker} ToWorker */
/** @typedef {import("./worker_protocol.js").WorkerError} WorkerError */

const scope = /** @type {DedicatedWorkerGlobalScope} */ (/** @type {unknown} */ (self));

/** @type {any} */
let pyodide = null;
/** @type {any} the Python WorkerBridge */
let bridge = null;
/** @type {Promise<{load_ms: number}>|null} */
let loading = null;

// Keyboard state, updated as the page reports key changes; read and cleared once per tick.
/** @type {string[]} keys held now, in press order */
let held = [];
/** @type {string[]} keys pressed since the last tick */
let pressed = [];
let hidden = false;

// The game clock.
let running = false;
let fps = 30;
let nextAt = 0;
/** @type {ReturnType<typeof setTimeout>|null} */
let timer = null;
// When the clock falls this many frames behind (a long GC pause, a throttled tab), it skips ahead instead
// of playing the missed frames in a burst.
const MAX_CATCH_UP_FRAMES = 5;

/** @param {any} msg @param {Transferable[]} [transfer] */
function post(msg, transfer = []) {
  scope.postMessage(msg, transfer);
}

/**
 * @param {{indexURL: string, lockFileURL: string, packages: string[]}} args
 * @returns {Promise<{load_ms: number}>}
 */
async function init(args) {
  const t0 = performance.now();
  const indexURL = new URL(args.indexURL, scope.location.href).href;
  const lockFileURL = new URL(args.lockFileURL, scope.location.href).href;
  post({ type: "progress", stage: "runtime", percent: 5 });
  let mod;
  try {
    mod = await import(indexURL + "pyodide.mjs");
  } catch (err) {
    throw { message: `cannot load the Python runtime from ${indexURL}: ${err}`, where: "load" };
  }
  // loadPyodide reports nothing while it works; estimate progress by the time a load usually takes.
  const started = performance.now();
  const ticker = setInterval(() => {
    const frac = 1 - Math.exp(-(performance.now() - started) / 2000);
    post({ type: "progress", stage: "packages", percent: Math.round(10 + 70 * frac) });
  }, 200);
  try {
    pyodide = await mod.loadPyodide({ indexURL, lockFileURL, packages: args.packages });
  } catch (err) {
    throw { message: `cannot load the Python runtime and packages: ${err}`, where: "load" };
  } finally {
    clearInterval(ticker);
  }
  post({ type: "progress", stage: "imports", percent: 85 });
  try {
    pyodide.runPython(
      "import mug.client.pyodide_compat as _c\n_c.install()\n" +
        "import numpy, gymnasium, pettingzoo\nimport mug.client.bridge\n",
    );
    bridge = pyodide.pyimport("mug.client.bridge").WorkerBridge();
  } catch (err) {
    throw { message: `cannot import the game runtime: ${err}`, where: "import" };
  }
  const load_ms = Math.round(performance.now() - t0);
  post({ type: "progress", stage: "ready", percent: 100 });
  post({ type: "ready", load_ms });
  return { load_ms };
}

/**
 * Posts one frame (a `[json, pixels]` tuple from the bridge) to the page.
 * @param {any} result a PyProxy of (str, ndarray|None)
 * @returns {any} the parsed FrameInfo (or {error})
 */
function postFrame(result) {
  const text = result.get(0);
  const px = result.get(1);
  result.destroy();
  const frame = JSON.parse(text);
  if (frame.error) {
    if (px) px.destroy();
    return frame;
  }
  /** @type {Uint8ClampedArray|null} */
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

function tick() {
  const keys = hidden ? { held: [], pressed: [] } : { held, pressed };
  pressed = [];
  const frame = postFrame(bridge.tick(JSON.stringify(keys), Date.now()));
  if (frame.error) {
    stopLoop();
    post({ type: "error", error: frame.error });
  } else if (frame.episode_done) {
    stopLoop();
  }
}

function loop() {
  timer = null;
  if (!running) return;
  tick();
  if (!running) return;
  const period = 1000 / fps;
  nextAt += period;
  const now = performance.now();
  if (now - nextAt > MAX_CATCH_UP_FRAMES * period) nextAt = now;
  timer = setTimeout(loop, Math.max(0, nextAt - now));
}

function startLoop() {
  running = true;
  pressed = [];
  nextAt = performance.now() + 1000 / fps;
  timer = setTimeout(loop, 1000 / fps);
}

function stopLoop() {
  running = false;
  if (timer !== null) clearTimeout(timer);
  timer = null;
}

/** @param {any} result @param {string} where */
function checked(result, where) {
  const frame = postFrame(result);
  if (frame.error) throw { ...frame.error, where };
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
  const keys = hidden ? { held: [], pressed: [] } : { held, pressed };
  pressed = [];
  const now = performance.now();
  const withStatus = now - lastStatusAt >= STATUS_EVERY_MS;
  if (withStatus) lastStatusAt = now;
  const result = bridge.match_poll(now, JSON.stringify(keys), Date.now(), withStatus);
  const text = result.get(0);
  const px = result.get(1);
  const blob = result.get(2);
  result.destroy();
  const out = JSON.parse(text);
  try {
    if (out.error) {
      stopMatch();
      post({ type: "error", error: out.error });
      return;
    }
    if (out.sends.length) {
      const bytes = /** @type {Uint8Array} */ (blob.toJs());
      let pos = 0;
      for (const [peer, n] of out.sends) {
        const data = bytes.slice(pos, pos + n).buffer;
        pos += n;
        post({ type: "net", peer, data }, [data]);
      }
    }
    if (out.frame) {
      /** @type {Uint8ClampedArray|null} */
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
    if (out.events.some((/** @type {{kind: string}} */ e) => e.kind === "done" || e.kind === "peer_gone")) stopMatch();
  } finally {
    if (px) px.destroy();
    if (blob && blob.destroy) blob.destroy();
  }
}

function matchLoop() {
  matchTimer = null;
  if (!matchRunning) return;
  matchPoll();
  if (matchRunning) matchTimer = setTimeout(matchLoop, POLL_MS);
}

function stopMatch() {
  matchRunning = false;
  if (matchTimer !== null) clearTimeout(matchTimer);
  matchTimer = null;
}

/** @type {Record<string, (args: any) => Promise<any>|any>} */
const methods = {
  init: (args) => {
    loading = loading || init(args);
    return loading;
  },
  start: async (args) => {
    if (!loading) throw { message: "init must be called before start", where: "start" };
    await loading;
    stopLoop();
    fps = Number(args.scene.fps) || 30;
    const frame = checked(bridge.start(JSON.stringify(args.scene), args.seed, args.first_episode), "start");
    startLoop();
    return { episode: frame.episode };
  },
  next_episode: () => {
    stopLoop();
    const frame = checked(bridge.next_episode(), "reset");
    startLoop();
    return { episode: frame.episode };
  },
  start_match: async (args) => {
    if (!loading) throw { message: "init must be called before start_match", where: "start" };
    await loading;
    stopLoop();
    stopMatch();
    checked(bridge.start_match(JSON.stringify(args.scene), JSON.stringify(args.match)), "start");
    return {};
  },
  run_match: () => {
    if (!matchRunning) {
      matchRunning = true;
      pressed = [];
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

/** @param {unknown} err @returns {WorkerError} */
function asError(err) {
  if (err && typeof err === "object" && "message" in err && "where" in err) return /** @type {any} */ (err);
  return { message: String(err instanceof Error ? err.message : err), where: "worker" };
}

scope.addEventListener("message", async (ev) => {
  const msg = /** @type {ToWorker} */ (ev.data);
  if (msg.type === "key") {
    if (msg.down) {
      if (!held.includes(msg.key)) held.push(msg.key);
      pressed.push(msg.key);
    } else {
      held = held.filter((k) => k !== msg.key);
    }
  } else if (msg.type === "net") {
    if (!bridge) return;
    bridge.match_receive(msg.peer, new Uint8Array(msg.data));
    if (matchRunning) matchPoll(); // a peer's input may be what the due frame waits for
  } else if (msg.type === "visibility") {
    hidden = msg.hidden;
    if (hidden) held = [];
  } else if (msg.type === "call") {
    const method = methods[msg.method];
    try {
      if (!method) throw { message: `unknown worker method ${msg.method}`, where: "worker" };
      const value = await method(msg.args);
      post({ type: "reply", id: msg.id, ok: true, value });
    } catch (err) {
      post({ type: "reply", id: msg.id, ok: false, error: asError(err) });
    }
  }
});
