// @ts-check
// The server <-> page protocol (mug/server/wire.py, version 1) and a Connection that speaks it.

/**
 * @typedef {{ok: false, error: {code: string, message: string} & Object<string, unknown>}} AckError
 *   `error` may carry more for the page to act on, e.g. `wrong_answers` {wrong: [question id], attempt,
 *   attempts_left: number|null}
 * @typedef {{id: string, kind: "static", title: string, body_html: string, button_label: string,
 *   questions: Question[], consent?: boolean, decline_label?: string}} StaticSpec
 * @typedef {{id: string, prompt: string, kind: "text"|"choice"|"scale"|"number"|"likert"|"multi"|"slider",
 *   options: string[], scale_min: number, scale_max: number, anchors: string[], min_selected: number,
 *   max_selected: number|null, slider_min: number, slider_max: number, slider_step: number, slider_start: number,
 *   required: boolean, check: boolean}} Question  `check`: a comprehension check (the server knows its answer)
 * @typedef {{id: string, kind: "game", title: string, instructions_html: string, env: string,
 *   env_kwargs: Object<string, unknown>, agents: Object<string, "human"|PolicySpec|OnnxSpec>,
 *   key_bindings: Object<string, unknown>, default_action: unknown, input_mode: "held"|"press", fps: number,
 *   num_episodes: number, max_steps: number|null, canvas_width: number, canvas_height: number,
 *   show_score: boolean, seed: number, connect_timeout_s: number, reconnect_grace_s: number,
 *   inactivity_s?: number|null, inactivity_warning_s?: number, turn?: {time_limit_s: number, fallback: any}|null,
 *   pygame_stub?: boolean, pointer?: PointerSpec|null, assets?: Object<string, string>}} GameSpec
 *   `assets`: the scene's files (mug/server/assets.py), name -> content-versioned URL
 *   `agents` keys are agent labels (mug/client/agents.py: an int id 0 is "0", a str id "0" is '"0"')
 * @typedef {{ref: string, kwargs: Object<string, unknown>, act_every?: number}} PolicySpec  a Python policy
 * @typedef {{kind: "onnx", model: string, sha256: string, input: string|null, output: string, act_every: number}} OnnxSpec
 *   an ONNX policy (mug/client/onnx_policies.py): `model` its file's content-versioned URL
 * @typedef {{kind: "grid", rows: number, cols: number, actions: unknown[]}|{kind: "function", ref: string}} PointerSpec
 *   GameScene.pointer_spec: clicks on the canvas -> actions (mug/client/pointer.py)
 * @typedef {{id: string, kind: "end", title: string, body_html: string, completion_code: string,
 *   redirect: string|null, redirect_delay_s: number}} EndSpec
 * @typedef {StaticSpec|GameSpec|EndSpec} SceneSpec
 * @typedef {{ok: true, token: string, participant: string, scene: SceneSpec, scene_index: number,
 *   scene_count: number, resume: Resume}} HelloAck
 * @typedef {{episode?: number, played?: boolean, match?: MatchStart}} Resume  where the participant stands in
 *   their scene: the next episode; `played` the match of this scene; `match` a running match to rejoin
 *   hello {v, token, tab, params, match_id}
 * @typedef {{ok: true, scene: SceneSpec, scene_index: number}} AdvanceAck
 *   advance {v, scene_id, answers}
 * @typedef {{ok: true, batch: number, stored: number, duplicates: number}} RecordsAck
 *   records {v, scene_id, batch, rows: StepRow[]}
 *   event {v, scene_id, kind, data} -> {ok: true}
 * Unsolicited: `mug_error` {code, message}, `mug_kicked` {reason}, and during a newcomer's hello `mug_ping` {n},
 * which the page acknowledges at once (the server measures the round trip, see mug/server/entry.py).
 *
 * Server -> page events, one typedef per model of `ServerMessage` in mug/server/wire.py (a test checks that
 * the fields agree): `lobby_waiting`, `lobby_timeout`, `match_start`, `match_end`, `signal`, `mug_kicked`,
 * `mug_outcome`.
 * @typedef {{scene_id: string, waiting: number, position: number, needed: number}} LobbyWaiting  `lobby_waiting`
 * @typedef {{urls: string|string[], username?: string, credential?: string}} IceServer
 * @typedef {{iceServers: IceServer[], iceTransportPolicy: "all"|"relay", expiresAt?: number|null}} IceConfig
 *   mug/server/ice.py; `expiresAt` is not an RTCConfiguration field
 * @typedef {{kind: "human", slot: number}|{kind: "policy", ref: string, kwargs: Object<string, unknown>, act_every?: number}
 *   |OnnxSpec} MatchAgent
 * @typedef {{match_id: string, scene_id: string, seed: number, slot: number, members: string[],
 *   agents: Object<string, MatchAgent>, ice: IceConfig, input_delay: "auto"|number, rejoin: boolean}} MatchStart
 *   `match_start`; `rejoin`: the member's page was reloaded mid-match and rejoins it (sent in the hello's resume)
 * @typedef {{scene_id: string, waited_s: number, outcome: "end"|"scene"|"ai", scene: SceneSpec}} LobbyTimeout
 *   `lobby_timeout`
 * @typedef {{kind: "offer"|"answer"|"candidate"|"bye", data: unknown, from: {pid: string, slot: number},
 *   match_id: string}} SignalRelay  `signal` relayed from another member (the server never reads `data`)
 * @typedef {{match_id: string, reason: string, scene: SceneSpec|null}} MatchEnd  `match_end`
 * @typedef {{reason: string}} Kicked  `mug_kicked`
 * @typedef {{outcome: string}} OutcomeSet  `mug_outcome` (an outcome set from outside the page: it reloads)
 * @typedef {{connect: () => void, disconnect: (reason: string) => void,
 *   mug_error: (e: {code: string, message: string}) => void, mug_kicked: (e: Kicked) => void,
 *   mug_outcome: (e: OutcomeSet) => void,
 *   lobby_waiting: (m: LobbyWaiting) => void, match_start: (m: MatchStart) => void,
 *   lobby_timeout: (m: LobbyTimeout) => void, signal: (m: SignalRelay) => void, match_end: (m: MatchEnd) => void,
 *   mug_ping: (p: {n: number}, ack: (reply: {n: number}) => void) => void}}
 *   ServerEvents  every event the page listens to, with its payload
 * @typedef {import("./vendor/socket.io.esm.min.js").Socket<ServerEvents>} PageSocket
 * @typedef {{ok: true}} OkAck
 * @typedef {{ok: true, outcome?: "no_webrtc", scene?: SceneSpec|null}} LobbyJoinAck
 *   `outcome`: a browser without WebRTC was kept out of the lobby and ended on that outcome (its page in `scene`)
 * @typedef {{
 *   hello: {data: {token: string|null, tab: string, params: Object<string, string>, match_id: string|null,
 *     client?: {mobile: boolean|null, platform: string|null, webrtc: boolean}},
 *     ack: HelloAck},
 *   advance: {data: {scene_id: string, answers: Object<string, unknown>, decline?: boolean}, ack: AdvanceAck},
 *   records: {data: {scene_id: string, batch: number, rows: StepRow[]}, ack: RecordsAck},
 *   event: {data: {scene_id: string|null, kind: string, data: Object<string, unknown>}, ack: OkAck},
 *   lobby_join: {data: {scene_id: string}, ack: LobbyJoinAck},
 *   lobby_leave: {data: {scene_id: string}, ack: OkAck},
 *   signal: {data: {to: number, kind: SignalRelay["kind"], data: unknown}, ack: OkAck},
 *   match_report: {data: {match_id: string, kind: MatchReportKind, data: Object<string, unknown>}, ack: OkAck},
 *   inactive: {data: {scene_id: string}, ack: AdvanceAck},
 * }} Requests  every event the page emits: its payload (without `v`) and its ok-true acknowledgement
 * @typedef {keyof Requests} RequestName
 * @typedef {"links"|"summary"|"finished"|"peer_gone"|"pause"|"resumed"|"status"} MatchReportKind
 * @typedef {import("./worker_protocol.js").StepRow} StepRow
 */

export const PROTOCOL_VERSION = 1;

/** The server refused a message; `code` is machine-readable (e.g. "second_tab", "wrong_scene"). */
export class WireError extends Error {
  /** @param {string} code @param {string} message @param {Object<string, unknown>} [details] */
  constructor(code, message, details = {}) {
    super(message);
    this.code = code;
    /** more for the page to act on (e.g. `wrong`: the comprehension checks answered wrong) */
    this.details = details;
  }
}

/** Backoff between retries of an unanswered request: 1 s doubling to 15 s. */
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 15000;

/**
 * A Socket.IO connection that says hello on every (re)connect before anything else is sent, and sends
 * requests with an acknowledgement, a timeout and retries.
 */
export class Connection {
  /**
   * @param {PageSocket} socket a socket.io-client Socket (autoConnect false)
   * @param {(conn: Connection) => Promise<void>} onConnect says hello; requests wait until it resolves
   */
  constructor(socket, onConnect) {
    this.socket = socket;
    this.onConnect = onConnect;
    this.identified = false;
    /** @type {Array<() => void>} */
    this.waiters = [];
    socket.on("connect", async () => {
      this.identified = false;
      try {
        await this.onConnect(this);
        this.identified = true;
        for (const wake of this.waiters.splice(0)) wake();
      } catch (err) {
        console.error("mug: hello failed", err);
      }
    });
    socket.on("disconnect", () => {
      this.identified = false;
    });
  }

  connect() {
    this.socket.connect();
  }

  /** @returns {Promise<void>} resolves once this connection has said hello */
  whenIdentified() {
    if (this.identified && this.socket.connected) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /**
   * Send one message and wait for its acknowledgement once (no retry); hello uses this.
   * @template {RequestName} E
   * @param {E} event
   * @param {Requests[E]["data"]} data
   * @param {number} timeoutMs
   * @returns {Promise<Requests[E]["ack"]>} the ack (ok true); throws WireError for an ok-false ack, Error on timeout
   */
  async send(event, data, timeoutMs) {
    const ack = await this.socket.timeout(timeoutMs).emitWithAck(event, { v: PROTOCOL_VERSION, ...data });
    if (isOk(ack)) return /** @type {Requests[E]["ack"]} the rest of an ok ack is the server's (wire.py) */ (ack);
    const error = isAckError(ack) ? ack.error : { code: "bad_ack", message: "the server sent no answer" };
    throw new WireError(error.code, error.message, error);
  }

  /**
   * Send after hello, retrying (with backoff) until acknowledged; a refusal (WireError) is not retried,
   * except `rate_limited` and `no_hello`. `no_hello`: a message sent as the connection dropped is buffered by
   * socket.io-client and goes out on the new connection before its hello; the server refuses it unread, and
   * it is sent again once the new connection has said hello.
   * @template {RequestName} E
   * @param {E} event
   * @param {Requests[E]["data"]} data
   * @param {{timeoutMs?: number, retries?: number}} [opts]
   * @returns {Promise<Requests[E]["ack"]>}
   */
  async request(event, data, opts = {}) {
    const timeoutMs = opts.timeoutMs ?? 10000;
    const retries = opts.retries ?? Infinity;
    let delay = RETRY_MIN_MS;
    for (let attempt = 0; ; attempt++) {
      await this.whenIdentified();
      try {
        return await this.send(event, data, timeoutMs);
      } catch (err) {
        // refusals the server made without acting on the message: the same message is taken later
        const refused = err instanceof WireError && err.code !== "rate_limited" && err.code !== "no_hello";
        if (refused || attempt >= retries) throw err;
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(RETRY_MAX_MS, delay * 2);
      }
    }
  }
}

/** @param {unknown} ack @returns {ack is {ok: true}} */
function isOk(ack) {
  return typeof ack === "object" && ack !== null && "ok" in ack && ack.ok === true;
}

/** @param {unknown} ack @returns {ack is AckError} */
function isAckError(ack) {
  if (typeof ack !== "object" || ack === null || !("error" in ack)) return false;
  const error = ack.error;
  return typeof error === "object" && error !== null && "code" in error && typeof error.code === "string"
    && "message" in error && typeof error.message === "string";
}
