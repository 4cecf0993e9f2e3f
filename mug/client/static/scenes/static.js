// @ts-check
// A static scene: title, body, optional survey questions, a continue button.

import { h, show } from "../dom.js";
import { WireError } from "../wire.js";

/** @typedef {import("../wire.js").StaticSpec} StaticSpec */
/** @typedef {import("../wire.js").Question} Question */
/** @typedef {import("../wire.js").SceneSpec} SceneSpec */
/** @typedef {import("../flow.js").Context} Context */
/** @typedef {string|number|null} Answer  null when not answered */

/**
 * @param {StaticSpec} scene
 * @param {Context} ctx
 * @returns {Promise<SceneSpec>} the next scene
 */
export async function staticScene(scene, ctx) {
  ctx.status.setPhase("static");
  const fields = scene.questions.map(questionField);
  const error = h("p", { class: "mug-form-error", role: "alert", hidden: true });
  const button = /** @type {HTMLButtonElement} */ (
    h("button", { type: "submit", class: "mug-button", "data-testid": "mug-continue", text: scene.button_label })
  );
  // a consent page also offers to decline: the server ends the study on the scene's `declined` outcome page
  const decline = scene.consent
    ? /** @type {HTMLButtonElement} */ (h("button", { type: "button", class: "mug-button mug-decline",
      "data-testid": "mug-decline", text: scene.decline_label || "I do not agree" }))
    : null;
  const form = /** @type {HTMLFormElement} */ (
    h("form", { class: "mug-questions", novalidate: true }, ...fields.map((f) => f.el), error, button, decline)
  );
  show(ctx.root, h("article", { class: "mug-scene mug-static" },
    scene.title ? h("h1", { text: scene.title }) : null,
    h("div", { class: "mug-body", html: scene.body_html }),
    form));

  for (;;) {
    // preventDefault in the listener itself: later (after an await) would be too late for a submit that a
    // script started, and the browser would navigate away.
    const choice = await new Promise((resolve) => {
      form.addEventListener("submit", (ev) => {
        ev.preventDefault();
        resolve("agree");
      }, { once: true });
      decline?.addEventListener("click", () => resolve("decline"), { once: true });
    });
    if (choice === "decline" && decline) {
      decline.disabled = button.disabled = true;
      return await ctx.advance(scene.id, {}, true);
    }
    const missing = fields.filter((f) => !f.check());
    if (missing.length) {
      error.textContent = "Please answer the questions marked in red.";
      error.hidden = false;
      missing[0].el.scrollIntoView({ block: "center" });
      continue;
    }
    error.hidden = true;
    button.disabled = true;
    /** @type {Object<string, Answer>} */
    const answers = {};
    for (const f of fields) answers[f.id] = f.value();
    try {
      return await ctx.advance(scene.id, answers);
    } catch (err) {
      if (!(err instanceof WireError) || err.code !== "bad_answers") throw err;
      error.textContent = err.message; // the server's check names the question
      error.hidden = false;
      button.disabled = false;
    }
  }
}

/**
 * @param {Question} q
 * @returns {{id: string, el: HTMLElement, value: () => Answer, check: () => boolean}}
 */
function questionField(q) {
  const name = `q-${q.id}`;
  /** @type {HTMLElement} */
  let input;
  /** @type {() => Answer} */
  let value;
  if (q.kind === "choice" || q.kind === "scale") {
    const options = q.kind === "choice"
      ? q.options
      : Array.from({ length: q.scale_max - q.scale_min + 1 }, (_, i) => String(q.scale_min + i));
    input = h("div", { class: `mug-options mug-${q.kind}`, role: "radiogroup" },
      ...options.map((opt) => h("label", { class: "mug-option" },
        h("input", { type: "radio", name, value: opt, "data-testid": `${name}-${opt}` }), h("span", { text: opt }))));
    value = () => {
      const checked = /** @type {HTMLInputElement|null} */ (input.querySelector("input:checked"));
      if (!checked) return null;
      return q.kind === "scale" ? Number(checked.value) : checked.value;
    };
  } else {
    input = q.kind === "text"
      ? h("textarea", { name, rows: 3, maxlength: 10000, "data-testid": name })
      : h("input", { type: "number", name, step: "any", "data-testid": name });
    value = () => {
      const text = /** @type {HTMLInputElement} */ (input).value.trim();
      if (text === "") return null;
      return q.kind === "number" ? Number(text) : text;
    };
  }
  const el = h("fieldset", { class: "mug-question" },
    h("legend", { text: q.prompt + (q.required ? " *" : "") }), input);
  const check = () => {
    const v = value();
    const ok = !(q.required && v === null) && !(typeof v === "number" && !Number.isFinite(v));
    el.classList.toggle("mug-invalid", !ok);
    return ok;
  };
  return { id: q.id, el, value, check };
}
