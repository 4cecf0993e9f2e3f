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
 *                       stops the loop (or the match loop) and closes the env.
 *     Multiplayer (mug/client/match.py):
 *       "start_match"   args {scene, match}                     -> value {}
 *                       builds the env and the lockstep session from a game SceneSpec and the server's
 *                       `match_start` payload (`match`) and posts the first frame; the session is not polled
 *                       yet (bytes that arrive meanwhile are kept by the session).
 *       "run_match"     args {}                                 -> value {}
 *                       starts the match loop: the session is polled every few ms and after every "net"
 *                       message; frames, sends and match events come back unsolicited (below). The loop
 *                       stops by itself after a "done" or "peer_gone" event.
 *       "peer_left"     args {peer}                             -> value {}
 *                       the transport lost `peer` (a participant id): the session ends with PeerGone.
 *     answered by `{type: "reply", id, ok: true, value}` or `{type: "reply", id, ok: false, error}`.
 *   - `{type: "key", key, down}`: a key (KeyboardEvent.key) went down or up; sent at once, no reply.
 *   - `{type: "net", peer, data}`: bytes from peer `peer` (a participant id); `data` an ArrayBuffer
 *     (transferred). No reply.
 *   - `{type: "visibility", hidden}`: the page was hidden or shown; while hidden the worker plays the default
 *     action (no keys held), so a hidden participant never drives the game by a key stuck down.
 * Worker -> page (unsolicited):
 *   - `{type: "progress", stage, percent}`: loading stage ("runtime", "packages", "imports", "ready").
 *   - `{type: "ready", load_ms}`: the runtime is ready (also the value of the "init" reply).
 *   - `{type: "frame", frame, pixels}`: one tick: `frame` a FrameInfo, `pixels` an RGBA Uint8ClampedArray
 *     (transferred) when `frame.render.kind` is "rgb", else null.
 *   - `{type: "error", error}`: the loop stopped because Python raised (or the runtime failed to load).
 *   Multiplayer:
 *   - `{type: "net", peer, data}`: send `data` (ArrayBuffer, transferred) to peer `peer` on its data channel.
 *   - `{type: "frame", frame, pixels}`: as above; in a match `frame` also has `state` ("running", "pause",
 *     "finished"...) and `pause_left` (frames of the between-episode pause left); `turn` (TurnInfo or null)
 *     in every frame says whose turn it is in a turn-based game; rows carry `frame` and
 *     `match_id`; `render.kind` "none" means keep the picture (pause frames).
 *   - `{type: "match", events, status}`: `events` a list of `{kind: "ready", input_delay}`,
 *     `{kind: "stalled", frame, waiting_for: [slot]}`, `{kind: "desync", frame, peer}`, `{kind: "episode_done",
 *     episode, score, steps}`, `{kind: "finished", frame}` (all episodes played), `{kind: "done"}` (every peer
 *     is past the last frame: connections may close), `{kind: "peer_gone", peer, last_confirmed_frame}`;
 *     `status` null or MatchStatus.
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
 * @typedef {{agent: string, yours: boolean, human: boolean, seconds_left: number|null}} TurnInfo
 *   turn-based games: the acting agent (its label, mug/client/agents.py), whether this page plays it, whether
 *   a person does, and the seconds left of a turn time limit (null: none)
 * @typedef {{render: RenderPayload, rows: StepRow[], episode: number, step: number, frame: number,
 *   score: number, episode_done: boolean, scene_done: boolean, turn?: TurnInfo|null}} FrameInfo
 * @typedef {{state: string, frame: number, input_delay: number|null, stalls: number, stall_ms: number,
 *   desyncs: number[], rtt_ms: Object<string, number|null>, episode: number}} MatchStatus
 * @typedef {{kind: string, [field: string]: any}} MatchEvent
 * @typedef {{type: "call", id: number, method: string, args: any}
 *   | {type: "key", key: string, down: boolean} | {type: "visibility", hidden: boolean}
 *   | {type: "net", peer: string, data: ArrayBuffer}} ToWorker
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

  /** @param {ToWorker} msg one-way message (key, visibility, net) @param {Transferable[]} [transfer] */
  post(msg, transfer = []) {
    this.worker.postMessage(msg, transfer);
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
