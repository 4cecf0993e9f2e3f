// @ts-check
// The Pyodide worker, started as soon as the page loads so Python loads while the participant reads.

import { WORKER_PROTOCOL_VERSION, WorkerClient, staleFilesMessage } from "./worker_protocol.js";

/** @typedef {{indexURL: string, lockFileURL: string, packages: string[], onnxruntime?: string|null}} BundleConfig */
/** @typedef {import("./status.js").Status} Status */

export class Runtime {
  /**
   * @param {BundleConfig|null} bundle null when the server has no bundle (the game cannot load)
   * @param {string} staticPrefix URL prefix of the client files
   * @param {Status} status
   */
  constructor(bundle, staticPrefix, status) {
    this.status = status;
    this.percent = 0;
    /** @type {Set<(percent: number) => void>} */
    this.progressListeners = new Set();
    /** @type {WorkerClient|null} */
    this.client = null;
    /** @type {Promise<{load_ms: number, protocol?: number}>} */
    let loaded;
    if (!bundle) {
      loaded = Promise.reject(new Error("the game files (Pyodide bundle) are missing on the server"));
    } else {
      this.client = new WorkerClient(new Worker(staticPrefix + "worker.js", { type: "module" }));
      this.client.on("progress", (msg) => {
        this.percent = Math.max(this.percent, msg.percent);
        for (const fn of this.progressListeners) fn(this.percent);
      });
      // The first message names the page's protocol version: a stale worker refuses it (worker_protocol.js).
      loaded = this.client.call("init", { protocol: WORKER_PROTOCOL_VERSION, ...bundle });
    }
    /** @type {Promise<{load_ms: number}>} */
    this.ready = loaded.then((value) => {
      // A worker older than the version check ignores `protocol`; its answer does not carry one.
      if (value.protocol !== WORKER_PROTOCOL_VERSION) {
        throw new Error(staleFilesMessage(value.protocol ?? 1, WORKER_PROTOCOL_VERSION));
      }
      return value;
    }).then(
      (value) => {
        status.runtime.ready = true;
        status.runtime.load_ms = value.load_ms;
        return value;
      },
      (err) => {
        status.runtime.error = String(err && err.message ? err.message : err);
        throw err;
      },
    );
    this.ready.catch(() => {}); // handled where the game needs it; avoid an "unhandled rejection" warning
  }

  /** @returns {WorkerClient} */
  get worker() {
    if (!this.client) throw new Error("the game runtime is not available");
    return this.client;
  }

  /** @param {(percent: number) => void} fn @returns {() => void} */
  onProgress(fn) {
    this.progressListeners.add(fn);
    return () => this.progressListeners.delete(fn);
  }

  terminate() {
    if (this.client) this.client.worker.terminate();
  }
}

