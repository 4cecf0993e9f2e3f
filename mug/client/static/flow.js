// @ts-check
// The scene flow: start the runtime, say hello, show each scene, advance, until the end scene.

import { io } from "./vendor/socket.io.esm.min.js";
import { message, show, h } from "./dom.js";
import { Connection, WireError } from "./wire.js";
import { Outbox } from "./outbox.js";
/** @typedef {import("./runtime.js").Runtime} Runtime */
/** @typedef {import("./status.js").Status} Status */
import { staticScene } from "./scenes/static.js";
import { gameScene } from "./scenes/game.js";
import { endScene } from "./scenes/end.js";

/**
 * @typedef {{title: string, socketPath: string, static: string,
 *   bundle: import("./runtime.js").BundleConfig|null}} PageConfig
 * @typedef {import("./wire.js").SceneSpec} SceneSpec
 * @typedef {{root: HTMLElement, conn: Connection, outbox: Outbox, runtime: Runtime, status: Status,
 *   report: (kind: string, data: Object<string, any>) => void,
 *   advance: (sceneId: string, answers: Object<string, any>, decline?: boolean) => Promise<SceneSpec>,
 *   fail: (err: unknown, where: string) => void}} Context
 */

/**
 * Shows one scene until the participant leaves it.
 * @param {SceneSpec} scene
 * @param {Context} ctx
 * @param {import("./wire.js").Resume} resume
 * @returns {Promise<SceneSpec>} the next scene
 */
function showScene(scene, ctx, resume) {
  if (scene.kind === "static") return staticScene(scene, ctx);
  if (scene.kind === "game") return gameScene(scene, ctx, resume);
  return endScene(scene, ctx);
}
const MAX_PARAM_CHARS = 1000;
const MAX_PARAMS = 50;

/**
 * @param {PageConfig} config
 * @param {Runtime} runtime the Python runtime, already loading (see main.js)
 * @param {Status} status
 */
export async function run(config, runtime, status) {
  const root = /** @type {HTMLElement} */ (document.getElementById("mug-root"));
  // The study link (path and URL parameters) names the participant in this browser: a refresh of the same
  // link resumes, a second tab of it is refused, and a link with other parameters (another PROLIFIC_PID, or
  // ?player=2 to try a multiplayer scene from two tabs) is another participant.
  const keyBase = `${location.pathname}|${config.title}|${sortedQuery()}`;
  const tokenKey = `mug:token:${keyBase}`;
  /** @type {(ack: import("./wire.js").HelloAck) => void} */
  let gotHello = () => {};
  /** @type {Promise<import("./wire.js").HelloAck>} */
  const firstHello = new Promise((resolve) => (gotHello = resolve));
  let helloCount = 0;

  /** @type {import("./wire.js").PageSocket} */
  const socket = io({ path: config.socketPath, autoConnect: false, reconnectionDelayMax: 5000 });
  const conn = new Connection(socket, async (c) => {
    // A page playing a match names it, so the server knows this is the same page back (a dropped connection,
    // a restarted server), not a reloaded one that left the match.
    const playing = status.match && !["ended", "failed", "peer_gone"].includes(status.match.state);
    const hello = { token: localStorage.getItem(tokenKey), tab: tabId(), params: urlParams(),
                    match_id: playing && status.match ? status.match.id : null, client: clientHints() };
    let ack;
    try {
      try {
        ack = await c.send("hello", hello, 10000);
      } catch (err) {
        if (!(err instanceof WireError) || err.code !== "unknown_token") throw err;
        localStorage.removeItem(tokenKey); // a token from another deployment or a wiped database: start anew
        ack = await c.send("hello", { ...hello, token: null }, 10000);
      }
    } catch (err) {
      if (err instanceof WireError && err.code === "second_tab") blocked("second_tab");
      else {
        socket.disconnect(); // no answer (or a refusal): reconnect in a moment and say hello again
        setTimeout(() => socket.connect(), 2000);
      }
      throw err;
    }
    localStorage.setItem(tokenKey, ack.token);
    if (helloCount++ === 0) gotHello(ack);
    else if (status.sceneId !== null && ack.scene.id !== status.sceneId) location.reload(); // moved on elsewhere
    outbox.pump();
  });
  const outbox = new Outbox(`mug:outbox:${keyBase}`, conn, (kind, data) => report(kind, data));
  status.outbox = outbox;
  /** @type {Window & {mug?: {status: () => import("./status.js").StatusSnapshot}}} */ (window).mug = {
    status: () => status.snapshot(),
  };

  /** @param {string} kind @param {Object<string, any>} data */
  function report(kind, data) {
    conn.request("event", { scene_id: status.sceneId, kind, data }, { retries: 3 }).catch((err) =>
      console.warn("mug: event not stored", kind, err),
    );
  }

  /** @param {"second_tab"} phase */
  function blocked(phase) {
    status.setPhase(phase);
    message(root, "Already open", "This study is already open in another tab or window. Please continue there.");
    socket.disconnect();
    runtime.terminate();
  }

  /** @param {unknown} err @param {string} where */
  function fail(err, where) {
    const text = err instanceof Error ? err.message : String(/** @type {any} */ (err)?.message ?? err);
    status.setPhase("error");
    show(root, h("section", { class: "mug-message", role: "alert" },
      h("h1", { text: "Something went wrong" }),
      h("p", { text: "The study cannot continue in this window. Please tell the researcher what happened:" }),
      h("pre", { class: "mug-error-detail", text: text })));
    report("client_error", { message: text.slice(0, 2000), where });
  }

  socket.on("mug_kicked", () => blocked("second_tab"));
  // an outcome set from outside (the admin view excluded this participant): the hello after a reload shows it
  socket.on("mug_outcome", () => location.reload());
  socket.on("mug_ping", (p, ack) => ack(p)); // the server times these to screen a newcomer's round trip
  socket.on("mug_error", (e) => console.warn("mug: server error", e));
  document.addEventListener("visibilitychange", () => {
    if (runtime.client) runtime.client.post({ type: "visibility", hidden: document.hidden });
    report("visibility", { hidden: document.hidden });
  });
  runtime.ready.then(
    ({ load_ms }) => report("runtime_ready", { load_ms }),
    (err) => config.bundle && report("client_error", { message: String(err?.message ?? err), where: "runtime" }),
  );

  show(root, h("p", { class: "mug-loading", text: "Loading the study..." }));
  conn.connect();
  const ack = await firstHello;
  status.sceneId = ack.scene.id;
  if (!config.bundle) return fail(new Error("The game files are missing on the server, so the game cannot load."), "bundle");

  /** @type {Context} */
  const ctx = {
    root, conn, outbox, runtime, status, report, fail,
    async advance(sceneId, answers, decline = false) {
      try {
        const message = decline ? { scene_id: sceneId, answers, decline } : { scene_id: sceneId, answers };
        const next = await conn.request("advance", message);
        return next.scene;
      } catch (err) {
        // A retried advance whose first try got through: the server is a scene ahead. Start over from it.
        if (err instanceof WireError && err.code === "wrong_scene") location.reload();
        throw err;
      }
    },
  };
  /** @type {SceneSpec} */
  let scene = ack.scene;
  let resume = ack.resume || {};
  for (;;) {
    status.sceneId = scene.id;
    status.episode = null;
    try {
      scene = await showScene(scene, ctx, resume);
    } catch (err) {
      return fail(err, scene.kind);
    }
    resume = {};
  }
}

/**
 * What the browser says of itself beyond the User-Agent (Chromium's `navigator.userAgentData`), and whether
 * it can connect to peers (WebRTC); the server decides with it and the headers (mug/server/entry.py,
 * mug/server/multiplayer.py: a browser without WebRTC is kept out of multiplayer lobbies).
 * @returns {{mobile: boolean|null, platform: string|null, webrtc: boolean}}
 */
function clientHints() {
  const data = /** @type {{mobile?: boolean, platform?: string}|undefined} */ (
    /** @type {any} */ (navigator).userAgentData);
  const webrtc = typeof globalThis.RTCPeerConnection === "function";
  return { mobile: data?.mobile ?? null, platform: data?.platform ? data.platform.slice(0, 200) : null, webrtc };
}

/** The tab's id: kept in sessionStorage, so a refresh is the same tab and a second tab is not. */
function tabId() {
  let id = sessionStorage.getItem("mug:tab");
  if (!id) {
    id = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("");
    sessionStorage.setItem("mug:tab", id);
  }
  return id;
}

/** Every URL parameter (PROLIFIC_PID, STUDY_ID, SESSION_ID, ...), within the server's limits. */
function urlParams() {
  /** @type {Object<string, string>} */
  const params = {};
  for (const [k, v] of new URLSearchParams(location.search)) {
    if (Object.keys(params).length >= MAX_PARAMS) break;
    params[k.slice(0, 200)] = v.slice(0, MAX_PARAM_CHARS);
  }
  return params;
}

/** The page's URL parameters in a fixed order (so the same link always gives the same storage key). */
function sortedQuery() {
  const params = [...new URLSearchParams(location.search).entries()];
  params.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return new URLSearchParams(params).toString();
}
