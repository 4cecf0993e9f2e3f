// @ts-check
// A static scene: title, body, optional survey questions, a continue button.

import { h, show } from "../dom.js";
import { WireError } from "../wire.js";

/** @typedef {import("../wire.js").StaticSpec} StaticSpec */
/** @typedef {import("../wire.js").Question} Question */
/** @typedef {import("../wire.js").SceneSpec} SceneSpec */
/** @typedef {import("../flow.js").Context} Context */
/** @typedef {string|number|string[]|null} Answer  null when not answered */

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
    for (const f of fields) f.el.classList.remove("mug-wrong");
    const problems = fields.map((f) => [f, f.check()]).filter(([, p]) => p !== null);
    if (problems.length) {
      const [[first, text]] = /** @type {[Field, string][]} */ (problems);
      error.textContent = problems.length === 1 ? text : `Please answer the questions marked in red (${text}).`;
      error.hidden = false;
      first.el.scrollIntoView({ block: "center" });
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
      if (!(err instanceof WireError) || !["bad_answers", "wrong_answers"].includes(err.code)) throw err;
      // the server's check names the question; for comprehension checks, also which ones are wrong
      error.textContent = err.message;
      error.hidden = false;
      button.disabled = false;
      const wrong = Array.isArray(err.details.wrong) ? err.details.wrong : [];
      const marked = fields.filter((f) => wrong.includes(f.id));
      for (const f of marked) f.el.classList.add("mug-wrong");
      (marked[0]?.el ?? error).scrollIntoView({ block: "center" });
    }
  }
}

/**
 * @typedef {{id: string, el: HTMLElement, value: () => Answer, check: () => string|null}} Field
 *   `check`: null when the answer may be sent, else what is missing (the field is marked)
 */

/**
 * The input of one question; checked here as the server checks it again (mug/configurations/scenes.py,
 * Question.validate_answer), except comprehension checks' correct answers, which only the server knows.
 * @param {Question} q
 * @returns {Field}
 */
function questionField(q) {
  const name = `q-${q.id}`;
  /** @type {HTMLElement} */
  let input;
  /** @type {() => Answer} */
  let value;
  /** @type {(v: Answer) => string|null} */
  let rule = () => null;
  if (q.kind === "choice" || q.kind === "scale" || q.kind === "likert") {
    const options = q.kind === "choice"
      ? q.options
      : Array.from({ length: q.scale_max - q.scale_min + 1 }, (_, i) => String(q.scale_min + i));
    // a Likert scale labels each point, or its two ends
    const perPoint = q.kind === "likert" && q.anchors.length === options.length;
    const ends = q.kind === "likert" && !perPoint && q.anchors.length === 2;
    const radios = h("div", { class: `mug-options mug-${q.kind === "likert" ? "scale mug-likert" : q.kind}`,
      role: "radiogroup" },
    ...options.map((opt, i) => h("label", { class: "mug-option" },
      h("input", { type: "radio", name, value: opt, "data-testid": `${name}-${opt}` }),
      h("span", { text: opt }),
      perPoint ? h("span", { class: "mug-anchor", text: q.anchors[i] }) : null)));
    input = ends ? h("div", { class: "mug-anchored" }, h("span", { class: "mug-anchor", text: q.anchors[0] }), radios,
      h("span", { class: "mug-anchor", text: q.anchors[1] })) : radios;
    value = () => {
      const checked = /** @type {HTMLInputElement|null} */ (input.querySelector("input:checked"));
      if (!checked) return null;
      return q.kind === "choice" ? checked.value : Number(checked.value);
    };
  } else if (q.kind === "multi") {
    input = h("div", { class: "mug-options mug-multi", role: "group" },
      ...q.options.map((opt) => h("label", { class: "mug-option" },
        h("input", { type: "checkbox", name, value: opt, "data-testid": `${name}-${opt}` }), h("span", { text: opt }))));
    value = () => {
      const picked = [...input.querySelectorAll("input:checked")].map((el) => /** @type {HTMLInputElement} */ (el).value);
      return picked.length ? picked : null;
    };
    const most = q.max_selected ?? q.options.length;
    const least = Math.max(q.min_selected, q.required ? 1 : 0);
    rule = (v) => {
      const n = Array.isArray(v) ? v.length : 0;
      if (n === 0 && !q.required) return null;
      if (n >= least && n <= most) return null;
      return least === most ? `select ${least}` : `select ${least} to ${most}`;
    };
  } else if (q.kind === "slider") {
    // the slider counts as answered only once moved: its start is a suggestion, not the participant's answer
    const range = /** @type {HTMLInputElement} */ (h("input", { type: "range", name, min: q.slider_min, max: q.slider_max,
      step: q.slider_step, value: q.slider_start, "data-testid": name, "aria-valuetext": "not answered yet" }));
    const shown = h("output", { class: "mug-slider-value", "data-testid": `${name}-value`, text: "move the slider" });
    let moved = false;
    range.addEventListener("input", () => {
      moved = true;
      shown.textContent = range.value;
      range.setAttribute("aria-valuetext", range.value);
    });
    input = h("div", { class: "mug-slider" },
      q.anchors.length === 2 ? h("span", { class: "mug-anchor", text: q.anchors[0] }) : null, range,
      q.anchors.length === 2 ? h("span", { class: "mug-anchor", text: q.anchors[1] }) : null, shown);
    value = () => (moved ? Number(range.value) : null);
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
  const el = h("fieldset", { class: "mug-question", "data-testid": `question-${q.id}` },
    h("legend", { text: q.prompt + (q.required ? " *" : "") }), input);
  const check = () => {
    const v = value();
    let problem = q.required && v === null ? (q.kind === "slider" ? "move the slider to answer" : "an answer is needed")
      : typeof v === "number" && !Number.isFinite(v) ? "a number is needed" : null;
    problem = problem ?? rule(v);
    el.classList.toggle("mug-invalid", problem !== null);
    return problem === null ? null : `${q.prompt}: ${problem}`;
  };
  return { id: q.id, el, value, check };
}
