// @ts-check
// Keyboard: reports key changes to the worker at once (the worker samples them once per tick).

/** @typedef {import("./worker_protocol.js").WorkerClient} WorkerClient */

export class Keyboard {
  /**
   * @param {WorkerClient} worker
   * @param {string[]} bound keys with a binding: their default browser action (scrolling) is suppressed
   */
  constructor(worker, bound) {
    this.worker = worker;
    this.bound = new Set(bound.map(norm));
    /** @type {Set<string>} */
    this.down = new Set();
    this.onDown = (/** @type {KeyboardEvent} */ ev) => this.key(ev, true);
    this.onUp = (/** @type {KeyboardEvent} */ ev) => this.key(ev, false);
    this.onBlur = () => this.releaseAll();
    window.addEventListener("keydown", this.onDown);
    window.addEventListener("keyup", this.onUp);
    window.addEventListener("blur", this.onBlur);
  }

  /** @param {KeyboardEvent} ev @param {boolean} down */
  key(ev, down) {
    const target = /** @type {HTMLElement|null} */ (ev.target);
    if (target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA")) return;
    if (this.bound.has(norm(ev.key))) ev.preventDefault();
    if (ev.repeat) return;
    if (down) this.down.add(ev.key);
    else this.down.delete(ev.key);
    this.worker.post({ type: "key", key: ev.key, down });
  }

  /** A key released while the window had no focus never sends keyup: release everything on blur. */
  releaseAll() {
    for (const key of this.down) this.worker.post({ type: "key", key, down: false });
    this.down.clear();
  }

  detach() {
    this.releaseAll();
    window.removeEventListener("keydown", this.onDown);
    window.removeEventListener("keyup", this.onUp);
    window.removeEventListener("blur", this.onBlur);
  }
}

/** @param {string} key */
function norm(key) {
  return key.length === 1 ? key.toLowerCase() : key;
}
