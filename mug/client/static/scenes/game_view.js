// @ts-check
// The page of a game scene, shared by the single-player scene (game.js) and the multiplayer one (match.js):
// layout, the runtime's progress bar, the score's format.

import { h, show } from "../dom.js";
import { Renderer } from "../renderer.js";

/** @typedef {import("../wire.js").GameSpec} GameSpec */
/** @typedef {import("../worker_protocol.js").TurnInfo} TurnInfo */

/**
 * The game page: title, instructions, HUD, canvas and a panel for messages and buttons. `assetsReady`
 * resolves once the scene's images are loaded (await it before the game starts: the first frame draws them).
 * @param {GameSpec} scene
 * @param {HTMLElement} root
 */
export function gameLayout(scene, root) {
  const canvas = /** @type {HTMLCanvasElement} */ (h("canvas", {
    class: "mug-canvas", width: scene.canvas_width, height: scene.canvas_height, "data-testid": "mug-canvas",
  }));
  const score = h("span", { class: "mug-score", "data-testid": "mug-score", text: "0" });
  const episodeText = h("span", { class: "mug-episode", text: `${scene.num_episodes} episodes` });
  const stepText = h("span", { class: "mug-step", text: "0" });
  const hud = h("div", { class: "mug-hud" },
    scene.show_score ? h("span", {}, "Score ", score) : null, episodeText, h("span", {}, "Step ", stepText));
  const panel = h("div", { class: "mug-panel", "data-testid": "mug-panel" });
  // Turn-based games: whose turn it is (empty otherwise).
  const turn = h("p", { class: "mug-turn", "data-testid": "mug-turn", "aria-live": "polite" });
  show(root, h("article", { class: "mug-scene mug-game" },
    scene.title ? h("h1", { text: scene.title }) : null,
    h("div", { class: "mug-body", html: scene.instructions_html }),
    hud, turn, h("div", { class: "mug-stage" }, canvas), panel));
  const renderer = new Renderer(canvas);
  const assetsReady = renderer.preload(scene.assets || {});
  return { canvas, renderer, score, episodeText, stepText, turn, panel, assetsReady };
}

/**
 * Shows whose turn it is: "Your turn" or "Waiting for <agent>", with the seconds left under a time limit.
 * @param {HTMLElement} el
 * @param {TurnInfo|null|undefined} turn
 */
export function showTurn(el, turn) {
  let text = "";
  if (turn) {
    const who = /^-?[0-9]+$/.test(turn.agent) ? `player ${turn.agent}` : turn.agent;
    text = turn.yours ? "Your turn" : `Waiting for ${who}${turn.human ? "" : " (computer)"}`;
    if (turn.yours && turn.seconds_left !== null) text += ` (${Math.ceil(turn.seconds_left)} s left)`;
  }
  if (el.textContent !== text) el.textContent = text;
  el.dataset.yours = turn && turn.yours ? "true" : "false";
}

/**
 * Waits for the runtime, with a progress bar in `panel` only if it is not ready yet.
 * @param {HTMLElement} panel
 * @param {import("../runtime.js").Runtime} runtime
 * @param {import("../status.js").Status} status
 */
export async function waitForRuntime(panel, runtime, status) {
  if (status.runtime.ready) return;
  const bar = h("progress", { max: 100, value: runtime.percent });
  const label = h("span", { text: `Loading the game... ${runtime.percent}%` });
  panel.replaceChildren(h("div", { class: "mug-progress", "data-testid": "mug-progress" }, label, bar));
  const off = runtime.onProgress((p) => {
    /** @type {HTMLProgressElement} */ (bar).value = p;
    label.textContent = `Loading the game... ${p}%`;
  });
  try {
    await runtime.ready;
  } finally {
    off();
    panel.replaceChildren();
  }
}

/** @param {number} value */
export function formatScore(value) {
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}
