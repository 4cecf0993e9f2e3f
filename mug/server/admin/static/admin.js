// @ts-check
// The admin view: polls /admin/api/state every POLL_MS and redraws; actions are POSTs carrying the session's
// CSRF token (the X-MUG-CSRF header; the server also checks the Origin header). Everything shown is built
// with DOM nodes and textContent: participant ids and scene names never become markup.
import uPlot from "./vendor/uPlot.esm.js";

const POLL_MS = 2000;
const STALE_AFTER_MS = 6000; // no answer for this long: the header says the view is stale
const CONFIRM_MS = 4000; // a dangerous button asks "Confirm?" for this long

/**
 * @typedef {{slot: number|null, type: string|null, rtt_ms: number|null}} Link
 * @typedef {{participant: string, slot: number, frame: number|null, input_delay: number|null, stalls: number|null,
 *   stall_ms: number|null, desyncs: number, links: Link[]}} Member
 * @typedef {{id: string, scene_id: string, running_s: number, input_delay: number|string|null,
 *   members: Member[]}} RunningMatch
 * @typedef {{id: string, scene_id: string, end_reason: string|null, ended_s_ago: number, members: string[]}} EndedMatch
 * @typedef {{scene_id: string, group_size: number, timeout_s: number|null,
 *   waiting: {participant: string, waited_s: number}[]}} Lobby
 * @typedef {{id: string, scene: string, phase: string, condition: string|null, since_s: number}} UnderWay
 * @typedef {{now: number, experiment: {id: string, title: string},
 *   participants: {total: number, by_scene: {scene: string, phases: Object<string, number>}[]},
 *   under_way: UnderWay[], outcomes: Object<string, number>,
 *   conditions: Object<string, {assigned: number, completed: number}>, lobbies: Lobby[],
 *   matches: RunningMatch[], ended_matches: EndedMatch[],
 *   load: {t: number[], arrivals: number[], matches: number[], bucket_s: number},
 *   waits: {t: number[], waited_s: number[]}}} State
 */

const PHASES = ["scene", "lobby", "match", "finished", "outcome"];

const csrf = /** @type {HTMLMetaElement} */ (document.querySelector('meta[name="mug-csrf"]')).content;
const updated = /** @type {HTMLElement} */ (document.querySelector("[data-testid=admin-updated]"));
const message = /** @type {HTMLElement} */ (document.getElementById("admin-message"));

/**
 * @param {string} tag
 * @param {Object<string, string>} [attrs]
 * @param {(Node|string|number|null)[]} children
 * @returns {HTMLElement}
 */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  for (const c of children) if (c !== null) el.append(typeof c === "number" ? String(c) : c);
  return el;
}

/** @param {string[]} head @param {(Node|string|number|null)[][]} rows @param {string} [empty] */
function table(head, rows, empty = "none") {
  if (rows.length === 0) return h("p", { class: "admin-empty" }, empty);
  return h("table", {}, h("thead", {}, h("tr", {}, ...head.map((x) => h("th", {}, x)))),
    h("tbody", {}, ...rows.map((r) => h("tr", {}, ...r.map((c) => h("td", typeof c === "number" ? { class: "num" } : {}, c))))));
}

/**
 * Replace a section's content, unless a button in it waits for its confirming click (it must not vanish
 * under the pointer: the section is redrawn at the next poll after).
 * @param {string} id @param {Node} content
 */
function put(id, content) {
  const el = /** @type {HTMLElement} */ (document.getElementById(id));
  if (el.querySelector("button.confirm")) return;
  el.replaceChildren(content);
}

/** @param {number|null|undefined} v @param {number} [digits] */
function num(v, digits = 0) {
  return v === null || v === undefined ? "-" : v.toFixed(digits);
}

/**
 * A button that asks to be clicked again within CONFIRM_MS before it acts.
 * @param {string} label @param {string} testid @param {() => Promise<void>} act
 */
function dangerButton(label, testid, act) {
  const b = /** @type {HTMLButtonElement} */ (h("button", { type: "button", class: "danger", "data-testid": testid }, label));
  /** @type {ReturnType<typeof setTimeout>|null} */
  let armed = null;
  b.addEventListener("click", () => {
    if (armed === null) {
      b.textContent = `Confirm: ${label.toLowerCase()}`;
      b.className = "confirm";
      armed = setTimeout(() => {
        armed = null;
        b.textContent = label;
        b.className = "danger";
      }, CONFIRM_MS);
      return;
    }
    clearTimeout(armed);
    armed = null;
    b.textContent = label;
    b.className = "danger";
    b.disabled = true;
    act().finally(() => (b.disabled = false));
  });
  return b;
}

/** @param {string} path @returns {Promise<void>} */
async function post(path) {
  const res = await fetch(path, { method: "POST", headers: { "X-MUG-CSRF": csrf }, credentials: "same-origin" });
  /** @type {{ok: boolean, error?: {code: string, message: string}}} */
  const body = await res.json().catch(() => ({ ok: false, error: { code: "bad_reply", message: res.statusText } }));
  if (!res.ok || !body.ok) {
    if (res.status === 401) location.reload(); // the session ended: the login form
    message.className = "admin-message";
    message.textContent = `Refused: ${body.error ? body.error.message : res.status}`;
    return;
  }
  message.className = "admin-message ok";
  message.textContent = `Done: ${path}`;
  await poll();
}

/** @type {Map<string, uPlot>} one plot per chart, given new data at each poll */
const plots = new Map();

/** @param {string} id @param {string[]} labels @param {number[][]} data @param {boolean} [points] */
function plot(id, labels, data, points = false) {
  const el = /** @type {HTMLElement} */ (document.getElementById(id));
  const colours = ["#1f77b4", "#d62728", "#2ca02c"];
  let p = plots.get(id);
  if (p === undefined) {
    p = new uPlot({
      width: Math.max(320, el.clientWidth || 400), height: 160,
      // the waits are one point per member of a formed match: points, no line
      series: [{}, ...labels.map((label, i) => ({ label, stroke: colours[i % colours.length], width: 1.5,
        points: { show: points, size: 5 }, ...(points ? { paths: () => null } : {}) }))],
      scales: { x: { time: true } },
    }, data, el);
    plots.set(id, p);
  } else {
    p.setData(data);
  }
}

/** @param {RunningMatch[]} matches */
function drawMatches(matches) {
  const head = ["match", "scene", "running (s)", "members: slot, frame", "input delay", "links (type, round trip ms)",
    "stalls (ms)", "desyncs", ""];
  const rows = matches.map((m) => {
    const delay = [...new Set(m.members.map((x) => x.input_delay).filter((d) => d !== null))];
    const types = [...new Set(m.members.flatMap((x) => x.links.map((l) => l.type ?? "unknown")))];
    const cells = [
      m.id, m.scene_id, num(m.running_s),
      m.members.map((x) => `${x.slot}: ${x.participant} @${num(x.frame)}`).join("\n"),
      delay.length ? delay.join("/") : String(m.input_delay ?? "-"),
      m.members.map((x) => x.links.map((l) => `${x.slot}→${l.slot} ${l.type ?? "?"} ${num(l.rtt_ms, 1)}`).join(", ")
        || `${x.slot}: not connected yet`).join("\n"),
      m.members.map((x) => `${num(x.stalls)} (${num(x.stall_ms)})`).join(" / "),
      m.members.map((x) => x.desyncs).join(" / "),
    ];
    // data-reported: every member has sent a status report (the figures are theirs, not just the scene's)
    const reported = String(m.members.every((x) => x.input_delay !== null));
    return h("tr", { "data-testid": `admin-match-${m.id}`, "data-connection": types.join(","),
      "data-reported": reported },
      ...cells.map((c) => h("td", { class: "pre" }, c)),
      h("td", {}, dangerButton("End match", `admin-end-${m.id}`,
        () => post(`/admin/api/matches/${encodeURIComponent(m.id)}/end`))));
  });
  put("admin-matches", rows.length === 0 ? h("p", { class: "admin-empty" }, "no running match")
    : h("table", {}, h("thead", {}, h("tr", {}, ...head.map((x) => h("th", {}, x)))), h("tbody", {}, ...rows)));
}

/** @param {State} s */
function draw(s) {
  const phases = PHASES.filter((p) => s.participants.by_scene.some((x) => x.phases[p]));
  put("admin-scenes", table(["scene", ...phases, "all"], s.participants.by_scene.map((x) => [x.scene,
    ...phases.map((p) => x.phases[p] ?? 0), Object.values(x.phases).reduce((a, b) => a + b, 0)]), "nobody yet"));
  put("admin-outcomes", table(["outcome", "participants"], Object.entries(s.outcomes)));
  put("admin-conditions", table(["condition", "assigned", "completed"],
    Object.entries(s.conditions).map(([c, n]) => [c, n.assigned, n.completed]), "no conditions"));
  put("admin-lobbies", table(["lobby (scene)", "group", "timeout (s)", "waiting (s each)"], s.lobbies.map((l) => [
    l.scene_id, l.group_size, l.timeout_s ?? "none",
    l.waiting.length ? l.waiting.map((w) => `${w.participant} ${num(w.waited_s)}`).join(", ") : "nobody"]),
    "no multiplayer scene"));
  drawMatches(s.matches);
  put("admin-ended", table(["match", "scene", "end", "ended (s ago)", "members"], s.ended_matches.map((m) => [
    m.id, m.scene_id, m.end_reason ?? "", num(m.ended_s_ago), m.members.join(", ")])));
  put("admin-under-way", table(["participant", "scene", "phase", "condition", "arrived (s ago)", ""],
    s.under_way.map((p) => [p.id, p.scene, p.phase, p.condition ?? "", num(p.since_s),
      dangerButton("Exclude", `admin-exclude-${p.id}`, () => post(`/admin/api/participants/${encodeURIComponent(p.id)}/exclude`))]),
    "nobody under way"));
  plot("admin-load-plot", ["arrivals", "running matches"], [s.load.t, s.load.arrivals, s.load.matches]);
  plot("admin-wait-plot", ["wait (s)"], [s.waits.t, s.waits.waited_s], true);
}

let lastOk = Date.now();
let polling = false;

async function poll() {
  if (polling) return;
  polling = true;
  try {
    const res = await fetch("/admin/api/state", { credentials: "same-origin", cache: "no-store" });
    if (res.status === 401) {
      location.reload();
      return;
    }
    if (!res.ok) throw new Error(`state: HTTP ${res.status}`);
    const state = /** @type {State} */ (await res.json());
    draw(state);
    lastOk = Date.now();
    updated.className = "admin-updated";
    updated.textContent = `updated ${new Date(state.now * 1000).toLocaleTimeString()}: ${state.participants.total} participants, ${state.matches.length} running matches`;
    updated.dataset.matches = String(state.matches.length);
  } catch (err) {
    console.warn("admin: poll failed", err);
    if (Date.now() - lastOk > STALE_AFTER_MS) {
      updated.className = "admin-updated stale";
      updated.textContent = `no answer from the server since ${new Date(lastOk).toLocaleTimeString()}`;
    }
  } finally {
    polling = false;
  }
}

/** @type {HTMLButtonElement} */ (document.getElementById("admin-logout")).addEventListener("click", async () => {
  await fetch("/admin/logout", { method: "POST", headers: { "X-MUG-CSRF": csrf }, credentials: "same-origin" });
  location.reload();
});

poll();
setInterval(poll, POLL_MS);
