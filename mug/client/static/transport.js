// @ts-check
// The WebRTC mesh of one match: one RTCPeerConnection and one data channel per pair of members.
//
// - The lower slot offers to each higher slot; candidates trickle through the server's `signal` relay
//   (kinds "offer" and "answer" carry {type, sdp}; "candidate" carries RTCIceCandidateInit; "bye" null).
// - Two pre-negotiated data channels per pair: "mug" (id 0) unordered with maxRetransmits 0, for play (the
//   lockstep core repairs losses by redundancy, so a retransmitted stale message would only add delay), and
//   "mug-sync" (id 1) reliable and ordered, for the rejoin handshake (the match so far, in chunks).
//   Messages are binary (ArrayBuffer), the lockstep wire format (mug/client/lockstep/wire.py).
// - Every RTCPeerConnection has an id (`conn`) carried by its signals, so signals of a replaced connection
//   are told apart. A connection whose ICE fails (or stays disconnected) is restarted by its offerer (ICE
//   restart, same connection); a connection whose channels close is replaced by a new one, offered again
//   every few seconds until it opens or the mesh is closed. Meanwhile the peer counts as away
//   (`onPeerAway`): the lockstep session pauses, and resumes where it stood when bytes flow again.
// - A page that rejoins a running match (`rejoin`) offers to every peer, whatever the slots; a peer that
//   gets an offer with a new `conn` replaces its connection and answers.
// - RTCPeerConnection does not exist in workers: bytes cross to the worker by postMessage (the caller's
//   `onMessage`), and come back from it to `send`.
// - Before every channel first opens, `ready` rejects after `timeoutMs` instead.

/**
 * @typedef {import("./wire.js").IceConfig} IceConfig
 * @typedef {import("./wire.js").SignalRelay} SignalRelay
 * @typedef {SignalRelay["kind"]} SignalKind
 * @typedef {{slot: number, pid: string, type: "direct"|"relay"|"unknown", relay_protocol: string|null,
 *   rtt_ms: number|null}} LinkStats
 *   `relay_protocol`: how this browser reaches its TURN relay ("udp", "tcp" or "tls"), null when direct
 * @typedef {{matchId: string, slot: number, members: string[], ice: IceConfig, rejoin?: boolean,
 *   signal: (to: number, kind: SignalKind, data: unknown) => Promise<unknown>,
 *   onMessage: (pid: string, data: ArrayBuffer) => void,
 *   onPeerAway: (pid: string, reason: string) => void, timeoutMs?: number}} MeshOptions
 */

const CHANNEL = { negotiated: true, id: 0, ordered: false, maxRetransmits: 0 };
const SYNC_CHANNEL = { negotiated: true, id: 1, ordered: true };
const RECONNECT_EVERY_MS = 4000; // a replacement connection that has not opened by then is offered anew
const ICE_DISCONNECTED_MS = 2500; // ICE "disconnected" this long: restart ICE (it may recover by itself)

class Link {
  /** @param {number} slot @param {string} pid @param {RTCPeerConnection} pc */
  constructor(slot, pid, pc) {
    this.slot = slot;
    this.pid = pid;
    this.pc = pc;
    this.conn = Math.random().toString(36).slice(2, 12); // this connection's id in our signals
    /** @type {string|null} the peer's id for its side of this connection */
    this.remoteConn = null;
    this.channel = pc.createDataChannel("mug", CHANNEL);
    this.channel.binaryType = "arraybuffer";
    this.sync = pc.createDataChannel("mug-sync", SYNC_CHANNEL);
    this.sync.binaryType = "arraybuffer";
    /** @type {RTCIceCandidateInit[]} candidates that arrived before the remote description */
    this.early = [];
    this.open = false;
    this.closed = false;
    /** @type {ReturnType<typeof setTimeout>|null} */
    this.iceTimer = null;
  }

  get usable() {
    return !this.closed && this.channel.readyState === "open" && this.sync.readyState === "open";
  }
}

export class Mesh {
  /** @param {MeshOptions} opts */
  constructor(opts) {
    /** @type {MeshOptions} */
    this.opts = opts;
    const { iceServers, iceTransportPolicy } = opts.ice;
    this.rtcConfig = { iceServers, iceTransportPolicy };
    /** @type {Map<string, Link>} by participant id */
    this.links = new Map();
    this.closing = false;
    /** @type {() => void} */
    let resolve = () => {};
    /** @type {(e: Error) => void} */
    let reject = () => {};
    /** @type {Promise<void>} resolves when every channel is open */
    this.ready = new Promise((res, rej) => ((resolve = res), (reject = rej)));
    this.ready.catch(() => {});
    this.resolveReady = resolve;
    this.rejectReady = reject;
    this.connectMs = /** @type {number|null} */ (null);
    this.startedAt = performance.now();
    this.iceRestarts = 0;
    this.reconnects = 0;
    /** @type {Set<string>} peers whose channels were open at least once (a later loss is a drop) */
    this.wasOpen = new Set();
    opts.members.forEach((pid, slot) => {
      if (slot !== opts.slot) this.links.set(pid, this.makeLink(slot, pid));
    });
    if (this.links.size === 0) this.opened();
    this.timer = setTimeout(() => {
      const waiting = [...this.links.values()].filter((l) => !l.open).map((l) => l.slot);
      if (waiting.length) this.rejectReady(new Error(`could not connect to slot(s) ${waiting.join(", ")}`));
    }, opts.timeoutMs ?? 20000);
    for (const link of this.links.values()) if (this.offerer(link)) this.offer(link);
  }

  /** @param {number} slot @param {string} pid */
  makeLink(slot, pid) {
    const pc = new RTCPeerConnection(this.rtcConfig);
    const link = new Link(slot, pid, pc);
    pc.onicecandidate = (ev) => {
      if (ev.candidate) this.send_signal(link, "candidate", { conn: link.conn, candidate: ev.candidate.toJSON() });
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "failed" || pc.connectionState === "closed") this.lost(link, pc.connectionState);
    };
    pc.oniceconnectionstatechange = () => this.watchIce(link);
    const opened = () => {
      if (!link.usable || link.open) return;
      link.open = true;
      if (this.links.get(pid) === link && this.wasOpen.has(pid)) {
        console.info("mug: reconnected to", pid);
        this.reconnects += 1;
      }
      this.wasOpen.add(pid);
      if ([...this.links.values()].every((l) => l.open)) this.opened();
    };
    for (const channel of [link.channel, link.sync]) {
      channel.onopen = opened;
      channel.onclose = () => this.lost(link, "channel closed");
      channel.onmessage = (ev) => {
        if (ev.data instanceof ArrayBuffer && this.links.get(pid) === link) this.opts.onMessage(pid, ev.data);
      };
    }
    return link;
  }

  opened() {
    if (this.connectMs !== null) return;
    this.connectMs = Math.round(performance.now() - this.startedAt);
    clearTimeout(this.timer);
    this.resolveReady();
  }

  /** Whether this side offers to `link`'s peer: the lower slot does, and a rejoining page always does.
   * @param {Link} link */
  offerer(link) {
    return this.opts.slot < link.slot || Boolean(this.opts.rejoin);
  }

  /** @param {Link} link @param {string} reason */
  lost(link, reason) {
    if (link.closed || this.closing) return;
    link.closed = true;
    if (link.iceTimer !== null) clearTimeout(link.iceTimer);
    try {
      link.pc.close();
    } catch (err) {
      console.warn("mug: close failed", err);
    }
    if (this.links.get(link.pid) !== link) return; // an old connection, already replaced
    if (!this.wasOpen.has(link.pid)) {
      this.rejectReady(new Error(`connection to slot ${link.slot} ${reason}`));
      return;
    }
    console.info("mug: connection to", link.pid, "lost:", reason);
    this.opts.onPeerAway(link.pid, reason);
    this.replace(link.pid, link.slot);
  }

  /** A new connection to the peer, in place of a lost one; the offerer offers it, again and again.
   * @param {string} pid @param {number} slot */
  replace(pid, slot) {
    if (this.closing) return;
    let link;
    try {
      link = this.makeLink(slot, pid);
    } catch (err) {
      console.warn("mug: cannot create a connection yet", err);
      setTimeout(() => this.replace(pid, slot), 1000);
      return;
    }
    this.links.set(pid, link);
    if (!this.offerer(link)) return; // the other side offers; we answer (handleSignal)
    this.offer(link);
    setTimeout(() => {
      if (this.links.get(pid) === link && !link.open && !this.closing) {
        link.closed = true;
        link.pc.close();
        this.replace(pid, slot);
      }
    }, RECONNECT_EVERY_MS);
  }

  /** ICE trouble on a connection whose channels may still be open: restart ICE (the offerer does).
   * @param {Link} link */
  watchIce(link) {
    const state = link.pc.iceConnectionState;
    if (this.wasOpen.has(link.pid)) console.info("mug: ICE with", link.pid, state);
    if (link.iceTimer !== null) clearTimeout(link.iceTimer);
    link.iceTimer = null;
    if (link.closed || !this.offerer(link)) return;
    if (state === "failed") this.restartIce(link);
    else if (state === "disconnected") link.iceTimer = setTimeout(() => this.restartIce(link), ICE_DISCONNECTED_MS);
  }

  /** @param {Link} link */
  async restartIce(link) {
    if (link.closed || this.closing) return;
    console.info("mug: restarting ICE with", link.pid);
    this.iceRestarts += 1;
    // not connected again after a while (no path with the old connection's network view): a new connection
    setTimeout(() => {
      const ice = link.pc.iceConnectionState;
      if (!link.closed && this.links.get(link.pid) === link && ice !== "connected" && ice !== "completed") {
        this.lost(link, `ICE restart did not reconnect (${ice})`);
      }
    }, RECONNECT_EVERY_MS);
    try {
      link.pc.restartIce();
      await link.pc.setLocalDescription(await link.pc.createOffer({ iceRestart: true }));
      const desc = /** @type {RTCSessionDescription} */ (link.pc.localDescription);
      this.send_signal(link, "offer", { conn: link.conn, type: desc.type, sdp: desc.sdp });
    } catch (err) {
      console.warn("mug: ICE restart failed", err);
    }
  }

  /** @param {Link} link @param {SignalKind} kind @param {unknown} data */
  send_signal(link, kind, data) {
    this.opts.signal(link.slot, kind, data).catch((err) => console.warn("mug: signal not delivered", kind, err));
  }

  /** @param {Link} link */
  async offer(link) {
    try {
      await link.pc.setLocalDescription(await link.pc.createOffer());
      const desc = /** @type {RTCSessionDescription} */ (link.pc.localDescription);
      this.send_signal(link, "offer", { conn: link.conn, type: desc.type, sdp: desc.sdp });
    } catch (err) {
      if (!this.wasOpen.has(link.pid)) this.rejectReady(new Error(`offer to slot ${link.slot} failed: ${err}`));
      else console.warn("mug: offer failed", err);
    }
  }

  /**
   * A signaling message from the server (already filtered to this match by the caller).
   * @param {SignalRelay} msg
   */
  async handleSignal(msg) {
    let link = this.links.get(msg.from.pid);
    if (!link || this.closing) return;
    // `data` is what the peer's browser produced, relayed unread: the browser's own checks validate it.
    const data = /** @type {{conn?: string, type?: RTCSdpType, sdp?: string, candidate?: RTCIceCandidateInit}} */ (
      msg.data && typeof msg.data === "object" ? msg.data : {});
    try {
      if (msg.kind === "offer") {
        // Glare (both sides offered): a rejoining page keeps its own offer; the other side gives way.
        const glare = link.pc.signalingState === "have-local-offer";
        if (glare && this.opts.rejoin) return;
        if (link.closed || glare || (link.remoteConn !== null && data.conn !== link.remoteConn)) {
          // the peer's new connection (it reloaded, or replaced a lost one): ours goes too
          const old = link;
          link = this.makeLink(old.slot, old.pid);
          this.links.set(old.pid, link);
          if (!old.closed) {
            old.closed = true;
            old.pc.close();
            if (old.open) this.opts.onPeerAway(old.pid, "peer reconnected");
          }
        }
        link.remoteConn = data.conn ?? null;
        await link.pc.setRemoteDescription({ type: "offer", sdp: data.sdp });
        await this.drain(link);
        await link.pc.setLocalDescription(await link.pc.createAnswer());
        const desc = /** @type {RTCSessionDescription} */ (link.pc.localDescription);
        this.send_signal(link, "answer", { conn: link.conn, type: desc.type, sdp: desc.sdp });
      } else if (msg.kind === "answer") {
        if (link.closed || link.pc.signalingState !== "have-local-offer") return; // for a replaced connection
        link.remoteConn = data.conn ?? null;
        await link.pc.setRemoteDescription({ type: "answer", sdp: data.sdp });
        await this.drain(link);
      } else if (msg.kind === "candidate") {
        if (link.closed || !data.candidate || (link.remoteConn !== null && data.conn !== link.remoteConn)) return;
        if (link.pc.remoteDescription) await link.pc.addIceCandidate(data.candidate);
        else link.early.push(data.candidate);
      } else if (msg.kind === "bye") {
        this.lost(link, "said bye");
      }
    } catch (err) {
      console.warn("mug: signaling step failed", msg.kind, err);
    }
  }

  /** @param {Link} link */
  async drain(link) {
    for (const c of link.early.splice(0)) await link.pc.addIceCandidate(c);
  }

  /** @param {string} pid @param {ArrayBuffer} data @param {boolean} [reliable] over the reliable channel */
  send(pid, data, reliable = false) {
    const link = this.links.get(pid);
    if (!link || !link.usable) return; // lost: the core resends (and asks again for what must be reliable)
    try {
      (reliable ? link.sync : link.channel).send(data);
    } catch (err) {
      console.warn("mug: data channel send failed", err);
    }
  }

  /**
   * Connection type and round trip of every peer, from the selected ICE candidate pair.
   * @returns {Promise<LinkStats[]>}
   */
  async stats() {
    const out = [];
    for (const link of this.links.values()) {
      /** @type {LinkStats} */
      const entry = { slot: link.slot, pid: link.pid, type: "unknown", relay_protocol: null, rtt_ms: null };
      try {
        const report = await link.pc.getStats();
        const pair = selectedPair(report);
        if (pair) {
          const local = report.get(pair.localCandidateId);
          const remote = report.get(pair.remoteCandidateId);
          const relay = [local, remote].some((c) => c && c.candidateType === "relay");
          entry.type = relay ? "relay" : "direct";
          if (local && local.candidateType === "relay") entry.relay_protocol = local.relayProtocol ?? null;
          if (typeof pair.currentRoundTripTime === "number") entry.rtt_ms = pair.currentRoundTripTime * 1000;
        }
      } catch (err) {
        console.warn("mug: getStats failed", err);
      }
      out.push(entry);
    }
    return out;
  }

  /** Close every connection (telling the peers first, so they need not wait for a timeout). */
  close() {
    this.closing = true;
    clearTimeout(this.timer);
    for (const link of this.links.values()) {
      try {
        link.closed = true;
        if (link.iceTimer !== null) clearTimeout(link.iceTimer);
        link.channel.close();
        link.sync.close();
        link.pc.close();
      } catch (err) {
        console.warn("mug: close failed", err);
      }
    }
  }
}

/**
 * The ICE candidate pair a connection uses: the transport's selected pair, else a nominated succeeded one.
 * @param {RTCStatsReport} report
 * @returns {RTCIceCandidatePairStats|null}
 */
function selectedPair(report) {
  /** @type {RTCIceCandidatePairStats|null} */
  let nominated = null;
  for (const s of report.values()) {
    const selected = s.type === "transport" && s.selectedCandidatePairId && report.get(s.selectedCandidatePairId);
    if (selected) return selected;
    if (!nominated && s.type === "candidate-pair" && s.state === "succeeded" && (s.nominated || s.selected)) {
      nominated = s;
    }
  }
  return nominated;
}
