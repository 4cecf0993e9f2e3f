// @ts-check
// What the page is doing, for tests and support: `window.mug.status()`, and `body[data-mug-phase]`.

/**
 * @typedef {"loading"|"static"|"game"|"lobby"|"connecting"|"playing"|"between_episodes"|"paused"|"saving"|"end"
 *   |"error"|"second_tab"} Phase
 *   `paused`: a multiplayer match waits for a peer to reconnect (with a countdown)
 * @typedef {{id: string, slot: number,
 *   peers: {slot: number, type: string, relay_protocol?: string|null, rtt_ms: number|null,
 *     lockstep_rtt_ms?: number|null}[],
 *   input_delay: number|null, stalls: number, stall_ms: number, desyncs: number[], state: string,
 *   connect_ms: number|null, rejoin: boolean, replayed: number, resumed_at: number|null, ice_restarts: number,
 *   reconnects: number, pacing?: import("./worker_protocol.js").PacingStatus,
 *   pauses: {slot: number, frame: number, away_ms: number|null, rejoined: boolean|null}[]}} MatchStatus
 *   `rejoin`: this page rejoined a running match (after a reload), replaying `replayed` frames, and played on
 *   from `resumed_at` (Date.now() ms); `pauses`: the
 *   peers that were away (`away_ms` null while they still are); `ice_restarts`: ICE restarts this page
 *   started; `reconnects`: connections replaced after a loss that opened; `pacing`: the lockstep's own input
 *   delay and slack per peer (mug/client/lockstep/pacing.py)
 *   `state`: "connecting", then the match runner's ("synchronizing", "running", "pause", "finished", "done",
 *   "peer_gone"), or "ended" (the server ended the match) / "failed" (the connection could not be made).
 * @typedef {{phase: Phase, scene_id: string|null, episode: number|null, frame: number,
 *   runtime: {ready: boolean, load_ms: number|null, error: string|null},
 *   outbox: {pending_rows: number, pending_batches: number, refused_rows: number, refused_batches: number},
 *   match: MatchStatus|null}} StatusSnapshot
 *   `outbox.refused_*`: rows the server refused for good (each reported as a `records_refused` event)
 */

export class Status {
  /** @param {{pendingRows: number, pendingBatches: number, refused: {rows: number, batches: number}}|null} [outbox] */
  constructor(outbox = null) {
    this.outbox = outbox;
    /** @type {Phase} */
    this.phase = "loading";
    /** @type {string|null} */
    this.sceneId = null;
    /** @type {number|null} */
    this.episode = null;
    this.frame = 0;
    /** @type {MatchStatus|null} the current multiplayer match (null when not in one) */
    this.match = null;
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
        refused_rows: this.outbox ? this.outbox.refused.rows : 0,
        refused_batches: this.outbox ? this.outbox.refused.batches : 0,
      },
      match: this.match ? { ...this.match, peers: this.match.peers.map((p) => ({ ...p })),
        desyncs: [...this.match.desyncs], pauses: this.match.pauses.map((p) => ({ ...p })) } : null,
    };
  }
}
