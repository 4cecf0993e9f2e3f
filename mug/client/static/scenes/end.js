// @ts-check
// The end scene: thanks, the completion code, and an optional redirect (e.g. back to Prolific).

import { h, show } from "../dom.js";

/** @typedef {import("../wire.js").EndSpec} EndSpec */
/** @typedef {import("../flow.js").Context} Context */

/**
 * @param {EndSpec} scene
 * @param {Context} ctx
 * @returns {Promise<never>} never resolves: this is the last page
 */
export function endScene(scene, ctx) {
  ctx.status.setPhase("end");
  const redirect = scene.redirect
    ? h("p", { class: "mug-redirect" },
      `You will be taken back in ${Math.round(scene.redirect_delay_s)} seconds. If nothing happens, `,
      h("a", { href: scene.redirect, "data-testid": "mug-redirect-link", text: "continue here" }), ".")
    : null;
  show(ctx.root, h("article", { class: "mug-scene mug-end" },
    scene.title ? h("h1", { text: scene.title }) : null,
    h("div", { class: "mug-body", html: scene.body_html }),
    // an outcome may give no code (e.g. to a participant who left a match)
    scene.completion_code ? h("p", { class: "mug-code-label", text: "Your completion code:" }) : null,
    scene.completion_code
      ? h("p", { class: "mug-completion-code", "data-testid": "mug-completion-code", text: scene.completion_code })
      : null,
    redirect));
  if (scene.redirect) {
    const url = scene.redirect;
    setTimeout(() => location.assign(url), scene.redirect_delay_s * 1000);
  }
  return new Promise(() => {});
}
