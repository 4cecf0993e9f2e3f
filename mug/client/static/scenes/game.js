// @ts-check
// A game scene: instructions, the canvas, a start button; episodes played by the worker; rows to the outbox.

import { h } from "../dom.js";
import { Keyboard, Pointer } from "../input.js";
import { reportInactive, watchInactivity } from "../inactivity.js";
import { formatScore, gameLayout, showTurn, waitForRuntime } from "./game_view.js";
import { matchScene } from "./match.js";

/** @typedef {import("../wire.js").GameSpec} GameSpec */
/** @typedef {import("../wire.js").SceneSpec} SceneSpec */
/** @typedef {import("../flow.js").Context} Context */
/** @typedef {import("../worker_protocol.js").FrameInfo} FrameInfo */
/** @typedef {import("../worker_protocol.js").TurnInfo} TurnInfo */
/** @typedef {import("../renderer.js").Renderer} Renderer */

/**
 * @param {GameSpec} scene
 * @param {Context} ctx
 * @param {import("../wire.js").Resume} resume the server's resume point (next episode to play;
 *   `played`: the match of this multiplayer scene was played to its end already)
 * @returns {Promise<SceneSpec>} the next scene
 */
export async function gameScene(scene, ctx, resume) {
  if (isMultiplayer(scene)) return matchScene(scene, ctx, resume);
  const { status, runtime, outbox } = ctx;
  status.setPhase("game");
  const { renderer, score, episodeText, stepText, turn, panel, assetsReady } = gameLayout(scene, ctx.root);
  await waitForRuntime(panel, runtime, status);
  await assetsReady;
  await pressContinue(panel, "Start", "Press Start when you are ready.", false);

  // Rows still in the outbox count as played: they reach the server before this scene's new rows.
  const first = Math.max(resume.episode ?? 0, outbox.lastEpisode(scene.id) + 1);
  let ended = "played";
  if (first < scene.num_episodes) {
    ended = await play(scene, ctx, renderer, first, { score, episodeText, stepText, turn, panel });
  }
  status.setPhase("saving");
  panel.replaceChildren(h("p", { class: "mug-saving", text: "Saving your game..." }));
  await outbox.flush();
  if (ended === "inactive") {
    // the warning went unanswered: the server ends this participant on the scene's `inactive` outcome page
    return reportInactive(ctx.conn, scene.id);
  }
  return ctx.advance(scene.id, {});
}

/** @param {GameSpec} scene @returns {boolean} whether several participants play it together */
export function isMultiplayer(scene) {
  return Object.values(scene.agents || {}).filter((c) => c === "human").length > 1;
}

/**
 * Plays episodes `first`..num_episodes-1.
 * @param {GameSpec} scene
 * @param {Context} ctx
 * @param {Renderer} renderer
 * @param {number} first
 * @param {{score: HTMLElement, episodeText: HTMLElement, stepText: HTMLElement, turn: HTMLElement,
 *   panel: HTMLElement}} ui
 * @returns {Promise<"played"|"inactive">} every episode played, or the inactivity warning went unanswered
 */
async function play(scene, ctx, renderer, first, ui) {
  const { status, outbox, runtime } = ctx;
  const worker = runtime.worker;
  const keyboard = new Keyboard(worker, [...Object.keys(scene.key_bindings), " "]);
  const pointer = scene.pointer ? new Pointer(worker, renderer.canvas, () => renderer.surface()) : null;
  /** @type {(frame: FrameInfo) => void} */
  let episodeOver = () => {};
  /** @type {(err: import("../worker_protocol.js").WorkerError) => void} */
  let crashed = () => {};
  const offFrame = worker.on("frame", (msg) => {
    const f = msg.frame;
    renderer.draw(f.render, msg.pixels);
    outbox.add(scene.id, f.rows);
    status.episode = f.episode;
    status.frame = f.frame;
    ui.score.textContent = formatScore(f.score);
    ui.stepText.textContent = String(f.step);
    ui.episodeText.textContent = `Episode ${f.episode + 1} of ${scene.num_episodes}`;
    showTurn(ui.turn, f.turn);
    watch?.waiting(!!f.turn && !f.turn.yours); // another player's move (a policy's): not inactivity
    if (f.episode_done) episodeOver(f);
  });
  const offError = worker.on("error", (msg) => crashed(msg.error));
  const watch = watchInactivity(scene, ctx);
  /** @type {Promise<"inactive">} never resolves without a watcher */
  const inactive = watch ? watch.fired.then(() => /** @type {"inactive"} */ ("inactive")) : new Promise(() => {});
  try {
    let episode = first;
    for (;;) {
      const done = new Promise((resolve, reject) => {
        episodeOver = resolve;
        crashed = (e) => reject(Object.assign(new Error(e.message), { where: e.where }));
      });
      ui.panel.replaceChildren();
      status.setPhase("playing");
      ctx.report("episode_start", { episode, seed: scene.seed });
      if (episode === first) await worker.call("start", { scene, seed: scene.seed, first_episode: first });
      else await worker.call("next_episode");
      const last = await Promise.race([done, inactive]);
      if (last === "inactive") return "inactive";
      ctx.report("episode_end", { episode, score: last.score, steps: last.step });
      outbox.cut(); // an episode's rows go out as soon as it ends
      if (last.scene_done) break;
      status.setPhase("between_episodes");
      const next = await Promise.race([inactive, pressContinue(ui.panel, "Continue",
        `Episode ${episode + 1} of ${scene.num_episodes} done. Press Space or the button to continue.`, true)]);
      if (next === "inactive") return "inactive";
      episode += 1;
    }
    return "played";
  } finally {
    watch?.stop();
    offFrame();
    offError();
    keyboard.detach();
    if (pointer) pointer.detach();
    await worker.call("stop").catch(() => {});
  }
}

/**
 * Shows a text and a continue button; resolves when it is clicked (or Space is pressed, if allowed).
 * @param {HTMLElement} panel
 * @param {string} label
 * @param {string} text
 * @param {boolean} space
 */
function pressContinue(panel, label, text, space) {
  return new Promise((resolve) => {
    const button = h("button", { class: "mug-button", "data-testid": "mug-continue", text: label });
    const onKey = (/** @type {KeyboardEvent} */ ev) => {
      if (ev.key === " " && !ev.repeat) {
        ev.preventDefault();
        finish();
      }
    };
    const finish = () => {
      if (space) window.removeEventListener("keydown", onKey);
      button.remove();
      resolve(undefined);
    };
    button.addEventListener("click", finish, { once: true });
    if (space) window.addEventListener("keydown", onKey);
    panel.replaceChildren(h("p", { class: "mug-between", text }), button);
    button.focus();
  });
}
