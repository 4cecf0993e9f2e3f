// @ts-check
// The lobby of a multiplayer game scene: join, show who is waiting, and end with a match or another scene.
//
// Server events used (mug/server/wire.py): `lobby_waiting` {scene_id, waiting, position, needed},
// `match_start` {match_id, scene_id, seed, slot, members, agents, ice, input_delay}, `lobby_timeout`
// {scene_id, waited_s, outcome, scene}. With outcome "ai" the server sends a match_start instead.
// A browser without WebRTC is kept out: the join's ack carries its outcome page, or a match_start with AI
// partners follows at once.

import { h } from "../dom.js";

/**
 * @typedef {import("../wire.js").MatchStart} MatchStart
 * @typedef {import("../wire.js").SignalRelay} SignalRelay
 * @typedef {{start: MatchStart, signals: SignalRelay[]}|{scene: import("../wire.js").SceneSpec}} LobbyResult
 *   `signals`: signaling messages of this match that arrived with the match_start (handled by the caller)
 */

/**
 * Joins the scene's lobby and waits.
 * @param {import("../wire.js").GameSpec} scene
 * @param {import("../flow.js").Context} ctx
 * @param {HTMLElement} panel
 * @returns {Promise<LobbyResult>}
 */
export function waitForMatch(scene, ctx, panel) {
  const socket = ctx.conn.socket;
  const needed = Object.values(scene.agents).filter((c) => c === "human").length;
  const text = h("p", { class: "mug-lobby", "data-testid": "mug-lobby", text: "" });
  panel.replaceChildren(text);
  /** @param {number} k */
  const say = (k) => (text.textContent = `Waiting for other participants (${k} of ${needed})...`);
  say(1);
  ctx.status.setPhase("lobby");
  /** @type {SignalRelay[]} */
  const signals = [];
  return new Promise((resolve, reject) => {
    /** @param {import("../wire.js").LobbyWaiting} m */
    const onWaiting = (m) => m.scene_id === scene.id && say(m.waiting);
    /** @param {MatchStart} m */
    const onStart = (m) => m.scene_id === scene.id && done({ start: m, signals });
    /** @param {import("../wire.js").LobbyTimeout} m */
    const onTimeout = (m) => m.scene_id === scene.id && done({ scene: m.scene });
    /** @param {SignalRelay} m */
    const onSignal = (m) => signals.push(m);
    // A new connection (the old one dropped) took us out of the lobby on the server: join again.
    const rejoin = () => join().catch(() => {});
    const listen = () => {
      socket.on("lobby_waiting", onWaiting).on("match_start", onStart).on("lobby_timeout", onTimeout)
        .on("signal", onSignal).on("connect", rejoin);
    };
    const unlisten = () => {
      socket.off("lobby_waiting", onWaiting).off("match_start", onStart).off("lobby_timeout", onTimeout)
        .off("signal", onSignal).off("connect", rejoin);
    };
    /** @param {LobbyResult} result */
    const done = (result) => {
      unlisten();
      resolve(result);
    };
    const join = () => ctx.conn.request("lobby_join", { scene_id: scene.id });
    listen();
    join().then((ack) => {
      // a browser without WebRTC never waits: the server ended it on an outcome page (or sent a match_start
      // with AI partners, handled above). With no page in the ack (the outcome did not apply: this participant
      // ended otherwise meanwhile, or moved on), a reload asks the server where they are now.
      if (ack.outcome && ack.scene) done({ scene: ack.scene });
      else if (ack.outcome) {
        unlisten();
        location.reload();
      }
    }, (err) => {
      unlisten();
      reject(err);
    });
  });
}
