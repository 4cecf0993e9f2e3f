// @ts-check
// A multiplayer game scene: lobby, WebRTC mesh, lockstep play in the worker, and the way out (all episodes
// played, the server ended the match, or a peer was lost).
//
// Reports sent to the server (`match_report` {match_id, kind, data}):
//   "links"     {peers: [{slot, type: "direct"|"relay", rtt_ms}]}  connection type and round trip per peer
//   "summary"   {input_delay, frames, stalls, stall_ms, desyncs: [frame]}
//   "finished"  {}  this member played every episode (sent before flushing the records and advancing)
//   "peer_gone" {peer_slot, last_confirmed_frame, reason}  the browser lost a peer (the server ends the match);
//               reason "rejoin_failed": this reloaded page could not get back into the match
//   "pause"     {peer_slot, frame, away_ms, rejoined}  a peer was away and came back (the match paused)
//   "resumed"   {frames_replayed, frame, rejoin_ms}  this reloaded page is back in the match
//
// Resume: a peer whose connection drops is awaited for the scene's reconnect_grace_s, the match paused with
// a countdown; a page reloaded mid-match gets the match back from the server (`resume.match`, rejoin) and
// rebuilds the game from its peers' history (mug/client/lockstep/rejoin.py).

import { h } from "../dom.js";
import { Keyboard, Pointer } from "../input.js";
import { reportInactive, watchInactivity } from "../inactivity.js";
import { Mesh } from "../transport.js";
import { waitForMatch } from "./lobby.js";
import { formatScore, gameLayout, showTurn, waitForRuntime } from "./game_view.js";

/** @typedef {import("../wire.js").GameSpec} GameSpec */
/** @typedef {import("../wire.js").SceneSpec} SceneSpec */
/** @typedef {import("../flow.js").Context} Context */
/** @typedef {import("./lobby.js").MatchStart} MatchStart */
/** @typedef {{kind: "finished"}|{kind: "ended", scene: SceneSpec|null}|{kind: "lost", reason: string}|{kind: "inactive"}} MatchResult */

const MATCH_END_WAIT_MS = 5000; // after we report a lost peer, the server's match_end should follow at once
const LINGER_WAIT_MS = 4000; // after the last frame, waiting for the peers to get there too (worker "done")
const STATS_EVERY_MS = 1000;
// How often a running match reports its live figures (input delay, stalls, desyncs, links) to the server,
// where the admin view shows the latest: a row of about 300 bytes per member every 5 s.
const STATUS_EVERY_MS = 5000;

/**
 * @param {GameSpec} scene
 * @param {Context} ctx
 * @param {import("../wire.js").Resume} resume `played`: this participant played the match already (a reload
 *   after it); `match`: the running match this reloaded page rejoins
 * @returns {Promise<SceneSpec>} the next scene
 */
export async function matchScene(scene, ctx, resume) {
  const { status, runtime } = ctx;
  if (resume.played) return ctx.advance(scene.id, {});
  status.setPhase("game");
  const ui = gameLayout(scene, ctx.root);
  await waitForRuntime(ui.panel, runtime, status);
  await ui.assetsReady;
  if (resume.match && resume.match.scene_id === scene.id) return playMatch(scene, ctx, ui, resume.match, []);
  const lobby = await waitForMatch(scene, ctx, ui.panel);
  if ("scene" in lobby) return lobby.scene;
  return playMatch(scene, ctx, ui, lobby.start, lobby.signals);
}

/**
 * @param {GameSpec} scene
 * @param {Context} ctx
 * @param {ReturnType<typeof gameLayout>} ui
 * @param {MatchStart} start
 * @param {import("../wire.js").SignalRelay[]} early signaling messages that arrived with match_start
 * @returns {Promise<SceneSpec>}
 */
async function playMatch(scene, ctx, ui, start, early) {
  const { status, outbox, runtime, conn } = ctx;
  const socket = conn.socket;
  const worker = runtime.worker;
  const slotOf = new Map(start.members.map((pid, slot) => [pid, slot]));
  /** @type {import("../status.js").MatchStatus} */
  const match = { id: start.match_id, slot: start.slot, peers: [], input_delay: null,
    stalls: 0, stall_ms: 0, desyncs: [], state: "connecting", connect_ms: null, rejoin: start.rejoin,
    replayed: 0, resumed_at: null, pauses: [], ice_restarts: 0, reconnects: 0 };
  status.match = match;
  status.setPhase("connecting");
  const others = start.members.length - 1;
  const rejoinStarted = performance.now();
  ui.panel.replaceChildren(h("p", { class: "mug-connecting", text: start.rejoin ? "Getting back into your game..."
    : others === 0 ? "Starting the game..."
    : others === 1 ? "Connecting to your partner..." : "Connecting to the other participants..." }));
  /** @type {(o: MatchResult) => void} */
  let settle = () => {};
  let over = false; // the outcome is known: later losses of peers (closing their connections) pause nothing
  /** @type {Promise<MatchResult>} */
  const outcome = new Promise((resolve) => (settle = (o) => {
    over = true;
    resolve(o);
  }));
  /** @type {Object<string, number|null>} lockstep rtt by participant id */
  let lockstepRtt = {};
  let lastFrame = -1;
  let lastGone = /** @type {{peer: string, last_confirmed_frame: number}|null} */ (null);
  /** @type {() => void} */
  let lingerDone = () => {};
  const lingered = new Promise((resolve) => (lingerDone = () => resolve(undefined)));
  /** @type {{watch: import("../inactivity.js").InactivityWatch|null}} armed once the game runs */
  const idle = { watch: null };
  let theirTurn = false; // a turn-based game: the last frame's turn is another player's
  // waiting on somebody else (their move, or a partner who went away) is not inactivity
  const idleWaiting = () => idle.watch?.waiting(theirTurn || status.phase === "paused");

  const mesh = new Mesh({
    matchId: start.match_id, slot: start.slot, members: start.members, ice: start.ice, rejoin: start.rejoin,
    timeoutMs: scene.connect_timeout_s * 1000,
    signal: (to, kind, data) => conn.request("signal", { to, kind, data }, { retries: 2 }),
    onMessage: (pid, data) => worker.post({ type: "net", peer: pid, data }, [data]),
    onPeerAway: (pid, reason) => {
      console.info("mug: peer connection lost; reconnecting", pid, reason);
      worker.call("peer_left", { peer: pid }).catch(() => {});
    },
  });
  // A peer away: the match pauses, with a countdown to the end of the grace period.
  /** @type {Map<string, number>} away peers -> when their grace period ends (performance.now() ms) */
  const away = new Map();
  /** @type {ReturnType<typeof setInterval>|null} */
  let awayTimer = null;
  /** @type {import("../status.js").Phase} */
  let phaseBeforePause = "playing";
  const showAway = () => {
    if (away.size === 0) {
      if (awayTimer !== null) clearInterval(awayTimer);
      awayTimer = null;
      if (status.phase === "paused") {
        status.setPhase(phaseBeforePause);
        ui.panel.replaceChildren();
      }
      idleWaiting();
      return;
    }
    const left = Math.max(0, Math.ceil((Math.max(...away.values()) - performance.now()) / 1000));
    const who = others === 1 ? "your partner" : "another participant";
    if (status.phase !== "paused") phaseBeforePause = status.phase;
    status.setPhase("paused");
    ui.panel.replaceChildren(h("p", { class: "mug-paused", "data-testid": "mug-paused",
      text: `Waiting for ${who} to reconnect: ${left} s` }));
    if (awayTimer === null) awayTimer = setInterval(showAway, 250);
    idleWaiting();
  };
  const onSignal = (/** @type {import("../wire.js").SignalRelay} */ m) => m.match_id === start.match_id && mesh.handleSignal(m);
  /** @type {(m: import("../wire.js").MatchEnd) => void} */
  let gotMatchEnd = () => {};
  /** @type {Promise<import("../wire.js").MatchEnd>} the server's match_end, whenever it comes */
  const matchEnd = new Promise((resolve) => (gotMatchEnd = resolve));
  const onMatchEnd = (/** @type {import("../wire.js").MatchEnd} */ m) => {
    if (m.match_id !== start.match_id) return;
    gotMatchEnd(m);
    settle({ kind: "ended", scene: m.scene });
  };
  socket.on("signal", onSignal);
  socket.on("match_end", onMatchEnd);
  for (const m of early) onSignal(m);

  const offs = [
    worker.on("net", (m) => mesh.send(m.peer, m.data, m.reliable)),
    worker.on("frame", (msg) => {
      const f = msg.frame;
      ui.renderer.draw(f.render, msg.pixels);
      if (f.rows.length) outbox.add(scene.id, f.rows);
      lastFrame = Math.max(lastFrame, f.frame);
      status.episode = f.episode;
      status.frame = f.frame;
      ui.score.textContent = formatScore(f.score);
      ui.stepText.textContent = String(f.step);
      ui.episodeText.textContent = `Episode ${f.episode + 1} of ${scene.num_episodes}`;
      showTurn(ui.turn, f.turn);
      theirTurn = !!f.turn && !f.turn.yours;
      idleWaiting();
      if (f.state === "pause") {
        if (status.phase !== "between_episodes") {
          status.setPhase("between_episodes");
          outbox.cut();
        }
        const s = Math.ceil((f.pause_left ?? 0) / scene.fps);
        ui.panel.replaceChildren(h("p", { class: "mug-between", "data-testid": "mug-between",
          text: `Episode ${f.episode + 1} of ${scene.num_episodes} done. The next one starts in ${s} s.` }));
      } else if (f.state === "running" && status.phase === "between_episodes") {
        status.setPhase("playing");
        ui.panel.replaceChildren();
      }
    }),
    worker.on("match", (msg) => {
      if (msg.status) {
        Object.assign(match, { input_delay: msg.status.input_delay, stalls: msg.status.stalls,
          stall_ms: msg.status.stall_ms, desyncs: msg.status.desyncs, state: msg.status.state,
          pacing: msg.status.pacing });
        lockstepRtt = msg.status.rtt_ms || {};
      }
      for (const e of msg.events) {
        if (e.kind === "ready") {
          status.setPhase("playing");
          ui.panel.replaceChildren();
          if (!idle.watch && !over) {
            idle.watch = watchInactivity(scene, ctx);
            idle.watch?.fired.then(() => settle({ kind: "inactive" }));
            idleWaiting();
          }
        } else if (e.kind === "replayed") {
          match.replayed = e.frames;
          match.resumed_at = Date.now();
          report("resumed", { frames_replayed: e.frames, frame: e.frame,
            rejoin_ms: Math.round(performance.now() - rejoinStarted) });
        } else if (e.kind === "peer_away" && !over) {
          away.set(e.peer, performance.now() + e.grace_ms);
          match.pauses.push({ slot: slotOf.get(e.peer) ?? -1, frame: e.frame, away_ms: null, rejoined: null });
          showAway();
        } else if (e.kind === "peer_back") {
          away.delete(e.peer);
          const p = match.pauses.find((x) => x.slot === slotOf.get(e.peer) && x.away_ms === null);
          if (p) Object.assign(p, { away_ms: Math.round(e.away_ms), rejoined: e.rejoined });
          else match.pauses.push({ slot: slotOf.get(e.peer) ?? -1, frame: lastFrame, away_ms: Math.round(e.away_ms),
            rejoined: e.rejoined });
          report("pause", { peer_slot: slotOf.get(e.peer), frame: p ? p.frame : lastFrame,
            away_ms: Math.round(e.away_ms), rejoined: e.rejoined });
          showAway();
        } else if (e.kind === "desync") {
          ctx.report("desync", { match_id: start.match_id, frame: e.frame, peer_slot: slotOf.get(e.peer) });
        } else if (e.kind === "episode_done") {
          ctx.report("episode_end", { episode: e.episode, score: e.score, steps: e.steps });
        } else if (e.kind === "finished") {
          settle({ kind: "finished" });
        } else if (e.kind === "done") {
          lingerDone();
        } else if (e.kind === "peer_gone") {
          away.clear();
          showAway();
          lastGone = e;
          settle({ kind: "lost", reason: "peer_gone" });
        }
      }
    }),
    worker.on("error", (msg) => settle({ kind: "lost", reason: `error: ${msg.error.message}` })),
  ];
  const refreshStats = async () => {
    // rtt_ms: the ICE candidate pair's current round trip (whole ms in Chromium), else the lockstep's own
    // ping (measured at poll granularity); both are kept.
    match.peers = (await mesh.stats()).map((p) => ({ slot: p.slot, type: p.type, relay_protocol: p.relay_protocol,
      rtt_ms: p.rtt_ms ?? lockstepRtt[p.pid] ?? null, lockstep_rtt_ms: lockstepRtt[p.pid] ?? null }));
    match.connect_ms = mesh.connectMs;
    match.ice_restarts = mesh.iceRestarts;
    match.reconnects = mesh.reconnects;
  };
  const statsTimer = setInterval(() => refreshStats().catch(() => {}), STATS_EVERY_MS);
  const statusTimer = setInterval(() => {
    if (match.state !== "running") return;
    report("status", { ...summary(match, lastFrame), desyncs: match.desyncs.length,
      peers: match.peers.map((p) => ({ slot: p.slot, type: p.type, rtt_ms: p.rtt_ms })) });
  }, STATUS_EVERY_MS);
  const keyboard = new Keyboard(worker, [...Object.keys(scene.key_bindings), " "]);
  const pointer = scene.pointer ? new Pointer(worker, ui.canvas, () => ui.renderer.surface()) : null;
  /** @param {import("../wire.js").MatchReportKind} kind @param {Object<string, unknown>} data */
  const report = (kind, data) => conn.request("match_report", { match_id: start.match_id, kind, data }, { retries: 3 })
    .catch((err) => console.warn("mug: match report not stored", kind, err));

  try {
    const started = worker.call("start_match", { scene, match: start });
    const connected = mesh.ready.then(() => "connected", (err) => {
      console.warn("mug: could not connect", err);
      return "failed";
    });
    const first = await Promise.race([Promise.all([started, connected]).then((v) => v[1]), outcome]);
    if (first === "connected") {
      await refreshStats().catch(() => {});
      match.state = "synchronizing";
      await worker.call("run_match");
      ctx.report("match_connected", { match_id: start.match_id, connect_ms: mesh.connectMs, peers: match.peers });
    } else if (first === "failed") {
      match.state = "failed";
      settle({ kind: "lost", reason: start.rejoin ? "rejoin_failed" : "connect_failed" });
    }
    const result = await outcome;
    idle.watch?.stop();
    away.clear();
    showAway();
    clearInterval(statsTimer);
    clearInterval(statusTimer);
    keyboard.detach();
    if (result.kind === "inactive") {
      // the warning went unanswered: the server ends the match (the others get `partner_inactive`) and this
      // participant ends on the scene's `inactive` page; the records played so far are kept
      match.state = "ended";
      status.setPhase("saving");
      ui.panel.replaceChildren(h("p", { class: "mug-saving", text: "Saving your game..." }));
      await worker.call("stop").catch(() => {});
      await refreshStats().catch(() => {});
      await report("summary", summary(match, lastFrame));
      await outbox.flush(); // the records first: once the outcome is set, this scene takes no more
      return await reportInactive(conn, scene.id);
    }
    if (result.kind === "finished") {
      status.setPhase("saving");
      ui.panel.replaceChildren(h("p", { class: "mug-saving", text: "Saving your game..." }));
      await refreshStats().catch(() => {});
      await report("links", { peers: match.peers });
      await report("summary", summary(match, lastFrame));
      await report("finished", {});
      await outbox.flush();
      await Promise.race([lingered, sleep(LINGER_WAIT_MS)]);
      return await ctx.advance(scene.id, {});
    }
    let ended = result.kind === "ended" ? result : null;
    if (!ended) {
      // We lost a peer (or never reached it): tell the server, which ends the match for everyone.
      const gone = /** @type {{peer: string, last_confirmed_frame: number}|null} */ (lastGone);
      await report("peer_gone", { reason: result.kind === "lost" ? result.reason : "",
        peer_slot: gone ? slotOf.get(gone.peer) : null, last_confirmed_frame: gone ? gone.last_confirmed_frame : null });
      // (the server ends the match on this report, or ended it already: its match_end carries our page)
      const next = await Promise.race([matchEnd, sleep(MATCH_END_WAIT_MS)]);
      ended = next ? { kind: "ended", scene: next.scene } : null;
    }
    match.state = match.state === "peer_gone" ? "peer_gone" : "ended";
    status.setPhase("saving");
    await worker.call("stop").catch(() => {});
    await refreshStats().catch(() => {});
    await report("summary", summary(match, lastFrame));
    await outbox.flush();
    if (ended && ended.scene) return ended.scene;
    location.reload(); // no match_end reached us: the server knows where this participant is now
    return new Promise(() => {});
  } finally {
    idle.watch?.stop();
    if (awayTimer !== null) clearInterval(awayTimer);
    clearInterval(statsTimer);
    clearInterval(statusTimer);
    keyboard.detach();
    if (pointer) pointer.detach();
    for (const off of offs) off();
    socket.off("signal", onSignal);
    socket.off("match_end", onMatchEnd);
    await worker.call("stop").catch(() => {});
    mesh.close();
  }
}

/**
 * The match summary report. `own_delay_max`: this page's own input delay at its largest (pacing raises it,
 * mug/client/lockstep/pacing.py), `paced_ms`: the time pacing added between frames.
 * @param {{input_delay: number|null, stalls: number, stall_ms: number, desyncs: number[],
 *   pacing?: import("../worker_protocol.js").PacingStatus}} m
 * @param {number} lastFrame
 */
function summary(m, lastFrame) {
  return { input_delay: m.input_delay, frames: lastFrame + 1, stalls: m.stalls, stall_ms: m.stall_ms,
    desyncs: m.desyncs, own_delay_max: m.pacing ? m.pacing.max_delay : m.input_delay,
    paced_ms: m.pacing ? m.pacing.paced_ms : 0 };
}

/** @param {number} ms */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(() => resolve(null), ms));
}
