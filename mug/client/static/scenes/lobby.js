// @ts-check
// The lobby of a multiplayer game scene: join, show who is waiting, and end with a match or another scene.
//
// Server events used (mug/server/wire.py): `lobby_waiting` {scene_id, waiting, position, needed},
// `match_start` {match_id, scene_id, seed, slot, members, agents, ice, input_delay}, `lobby_timeout`
// {scene_id, waited_s, outcome, scene}. With outcome "ai" the server sends a match_start instead.

import { h } from "../dom.js";

/**
 * @typedef {import("../wire.js").MatchStart} MatchStart
 * @typedef {{start: MatchStart, signals: any[]}|{scene: import("../wire.js").SceneSpec}} LobbyResult
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
  /** @type {any[]} */
  const signals = [];
  return new Promise((resolve, reject) => {
    const handlers = {
      lobby_waiting: (/** @type {any} */ m) => m.scene_id === scene.id && say(m.waiting),
      match_start: (/** @type {MatchStart} */ m) => m.scene_id === scene.id && done({ start: m, signals }),
      lobby_timeout: (/** @type {any} */ m) => m.scene_id === scene.id && done({ scene: m.scene }),
      signal: (/** @type {any} */ m) => signals.push(m),
    };
    // A new connection (the old one dropped) took us out of the lobby on the server: join again.
    const rejoin = () => join().catch(() => {});
    /** @param {LobbyResult} result */
    const done = (result) => {
      for (const [name, fn] of Object.entries(handlers)) socket.off(name, fn);
      socket.off("connect", rejoin);
      resolve(result);
    };
    for (const [name, fn] of Object.entries(handlers)) socket.on(name, fn);
    const join = () => ctx.conn.request("lobby_join", { scene_id: scene.id });
    socket.on("connect", rejoin);
    join().catch((err) => {
      for (const [name, fn] of Object.entries(handlers)) socket.off(name, fn);
      socket.off("connect", rejoin);
      reject(err);
    });
  });
}
