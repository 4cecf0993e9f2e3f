// @ts-check
/**
 * Page <-> worker messages (version 3): calls matched by id, errors sent back as data (like comlink). The
 * typedefs below are the closed set of messages (WorkerMethods, ToWorker, FromWorker); `make lint` (tsc) checks
 * that worker.js and the page post and handle exactly these.
 *
 * Page -> worker:
 *   - `{type: "call", id, method, args}`: `id` a number unique per page, `method` one of
 *       "init"          args {protocol, indexURL, lockFileURL, packages}  -> value {load_ms, protocol}
 *                       the page's first message. `protocol` is the page's WORKER_PROTOCOL_VERSION: a worker
 *                       of another version (a stale copy of the game files) answers with an error (where
 *                       "protocol") and loads nothing; the page checks the `protocol` of the reply too, so a
 *                       worker older than this check is caught as well. Then loads Pyodide and every package in one
 *                       loadPyodide call, and imports the runner.
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
 *                       the transport lost `peer` (a participant id): the match pauses for it (PeerAway)
 *                       for the scene's reconnect_grace_s, then ends with PeerGone if it is not back.
 *     answered by `{type: "reply", id, ok: true, value}` or `{type: "reply", id, ok: false, error}`.
 *   - `{type: "key", key, down}`: a key (KeyboardEvent.key) went down or up; sent at once, no reply.
 *   - `{type: "pointer", x, y, width, height}`: a pointerdown (mouse button, touch, pen) on the game canvas, in
 *     the env's surface coordinates: (x, y) from the top left of a `width` x `height` surface, the size of
 *     the frame drawn last (input.js takes the canvas's CSS scaling out). Sent at once, no reply; the
 *     worker hands the clicks of a frame to the runner with the keys (mug/client/pointer.py); ignored while
 *     hidden.
 *   - `{type: "net", peer, data}`: bytes from peer `peer` (a participant id); `data` an ArrayBuffer
 *     (transferred). No reply.
 *   - `{type: "visibility", hidden}`: the page was hidden or shown; while hidden the worker plays the default
 *     action (no keys held), so a hidden participant never drives the game by a key stuck down.
 * Worker -> page (unsolicited):
 *   - `{type: "progress", stage, percent}`: loading stage ("runtime", "packages", "imports", "ready").
 *   - `{type: "ready", load_ms}`: the runtime is ready (also the value of the "init" reply).
 *   - `{type: "frame", frame, pixels}`: one tick: `frame` a FrameInfo, `pixels` an RGBA Uint8ClampedArray
 *     (transferred) when `frame.render.kind` is "rgb", else null.
 *   - `{type: "error", error}`: the loop stopped because Python raised (or the runtime failed to load); the
 *     page also dispatches one itself (where "worker") when the worker script fails.
 *   Multiplayer:
 *   - `{type: "net", peer, data, reliable}`: send `data` (ArrayBuffer, transferred) to peer `peer` on its data
 *     channel (`reliable`: its reliable, ordered channel: the rejoin handshake).
 *   - `{type: "frame", frame, pixels}`: as above; in a match `frame` also has `state` ("running", "pause",
 *     "finished"...) and `pause_left` (frames of the between-episode pause left); `turn` (TurnInfo or null)
 *     in every frame says whose turn it is in a turn-based game; rows carry `frame` and
 *     `match_id`; `render.kind` "none" means keep the picture (pause frames).
 *   - `{type: "match", events, status}`: `events` a list of `{kind: "ready", input_delay}`,
 *     `{kind: "stalled", frame, waiting_for: [slot]}`, `{kind: "desync", frame, peer}`, `{kind: "episode_done",
 *     episode, score, steps}`, `{kind: "finished", frame}` (all episodes played), `{kind: "done"}` (every peer
 *     is past the last frame: connections may close), `{kind: "peer_gone", peer, last_confirmed_frame}`,
 *     `{kind: "peer_away", peer, frame, grace_ms}` (the match pauses), `{kind: "peer_back", peer, away_ms,
 *     rejoined}`, `{kind: "replayed", frames, frame}` (a rejoining page stepped the frames played meanwhile);
 *     `status` null or MatchStatus.
 */

// 3: the "pointer" message (clicks on the canvas); a version-2 worker would ignore it, so the game would seem
// dead to clicks: a page and worker of different versions stop at `init` instead.
export const WORKER_PROTOCOL_VERSION = 3;

/**
 * @typedef {import("./wire.js").GameSpec} GameSpec
 * @typedef {import("./wire.js").MatchStart} MatchStart
 * @typedef {{message: string, where: string, type?: string, traceback?: string}} WorkerError
 *   `where`: "protocol", "load", "import", "start", "step", "reset" or "worker" (an uncaught JS error).
 * @typedef {{kind: "draw", width: number|null, height: number|null, commands: DrawCommand[]}
 *   | {kind: "rgb", width: number, height: number} | {kind: "none"}} RenderPayload
 * @typedef {{color: string, fill: boolean, width: number}} Paint
 * @typedef {{op: "fill", color: string}
 *   | Paint & {op: "rect", x: number, y: number, w: number, h: number, radius: number}
 *   | Paint & {op: "circle", x: number, y: number, r: number}
 *   | Paint & {op: "ellipse", x: number, y: number, rx: number, ry: number, rotation: number}
 *   | Paint & {op: "arc", x: number, y: number, r: number, start: number, end: number}
 *   | {op: "line", points: [number, number][], color: string, width: number}
 *   | Paint & {op: "polygon", points: [number, number][]}
 *   | {op: "text", x: number, y: number, text: string, color: string, size: number, font: string,
 *     align: CanvasTextAlign, baseline: CanvasTextBaseline, bold: boolean}
 *   | {op: "image", src: string, x: number, y: number, w: number, h: number,
 *     frame: [number, number, number, number]|null}} DrawCommand
 *   the draw list of mug/rendering/surface.py (its docstring is the format); the renderer skips other ops
 * @typedef {{episode: number, step: number, agent: string, action: unknown, reward: unknown, terminated: boolean,
 *   truncated: boolean, info: unknown, obs_checksum: string|null, episode_seed: number|null, t_ms: number,
 *   frame: number|null, turn_fallback: boolean, match_id?: string|null}} StepRow  mug.server.wire.StepRow
 * @typedef {Uint8ClampedArray<ArrayBuffer>} Pixels  RGBA, row by row, of a RenderPayload of kind "rgb"
 * @typedef {"synchronizing"|"running"|"pause"|"finished"|"done"|"peer_gone"} MatchState  mug.client.match
 * @typedef {{agent: string, yours: boolean, human: boolean, seconds_left: number|null}} TurnInfo
 *   turn-based games: the acting agent (its label, mug/client/agents.py), whether this page plays it, whether
 *   a person does, and the seconds left of a turn time limit (null: none)
 * @typedef {{render: RenderPayload, rows: StepRow[], episode: number, step: number, frame: number,
 *   score: number, episode_done: boolean, scene_done: boolean, state?: MatchState, pause_left?: number,
 *   turn?: TurnInfo|null}} FrameInfo
 *   `state` and `pause_left` in a match only; `turn` in turn-based games
 * @typedef {{state: MatchState, frame: number, input_delay: number|null, stalls: number, stall_ms: number,
 *   desyncs: number[], rtt_ms: Object<string, number|null>, episode: number, away_ms: Object<string, number>,
 *   replayed: number, pacing: PacingStatus}} MatchStatus  `away_ms`: peers away now, for how long
 * @typedef {{adaptive: boolean, local_delay: number|null, max_delay: number, raises: number, lowers: number, paced_ms: number,
 *   shifts: number, slack_ms: Object<string, number|null>, their_slack_ms: Object<string, number|null>}}
 *   PacingStatus  adaptive input delay (mug/client/lockstep/pacing.py): this page's own delay now and at most,
 *   its changes, the time added to frames to keep pace, and per peer a low slack both ways (ms)
 * @typedef {{kind: "ready", input_delay: number, rejoin: boolean} | {kind: "stalled", frame: number, waiting_for: number[]}
 *   | {kind: "peer_away", peer: string, frame: number, grace_ms: number}
 *   | {kind: "peer_back", peer: string, away_ms: number, rejoined: boolean}
 *   | {kind: "replayed", frames: number, frame: number}
 *   | {kind: "desync", frame: number, peer: string} | {kind: "episode_done", episode: number, score: number,
 *   steps: number} | {kind: "finished", frame: number} | {kind: "done"}
 *   | {kind: "peer_gone", peer: string, last_confirmed_frame: number}} MatchEvent
 * @typedef {{protocol: number, indexURL: string, lockFileURL: string, packages: string[], onnxruntime?: string|null}} InitArgs
 *   `onnxruntime`: the vendored onnxruntime-web module's URL (mug/bundle/onnxruntime.py), or null
 * @typedef {Record<string, never>} NoArgs
 * @typedef {{
 *   init: {args: InitArgs, value: {load_ms: number, protocol: number}},
 *   start: {args: {scene: GameSpec, seed: number, first_episode: number}, value: {episode: number}},
 *   next_episode: {args: NoArgs, value: {episode: number}},
 *   stop: {args: NoArgs, value: NoArgs},
 *   start_match: {args: {scene: GameSpec, match: MatchStart}, value: NoArgs},
 *   run_match: {args: NoArgs, value: NoArgs},
 *   peer_left: {args: {peer: string}, value: NoArgs},
 * }} WorkerMethods  every call: its args and the value of its ok reply
 * @typedef {keyof WorkerMethods} MethodName
 * @typedef {{[M in MethodName]: {type: "call", id: number, method: M, args: WorkerMethods[M]["args"]}}[MethodName]}
 *   CallMsg
 * @typedef {{type: "net", peer: string, data: ArrayBuffer, reliable?: boolean}} NetMsg  either way: bytes
 *   from or for peer `peer` (`reliable`, worker -> page: over the peer's reliable channel)
 * @typedef {{type: "pointer", x: number, y: number, width: number, height: number}} PointerMsg
 * @typedef {CallMsg | {type: "key", key: string, down: boolean} | PointerMsg | {type: "visibility", hidden: boolean}
 *   | NetMsg} ToWorker
 * @typedef {{type: "reply", id: number, ok: true, value: unknown}
 *   | {type: "reply", id: number, ok: false, error: WorkerError}} ReplyMsg
 *   `value` is the call's WorkerMethods[method]["value"]
 * @typedef {{type: "progress", stage: "runtime"|"packages"|"imports"|"ready", percent: number}
 *   | {type: "ready", load_ms: number}
 *   | {type: "frame", frame: FrameInfo, pixels: Pixels|null}
 *   | {type: "error", error: WorkerError}
 *   | NetMsg
 *   | {type: "match", events: MatchEvent[], status: MatchStatus|null}} Unsolicited
 * @typedef {Unsolicited["type"]} UnsolicitedType
 * @typedef {ReplyMsg | Unsolicited} FromWorker
 */

/**
 * What the participant reads when the page and its worker are of different protocol versions: the browser
 * holds a stale copy of some of the game files.
 * @param {unknown} workerVersion
 * @param {unknown} pageVersion
 */
export function staleFilesMessage(workerVersion, pageVersion) {
  return (
    `The game files in this browser are out of date (game worker protocol ${String(workerVersion)}, page ` +
    `protocol ${String(pageVersion)}). Please reload the page; if this message comes back, clear the browser's ` +
    "cache for this site and reload."
  );
}

/**
 * A worker call failed: thrown by the worker's method, sent back as data (a WorkerError), and thrown again on
 * the page by the call's promise.
 */
export class WorkerCallError extends Error {
  /** @param {WorkerError} error */
  constructor(error) {
    super(error.message);
    this.name = "WorkerCallError";
    this.where = error.where;
    this.type = error.type;
    this.traceback = error.traceback || "";
  }

  /** @returns {WorkerError} the error as data, for a reply */
  toData() {
    /** @type {WorkerError} */
    const data = { message: this.message, where: this.where, traceback: this.traceback };
    if (this.type !== undefined) data.type = this.type;
    return data;
  }
}

/** The page's side: calls with promises, and handlers for the worker's unsolicited messages. */
export class WorkerClient {
  /** @param {Worker} worker */
  constructor(worker) {
    this.worker = worker;
    this.nextId = 1;
    /** @type {Map<number, {resolve: (value: unknown) => void, reject: (e: Error) => void}>} */
    this.pending = new Map();
    /** @type {Map<UnsolicitedType, Set<(msg: Unsolicited) => void>>} */
    this.handlers = new Map();
    // postMessage data is untyped: the worker (same static tree, same protocol version) posts FromWorker.
    worker.addEventListener("message", (ev) => this.receive(/** @type {FromWorker} */ (ev.data)));
    worker.addEventListener("error", (ev) => {
      ev.preventDefault();
      const error = { message: ev.message || "the game worker failed to start", where: "worker" };
      this.failAll(error);
      this.dispatch({ type: "error", error });
    });
  }

  /**
   * @template {MethodName} M
   * @param {M} method
   * @param {WorkerMethods[M]["args"]} [args] may be left out for a method without arguments
   * @returns {Promise<WorkerMethods[M]["value"]>}
   */
  call(method, args) {
    const id = this.nextId++;
    // The union of calls cannot be built from a generic M; the signature above ties args to the method.
    const msg = /** @type {CallMsg} */ ({ type: "call", id, method, args: args ?? {} });
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve: (value) => resolve(/** @type {WorkerMethods[M]["value"]} */ (value)), reject });
      this.worker.postMessage(msg);
    });
  }

  /**
   * A one-way message (key, pointer, visibility, net).
   * @param {Exclude<ToWorker, CallMsg>} msg
   * @param {Transferable[]} [transfer]
   */
  post(msg, transfer = []) {
    this.worker.postMessage(msg, transfer);
  }

  /**
   * @template {UnsolicitedType} T
   * @param {T} type
   * @param {(msg: Extract<Unsolicited, {type: T}>) => void} handler
   * @returns {() => void} removes the handler
   */
  on(type, handler) {
    // Stored by type and called only with messages of that type (dispatch), so the wider signature is safe.
    const fn = /** @type {(msg: Unsolicited) => void} */ (handler);
    let set = this.handlers.get(type);
    if (!set) this.handlers.set(type, (set = new Set()));
    set.add(fn);
    return () => {
      this.handlers.get(type)?.delete(fn);
    };
  }

  /** @param {FromWorker} msg */
  receive(msg) {
    if (msg.type === "reply") {
      const waiter = this.pending.get(msg.id);
      if (!waiter) return;
      this.pending.delete(msg.id);
      if (msg.ok) waiter.resolve(msg.value);
      else waiter.reject(new WorkerCallError(msg.error));
      return;
    }
    this.dispatch(msg);
  }

  /** @param {Unsolicited} msg */
  dispatch(msg) {
    for (const handler of this.handlers.get(msg.type) || []) handler(msg);
  }

  /** @param {WorkerError} error */
  failAll(error) {
    for (const waiter of this.pending.values()) waiter.reject(new WorkerCallError(error));
    this.pending.clear();
  }
}
