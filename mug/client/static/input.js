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

/**
 * Pointer: reports clicks and taps on the game canvas to the worker, in the env's surface coordinates
 * (mug/client/pointer.py). Pointer events cover a mouse, a finger and a pen alike; `touch-action: none` on the
 * canvas (style.css, `.mug-pointer`) keeps a tap from scrolling or zooming the page instead.
 */
export class Pointer {
  /**
   * @param {WorkerClient} worker
   * @param {HTMLCanvasElement} canvas
   * @param {() => {width: number, height: number}} surface the size of the frame drawn last (Renderer.surface)
   */
  constructor(worker, canvas, surface) {
    this.worker = worker;
    this.canvas = canvas;
    this.surface = surface;
    this.onDown = (/** @type {PointerEvent} */ ev) => this.down(ev);
    canvas.classList.add("mug-pointer");
    canvas.addEventListener("pointerdown", this.onDown);
  }

  /** @param {PointerEvent} ev */
  down(ev) {
    if (!ev.isPrimary || (ev.pointerType === "mouse" && ev.button !== 0)) return; // one finger, the main button
    ev.preventDefault();
    const c = this.canvas;
    const box = c.getBoundingClientRect();
    const at = toSurface(ev.clientX - box.left - c.clientLeft, ev.clientY - box.top - c.clientTop,
      c.clientWidth, c.clientHeight, this.surface());
    if (at) this.worker.post({ type: "pointer", ...at });
  }

  detach() {
    this.canvas.removeEventListener("pointerdown", this.onDown);
    this.canvas.classList.remove("mug-pointer");
  }
}

/**
 * A point on the canvas's content box, in CSS pixels, to surface coordinates. The canvas may be shown at any
 * CSS size (max-width: 100% on a phone) and its backing store may be scaled by devicePixelRatio: both drop out,
 * because the point is taken as a fraction of the box the participant sees, times the surface's size.
 * @param {number} x CSS px from the content box's left edge
 * @param {number} y CSS px from its top edge
 * @param {number} boxWidth the content box's CSS width
 * @param {number} boxHeight its CSS height
 * @param {{width: number, height: number}} surface
 * @returns {{x: number, y: number, width: number, height: number}|null} null outside the box (or no box)
 */
export function toSurface(x, y, boxWidth, boxHeight, surface) {
  if (!(boxWidth > 0 && boxHeight > 0) || x < 0 || y < 0 || x >= boxWidth || y >= boxHeight) return null;
  return { x: (x / boxWidth) * surface.width, y: (y / boxHeight) * surface.height,
    width: surface.width, height: surface.height };
}
