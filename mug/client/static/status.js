// @ts-check
// What the page is doing, for tests and support: `window.mug.status()`, and `body[data-mug-phase]`.

/**
 * @typedef {"loading"|"static"|"game"|"playing"|"between_episodes"|"end"|"error"|"second_tab"} Phase
 * @typedef {{phase: Phase, scene_id: string|null, episode: number|null, frame: number,
 *   runtime: {ready: boolean, load_ms: number|null, error: string|null},
 *   outbox: {pending_rows: number, pending_batches: number}}} StatusSnapshot
 */

export class Status {
  /** @param {{pendingRows: number, pendingBatches: number}|null} [outbox] */
  constructor(outbox = null) {
    this.outbox = outbox;
    /** @type {Phase} */
    this.phase = "loading";
    /** @type {string|null} */
    this.sceneId = null;
    /** @type {number|null} */
    this.episode = null;
    this.frame = 0;
    this.runtime = { ready: false, load_ms: /** @type {number|null} */ (null), error: /** @type {string|null} */ (null) };
    document.body.dataset.mugPhase = this.phase;
  }

  /** @param {Phase} phase */
  setPhase(phase) {
    this.phase = phase;
    document.body.dataset.mugPhase = phase;
  }

  /** @returns {StatusSnapshot} */
  snapshot() {
    return {
      phase: this.phase,
      scene_id: this.sceneId,
      episode: this.episode,
      frame: this.frame,
      runtime: { ...this.runtime },
      outbox: {
        pending_rows: this.outbox ? this.outbox.pendingRows : 0,
        pending_batches: this.outbox ? this.outbox.pendingBatches : 0,
      },
    };
  }
}
