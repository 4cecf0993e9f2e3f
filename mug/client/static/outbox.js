// @ts-check
// Step rows on their way to the server: batched, acknowledged, retried, and kept in localStorage until
// acknowledged, so a refresh, a lost connection or a restarted server never loses a row. A batch is never
// changed once cut, so a resend after a lost acknowledgement carries the same rows (the server counts them as
// duplicates). A refusal the server may take back later (it was busy, restarting, or failed) keeps the batch
// and tries again; a refusal that can never succeed (rows the server cannot store as they are) is reported
// as a `records_refused` event with the reason, counted in `window.mug.status().outbox`, and exported.

/** @typedef {import("./worker_protocol.js").StepRow} StepRow */
/** @typedef {import("./wire.js").Connection} Connection */
/** @typedef {{scene_id: string, batch: number, rows: StepRow[]}} Batch */

import { WireError } from "./wire.js";

const MAX_ROWS = 200; // rows per batch (the server takes up to 1000)
const MAX_DELAY_MS = 1000; // a row waits at most this long before its batch is cut
const SAVE_EVERY_MS = 250; // the open batch is saved this often (and at once when the page is hidden)
const RETRY_MIN_MS = 1000; // after a refusal that may succeed later: wait 1 s, doubling to 15 s
const RETRY_MAX_MS = 15000;
const FLUSH_WAIT_MS = 60000; // flush() waits at most this long; rows not yet stored stay here and keep going
// Refusals that say nothing about the rows: the same batch is sent again after a while.
const TRANSIENT = new Set(["no_hello", "server_error", "rate_limited", "shutting_down", "bad_ack"]);

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
    /** rows and batches the server refused for good (kept across reloads, like the batches) */
    this.refused = saved.refused;
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
    let delay = RETRY_MIN_MS;
    try {
      while (this.batches.length) {
        const batch = this.batches[0];
        try {
          await this.conn.request("records", batch);
          const last = Math.max(...batch.rows.map((r) => r.episode));
          this.ackedEpisode.set(batch.scene_id, Math.max(last, this.ackedEpisode.get(batch.scene_id) ?? -1));
        } catch (err) {
          if (!(err instanceof WireError)) throw err;
          if (TRANSIENT.has(err.code)) {
            // The server could not take it now: the same batch goes again in a while, nothing is dropped.
            console.warn("mug: records not stored yet, trying again", err.code, err.message);
            await new Promise((r) => setTimeout(r, delay));
            delay = Math.min(RETRY_MAX_MS, delay * 2);
            continue;
          }
          // Refused for good (rows the server can never store as they are): say so in the data.
          this.refused.rows += batch.rows.length;
          this.refused.batches += 1;
          this.report("records_refused", { batch: batch.batch, scene_id: batch.scene_id, rows: batch.rows.length,
                                           code: err.code, message: err.message });
        }
        delay = RETRY_MIN_MS;
        this.batches.shift();
        this.save();
      }
    } finally {
      this.sending = false;
    }
    for (const wake of this.drainWaiters.splice(0)) wake();
  }

  /**
   * @param {number} [maxWaitMs]
   * @returns {Promise<boolean>} true once every row added so far is acknowledged; false if that took longer
   *   than `maxWaitMs` (the rows stay here and keep being sent, also after a reload)
   */
  flush(maxWaitMs = FLUSH_WAIT_MS) {
    this.cut();
    if (!this.batches.length) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), maxWaitMs);
      this.drainWaiters.push(() => {
        clearTimeout(timer);
        resolve(true);
      });
      this.pump();
    });
  }

  save() {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = null;
    try {
      localStorage.setItem(this.key, JSON.stringify({ seq: this.seq, batches: this.batches, open: this.open,
                                                      refused: this.refused }));
    } catch (err) {
      console.warn("mug: could not save the outbox", err); // storage full or blocked: rows still go out
    }
  }
}

/**
 * @param {string} key
 * @returns {{seq: number, batches: Batch[], open: {scene_id: string, rows: StepRow[]}|null,
 *   refused: {rows: number, batches: number}}}
 */
function load(key) {
  const none = { rows: 0, batches: 0 };
  try {
    const data = JSON.parse(localStorage.getItem(key) || "null");
    if (data && Array.isArray(data.batches)) {
      return { seq: data.seq || 0, batches: data.batches, open: data.open, refused: data.refused || none };
    }
  } catch (err) {
    console.warn("mug: ignoring an unreadable outbox", err);
  }
  return { seq: 0, batches: [], open: null, refused: none };
}
