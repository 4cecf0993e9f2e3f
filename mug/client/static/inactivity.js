// @ts-check
// Inactivity in a game scene (GameScene.inactivity_s): no key press or click for `inactivity_s` seconds (a
// hidden tab gets none, so it counts as idle) shows a warning with a countdown of `inactivity_warning_s`; a key
// press or click dismisses it, and when it runs out the watcher fires (the scene then tells the server, which
// ends the participant on the scene's `inactive` outcome; see mug/server/multiplayer.py, `inactive`).
//
// A hidden tab's timers are throttled (to about once a second, and much less after minutes hidden), so every
// decision compares wall-clock times instead of counting ticks, and a tab shown again is checked at once.
//
// Idle time counts only while the participant is expected to act: the scene calls `waiting(true)` while it
// is not their turn in a turn-based game (the frame's `turn.yours` is false) or while a match is paused for
// a partner who went away, and `waiting(false)` when it is their move again. Waiting time is left out of
// both the limit and the warning's countdown (`IdleClock`), so nobody is ended for waiting on somebody else.

import { h } from "./dom.js";

const TICK_MS = 250;

/** Idle milliseconds counted only while not waiting: `idle(now)` is the time since the last input, less the
 *  time spent waiting since then. Pure (every time is passed in), so it is tested without a browser. */
export class IdleClock {
  /** @param {number} now */
  constructor(now) {
    this.base = 0; // idle ms counted before `since`
    /** @type {number|null} when the current stretch of counted time began; null while waiting */
    this.since = now;
  }

  /** An input: idle starts again from zero (still not counting while waiting). @param {number} now */
  input(now) {
    this.base = 0;
    if (this.since !== null) this.since = now;
  }

  /** @param {boolean} on @param {number} now */
  waiting(on, now) {
    if (on && this.since !== null) {
      this.base += now - this.since;
      this.since = null;
    } else if (!on && this.since === null) {
      this.since = now;
    }
  }

  /** @param {number} now */
  idle(now) {
    return this.base + (this.since === null ? 0 : now - this.since);
  }
}

export class InactivityWatch {
  /**
   * @param {{limitS: number, warningS: number, root: HTMLElement, report: (kind: string, data: Object<string, any>) => void}} opts
   *   `report`: stores a bookkeeping event (the warning shown, dismissed)
   */
  constructor(opts) {
    this.limitMs = opts.limitS * 1000;
    this.warningMs = opts.warningS * 1000;
    this.root = opts.root;
    this.report = opts.report;
    this.clock = new IdleClock(Date.now());
    /** @type {number|null} the idle time (IdleClock ms) at which the warning's countdown started */
    this.warnedAt = null;
    /** @type {HTMLElement|null} */
    this.dialog = null;
    /** @type {HTMLElement|null} */
    this.countdown = null;
    /** @type {() => void} */
    this.resolveFired = () => {};
    /** Resolves once the warning ran out unanswered. */
    this.fired = new Promise((resolve) => (this.resolveFired = () => resolve(undefined)));
    this.stopped = false;
    this.onInput = () => this.input();
    this.onVisibility = () => this.tick();
    window.addEventListener("keydown", this.onInput, true);
    window.addEventListener("pointerdown", this.onInput, true);
    document.addEventListener("visibilitychange", this.onVisibility);
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  /** A key press or click: the participant is here (a hidden tab receives none). */
  input() {
    if (document.hidden || this.stopped) return;
    const now = Date.now();
    if (this.warnedAt !== null) {
      this.report("inactivity_dismissed", { warned_ms: Math.round(this.clock.idle(now) - this.warnedAt) });
      this.warnedAt = null;
      this.dialog?.remove();
      this.dialog = this.countdown = null;
    }
    this.clock.input(now);
  }

  /** Whether the participant is waiting on somebody else now (not their turn, the match paused): idle time
   *  does not count meanwhile. @param {boolean} on */
  waiting(on) {
    if (this.stopped) return;
    this.clock.waiting(on, Date.now());
  }

  tick() {
    if (this.stopped) return;
    const idle = this.clock.idle(Date.now());
    if (this.warnedAt === null && idle >= this.limitMs) {
      // a participant who sees the page gets the whole countdown; a hidden tab's throttled timer may notice
      // the limit late, so there the countdown started when the limit passed
      this.warnedAt = document.hidden ? Math.max(this.limitMs, idle - this.warningMs) : idle;
      this.report("inactivity_warning", { idle_ms: Math.round(idle), hidden: document.hidden });
      this.countdown = h("strong", { "data-testid": "mug-inactivity-left" });
      this.dialog = h("div", { class: "mug-inactivity", role: "alertdialog", "data-testid": "mug-inactivity" },
        h("div", {}, h("p", { text: "Are you still there?" }),
          h("p", {}, "Press any key or click within ", this.countdown, " to go on playing.")));
      this.root.append(this.dialog);
    }
    if (this.warnedAt === null || !this.countdown) return;
    const left = this.warnedAt + this.warningMs - idle;
    this.countdown.textContent = `${Math.max(0, Math.ceil(left / 1000))} s`;
    if (left <= 0) {
      this.stop();
      this.resolveFired();
    }
  }

  /** Stop watching (the scene ended); the warning, if shown, goes. */
  stop() {
    this.stopped = true;
    clearInterval(this.timer);
    window.removeEventListener("keydown", this.onInput, true);
    window.removeEventListener("pointerdown", this.onInput, true);
    document.removeEventListener("visibilitychange", this.onVisibility);
    this.dialog?.remove();
  }
}

/**
 * A watcher for a game scene that asks for one, else null.
 * @param {import("./wire.js").GameSpec} scene
 * @param {import("./flow.js").Context} ctx
 * @returns {InactivityWatch|null}
 */
export function watchInactivity(scene, ctx) {
  if (!scene.inactivity_s) return null;
  return new InactivityWatch({ limitS: scene.inactivity_s, warningS: scene.inactivity_warning_s ?? 10,
    root: ctx.root, report: ctx.report });
}

/**
 * Tell the server the inactivity warning went unanswered; its answer is the outcome page. A refusal means
 * another outcome landed first (`finished`: the match ended for this participant meanwhile; or an error while
 * another server process ended the match): the page reloads, and the server's hello gives it the outcome it
 * stored, as on `mug_outcome` (flow.js).
 * @param {import("./wire.js").Connection} conn
 * @param {string} sceneId
 * @returns {Promise<import("./wire.js").SceneSpec>}
 */
export async function reportInactive(conn, sceneId) {
  try {
    const ack = await conn.request("inactive", { scene_id: sceneId });
    if (ack.scene) return ack.scene;
  } catch (err) {
    console.info("mug: the inactive report was refused; reloading for the outcome the server has", err);
  }
  location.reload();
  return new Promise(() => {});
}
