// @ts-check
// The WebRTC mesh of one match: one RTCPeerConnection and one data channel per pair of members.
//
// - The lower slot offers to each higher slot; candidates trickle through the server's `signal` relay
//   (kinds "offer" and "answer" carry {type, sdp}; "candidate" carries RTCIceCandidateInit; "bye" null).
// - The data channel is pre-negotiated (id 0, label "mug") on both sides, unordered with maxRetransmits 0:
//   the lockstep core repairs losses by redundancy, so a retransmitted stale message would only add delay.
//   Messages are binary (ArrayBuffer), the lockstep wire format (mug/client/lockstep/wire.py).
// - RTCPeerConnection does not exist in workers: bytes cross to the worker by postMessage (the caller's
//   `onMessage`), and come back from it to `send`.
// - A peer whose channel closes or whose connection fails (after it was open) is reported once via
//   `onPeerClosed`; before it opens, `ready` rejects after `timeoutMs` instead.

/**
 * @typedef {import("./wire.js").IceConfig} IceConfig
 * @typedef {import("./wire.js").SignalRelay} SignalRelay
 * @typedef {SignalRelay["kind"]} SignalKind
 * @typedef {{slot: number, pid: string, type: "direct"|"relay"|"unknown", relay_protocol: string|null,
 *   rtt_ms: number|null}} LinkStats
 *   `relay_protocol`: how this browser reaches its TURN relay ("udp", "tcp" or "tls"), null when direct
 * @typedef {{matchId: string, slot: number, members: string[], ice: IceConfig,
 *   signal: (to: number, kind: SignalKind, data: unknown) => Promise<unknown>,
 *   onMessage: (pid: string, data: ArrayBuffer) => void,
 *   onPeerClosed: (pid: string, reason: string) => void, timeoutMs?: number}} MeshOptions
 */

const CHANNEL = { negotiated: true, id: 0, ordered: false, maxRetransmits: 0 };

class Link {
  /** @param {number} slot @param {string} pid @param {RTCPeerConnection} pc */
  constructor(slot, pid, pc) {
    this.slot = slot;
    this.pid = pid;
    this.pc = pc;
    this.channel = pc.createDataChannel("mug", CHANNEL);
    this.channel.binaryType = "arraybuffer";
    /** @type {RTCIceCandidateInit[]} candidates that arrived before the remote description */
    this.early = [];
    this.open = false;
    this.closed = false;
  }
}

export class Mesh {
  /** @param {MeshOptions} opts */
  constructor(opts) {
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
    opts.members.forEach((pid, slot) => {
      if (slot !== opts.slot) this.links.set(pid, this.makeLink(slot, pid));
    });
    if (this.links.size === 0) this.opened();
    this.timer = setTimeout(() => {
      const waiting = [...this.links.values()].filter((l) => !l.open).map((l) => l.slot);
      if (waiting.length) this.rejectReady(new Error(`could not connect to slot(s) ${waiting.join(", ")}`));
    }, opts.timeoutMs ?? 20000);
    for (const link of this.links.values()) if (opts.slot < link.slot) this.offer(link);
  }

  /** @param {number} slot @param {string} pid */
  makeLink(slot, pid) {
    const pc = new RTCPeerConnection(this.rtcConfig);
    const link = new Link(slot, pid, pc);
    pc.onicecandidate = (ev) => {
      if (ev.candidate) this.send_signal(link, "candidate", ev.candidate.toJSON());
    };
    pc.onconnectionstatechange = () => {
      if (pc.connectionState === "failed" || pc.connectionState === "closed") this.lost(link, pc.connectionState);
    };
    link.channel.onopen = () => {
      link.open = true;
      if ([...this.links.values()].every((l) => l.open)) this.opened();
    };
    link.channel.onclose = () => this.lost(link, "channel closed");
    link.channel.onmessage = (ev) => {
      if (ev.data instanceof ArrayBuffer) this.opts.onMessage(pid, ev.data);
    };
    return link;
  }

  opened() {
    this.connectMs = Math.round(performance.now() - this.startedAt);
    clearTimeout(this.timer);
    this.resolveReady();
  }

  /** @param {Link} link @param {string} reason */
  lost(link, reason) {
    if (link.closed || this.closing) return;
    link.closed = true;
    if (link.open) this.opts.onPeerClosed(link.pid, reason);
    else this.rejectReady(new Error(`connection to slot ${link.slot} ${reason}`));
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
      this.send_signal(link, "offer", { type: desc.type, sdp: desc.sdp });
    } catch (err) {
      this.rejectReady(new Error(`offer to slot ${link.slot} failed: ${err}`));
    }
  }

  /**
   * A signaling message from the server (already filtered to this match by the caller).
   * @param {SignalRelay} msg
   */
  async handleSignal(msg) {
    const link = this.links.get(msg.from.pid);
    if (!link || link.closed) return;
    const pc = link.pc;
    try {
      // `data` is what the peer's browser produced, relayed unread: the browser's own checks validate it.
      if (msg.kind === "offer") {
        await pc.setRemoteDescription(/** @type {RTCSessionDescriptionInit} */ (msg.data));
        await this.drain(link);
        await pc.setLocalDescription(await pc.createAnswer());
        const desc = /** @type {RTCSessionDescription} */ (pc.localDescription);
        this.send_signal(link, "answer", { type: desc.type, sdp: desc.sdp });
      } else if (msg.kind === "answer") {
        await pc.setRemoteDescription(/** @type {RTCSessionDescriptionInit} */ (msg.data));
        await this.drain(link);
      } else if (msg.kind === "candidate") {
        const candidate = /** @type {RTCIceCandidateInit} */ (msg.data);
        if (pc.remoteDescription) await pc.addIceCandidate(candidate);
        else link.early.push(candidate);
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

  /** @param {string} pid @param {ArrayBuffer} data */
  send(pid, data) {
    const link = this.links.get(pid);
    if (!link || !link.open || link.closed || link.channel.readyState !== "open") return; // lost: the core resends
    try {
      link.channel.send(data);
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
        link.channel.close();
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
