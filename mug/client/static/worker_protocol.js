// @ts-check
/**
 * Page <-> worker messages (version 1): calls matched by id, errors sent back as data (like comlink).
 *
 * Page -> worker:
 *   - `{type: "call", id, method, args}`: `id` a number unique per page, `method` one of
 *       "init"          args {indexURL, lockFileURL, packages}  -> value {load_ms}
 *                       loads Pyodide and every package in one loadPyodide call, then imports the runner.
 *       "start"         args {scene, seed, first_episode}       -> value {episode}
 *                       builds the env of a game scene (a SceneSpec), resets episode `first_episode`, posts
 *                       its first frame and starts the frame loop.
 *       "next_episode"  args {}                                 -> value {episode}
 *                       after a frame with `episode_done`: resets the next episode and restarts the loop.
 *       "stop"          args {}                                 -> value {}
 *                       stops the loop and closes the env.
 *     answered by `{type: "reply", id, ok: true, value}` or `{type: "reply", id, ok: false, error}`.
 *   - `{type: "key", key, down}`: a key (KeyboardEvent.key) went down or up; sent at once, no reply.
 *   - `{type: "visibility", hidden}`: the page was hidden or shown; while hidden the worker plays the default
 *     action (no keys held), so a hidden participant never drives the game by a key stuck down.
 * Worker -> page (unsolicited):
 *   - `{type: "progress", stage, percent}`: loading stage ("runtime", "packages", "imports", "ready").
 *   - `{type: "ready", load_ms}`: the runtime is ready (also the value of the "init" reply).
 *   - `{type: "frame", frame, pixels}`: one tick: `frame` a FrameInfo, `pixels` an RGBA Uint8ClampedArray
 *     (transferred) when `frame.render.kind` is "rgb", else null.
 *   - `{type: "error", error}`: the loop stopped because Python raised (or the runtime failed to load).
 */

export const WORKER_PROTOCOL_VERSION = 1;

/**
 * @typedef {{message: string, where: string, type?: string, traceback?: string}} WorkerError
 *   `where`: "load", "import", "start", "step", "reset" or "worker" (an uncaught JS error).
 * @typedef {{kind: "draw", width: number|null, height: number|null, commands: DrawCommand[]}
 *   | {kind: "rgb", width: number, height: number} | {kind: "none"}} RenderPayload
 * @typedef {{op: string, [field: string]: any}} DrawCommand  see mug/rendering/surface.py
 * @typedef {{episode: number, step: number, agent: string, action: any, reward: any, terminated: boolean,
 *   truncated: boolean, info: any, obs_checksum: string|null, episode_seed: number|null, t_ms: number,
 *   frame: number|null}} StepRow  mug.server.wire.StepRow
 * @typedef {{render: RenderPayload, rows: StepRow[], episode: number, step: number, frame: number,
 *   score: number, episode_done: boolean, scene_done: boolean}} FrameInfo
 * @typedef {{type: "call", id: number, method: string, args: any}
 *   | {type: "key", key: string, down: boolean} | {type: "visibility", hidden: boolean}} ToWorker
 * @typedef {{type: "reply", id: number, ok: true, value: any}
 *   | {type: "reply", id: number, ok: false, error: WorkerError}
 *   | {type: "progress", stage: string, percent: number} | {type: "ready", load_ms: number}
 *   | {type: "frame", frame: FrameInfo, pixels: Uint8ClampedArray|null}
 *   | {type: "error", error: WorkerError}} FromWorker
 */

/** A call the worker answered with an error. */
export class WorkerCallError extends Error {
  /** @param {WorkerError} error */
  constructor(error) {
    super(error.message);
    this.where = error.where;
    this.traceback = error.traceback || "";
  }
}

/** The page's side: calls with promises, and handlers for the worker's unsolicited messages. */
export class WorkerClient {
  /** @param {Worker} worker */
  constructor(worker) {
    this.worker = worker;
    this.nextId = 1;
    /** @type {Map<number, {resolve: (v: any) => void, reject: (e: Error) => void}>} */
    this.pending = new Map();
    /** @type {Map<string, Set<(msg: any) => void>>} */
    this.handlers = new Map();
    worker.addEventListener("message", (ev) => this.receive(/** @type {FromWorker} */ (ev.data)));
    worker.addEventListener("error", (ev) => {
      ev.preventDefault();
      const error = { message: ev.message || "the game worker failed to start", where: "worker" };
      this.failAll(error);
      this.dispatch({ type: "error", error });
    });
  }

  /**
   * @param {string} method
   * @param {any} [args]
   * @returns {Promise<any>}
   */
  call(method, args = {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(/** @type {ToWorker} */ ({ type: "call", id, method, args }));
    });
  }

  /** @param {ToWorker} msg one-way message (key, visibility) */
  post(msg) {
    this.worker.postMessage(msg);
  }

  /**
   * @param {string} type
   * @param {(msg: any) => void} handler
   * @returns {() => void} removes the handler
   */
  on(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, new Set());
    this.handlers.get(type)?.add(handler);
    return () => this.handlers.get(type)?.delete(handler);
  }

  /** @param {FromWorker} msg */
  receive(msg) {
    if (msg.type === "reply") {
      const waiter = this.pending.get(msg.id);
      if (!waiter) return;
      this.pending.delete(msg.id);
      if (msg.ok === true) waiter.resolve(msg.value);
      else waiter.reject(new WorkerCallError(/** @type {{error: WorkerError}} */ (msg).error));
      return;
    }
    this.dispatch(msg);
  }

  /** @param {{type: string, [field: string]: any}} msg */
  dispatch(msg) {
    for (const handler of this.handlers.get(msg.type) || []) handler(msg);
  }

  /** @param {WorkerError} error */
  failAll(error) {
    for (const waiter of this.pending.values()) waiter.reject(new WorkerCallError(error));
    this.pending.clear();
  }
}
