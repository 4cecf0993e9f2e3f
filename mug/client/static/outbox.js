// @ts-check
// Step rows on their way to the server: batched, acknowledged, retried, and kept in localStorage until
// acknowledged, so a refresh or a lost connection never loses a row. A batch is never changed once cut, so
// a resend after a lost acknowledgement carries the same rows (the server counts them as duplicates).

/** @typedef {import("./worker_protocol.js").StepRow} StepRow */
/** @typedef {import("./wire.js").Connection} Connection */
/** @typedef {{scene_id: string, batch: number, rows: StepRow[]}} Batch */

import { WireError } from "./wire.js";

const MAX_ROWS = 200; // rows per batch (the server takes up to 1000)
const MAX_DELAY_MS = 1000; // a row waits at most this long before its batch is cut
const SAVE_EVERY_MS = 250; // the open batch is saved this often (and at once when the page is hidden)

export class Outbox {
  /**
   * @param {string} storageKey localStorage key (one per experiment)
   * @param {Connection} conn
   * @param {(kind: string, data: Object<string, any>) => void} report records a bookkeeping event
   */
  constructor(storageKey, conn, report) {
    this.key = storageKey;
    this.conn = conn;
    this.report = report;
    const saved = load(storageKey);
    this.seq = saved.seq;
    /** @type {Batch[]} cut batches waiting for their acknowledgement, oldest first */
    this.batches = saved.batches;
    /** @type {{scene_id: string, rows: StepRow[]}|null} rows not yet in a batch */
    this.open = null;
    // Rows a previous page left open become a batch now, so they go out right after hello.
    if (saved.open && saved.open.rows.length) this.batches.push({ ...saved.open, batch: this.seq++ });
    /** @type {Map<string, number>} highest episode per scene among rows acknowledged since the page loaded */
    this.ackedEpisode = new Map();
    this.sending = false;
    /** @type {ReturnType<typeof setTimeout>|null} */
    this.cutTimer = null;
    /** @type {ReturnType<typeof setTimeout>|null} */
    this.saveTimer = null;
    /** @type {Array<() => void>} */
    this.drainWaiters = [];
    addEventListener("pagehide", () => this.save());
    document.addEventListener("visibilitychange", () => this.save());
  }

  get pendingRows() {
    return this.batches.reduce((n, b) => n + b.rows.length, 0) + (this.open ? this.open.rows.length : 0);
  }

  get pendingBatches() {
    return this.batches.length + (this.open && this.open.rows.length ? 1 : 0);
  }

  /**
   * The highest episode of a scene with rows waiting here or sent since the page loaded (-1 if none): the
   * server's resume point (from hello) may not count them yet, so a resume starts after it.
   * @param {string} sceneId
   */
  lastEpisode(sceneId) {
    let last = this.ackedEpisode.get(sceneId) ?? -1;
    const all = [...this.batches, ...(this.open ? [this.open] : [])];
    for (const b of all) if (b.scene_id === sceneId) for (const r of b.rows) last = Math.max(last, r.episode);
    return last;
  }

  /** @param {string} sceneId @param {StepRow[]} rows */
  add(sceneId, rows) {
    if (!rows.length) return;
    if (this.open && this.open.scene_id !== sceneId) this.cut();
    if (!this.open) this.open = { scene_id: sceneId, rows: [] };
    this.open.rows.push(...rows);
    if (this.open.rows.length >= MAX_ROWS) this.cut();
    else {
      if (!this.cutTimer) this.cutTimer = setTimeout(() => this.cut(), MAX_DELAY_MS);
      if (!this.saveTimer) this.saveTimer = setTimeout(() => this.save(), SAVE_EVERY_MS);
    }
  }

  /** Close the open rows into a batch and send it. */
  cut() {
    if (this.cutTimer) clearTimeout(this.cutTimer);
    this.cutTimer = null;
    if (this.open && this.open.rows.length) {
      this.batches.push({ scene_id: this.open.scene_id, batch: this.seq++, rows: this.open.rows });
    }
    this.open = null;
    this.save();
    this.pump();
  }

  /** Send waiting batches (call after hello, and whenever a batch is cut). */
  async pump() {
    if (this.sending) return;
    this.sending = true;
    try {
      while (this.batches.length) {
        const batch = this.batches[0];
        try {
          await this.conn.request("records", batch);
          const last = Math.max(...batch.rows.map((r) => r.episode));
          this.ackedEpisode.set(batch.scene_id, Math.max(last, this.ackedEpisode.get(batch.scene_id) ?? -1));
        } catch (err) {
          if (!(err instanceof WireError)) throw err;
          // Refused for good (e.g. rows of a scene the server has left): keep going, say so in the data.
          this.report("records_refused", { batch: batch.batch, scene_id: batch.scene_id, rows: batch.rows.length,
                                           code: err.code, message: err.message });
        }
        this.batches.shift();
        this.save();
      }
    } finally {
      this.sending = false;
    }
    for (const wake of this.drainWaiters.splice(0)) wake();
  }

  /** @returns {Promise<void>} resolves once every row added so far is acknowledged */
  flush() {
    this.cut();
    if (!this.batches.length) return Promise.resolve();
    return new Promise((resolve) => {
      this.drainWaiters.push(resolve);
      this.pump();
    });
  }

  save() {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    try {
      localStorage.setItem(this.key, JSON.stringify({ seq: this.seq, batches: this.batches, open: this.open }));
    } catch (err) {
      console.warn("mug: could not save the outbox", err); // storage full or blocked: rows still go out
    }
  }
}

/** @param {string} key @returns {{seq: number, batches: Batch[], open: {scene_id: string, rows: StepRow[]}|null}} */
function load(key) {
  try {
    const data = JSON.parse(localStorage.getItem(key) || "null");
    if (data && Array.isArray(data.batches)) return { seq: data.seq || 0, batches: data.batches, open: data.open };
  } catch (err) {
    console.warn("mug: ignoring an unreadable outbox", err);
  }
  return { seq: 0, batches: [], open: null };
}
