"""The page's inactivity watch (mug/client/static/inactivity.js), run in Node with a stand-in DOM and clock:
idle time counts only while the participant is expected to act, not while they wait on somebody else."""

from __future__ import annotations

import json

from node_js import STATIC, run_harness

# A stand-in DOM (just what InactivityWatch touches) and a clock the test sets; the watch's own timer is
# not started, so every tick is the script's. Each step is [time ms, action]; the script prints the
# reported events and whether the watch fired.
HARNESS = """
const el = () => ({ textContent: "", setAttribute() {}, append() {}, remove() {}, addEventListener() {} });
globalThis.window = { addEventListener() {}, removeEventListener() {} };
globalThis.document = { hidden: false, addEventListener() {}, removeEventListener() {}, createElement: el };
globalThis.setInterval = () => 0;
globalThis.clearInterval = () => {};
let now = 0;
Date.now = () => now;
const { InactivityWatch } = await import(process.argv[1]);
const steps = JSON.parse(process.argv[2]);
const events = [];
let fired = null;
const watch = new InactivityWatch({ limitS: 3, warningS: 2, root: el(),
  report: (kind, data) => events.push([now, kind, data.idle_ms ?? data.warned_ms]) });
watch.fired.then(() => { fired = now; });
for (const [t, action] of steps) {
  now = t;
  if (action === "tick") watch.tick();
  else if (action === "key") watch.input();
  else if (action === "wait") watch.waiting(true);
  else if (action === "go") watch.waiting(false);
  await null;
}
await null;
console.log(JSON.stringify({ events, fired }));
"""


def run(steps: list[tuple[int, str]]) -> dict[str, object]:
    result: dict[str, object] = run_harness(HARNESS, str(STATIC / "inactivity.js"), json.dumps(steps))
    return result


def test_an_idle_participant_is_warned_then_ended() -> None:
    got = run([(2_999, "tick"), (3_000, "tick"), (4_999, "tick"), (5_000, "tick")])
    assert got == {"events": [[3_000, "inactivity_warning", 3_000]], "fired": 5_000}


def test_waiting_for_another_players_move_or_a_reconnect_is_not_idle() -> None:
    got = run(
        [
            (1_000, "wait"),  # the partner's turn (or the match paused): a minute passes
            (61_000, "tick"),
            (61_000, "go"),  # this participant's turn: 1 s idle so far
            (62_999, "tick"),
            (63_000, "tick"),  # 3 s idle: the warning
            (64_000, "wait"),  # the countdown holds while waiting again
            (120_000, "tick"),
            (120_000, "go"),
            (120_999, "tick"),
            (121_000, "tick"),  # 2 s of counted countdown: ended
        ]
    )
    assert got == {"events": [[63_000, "inactivity_warning", 3_000]], "fired": 121_000}


def test_a_key_during_the_warning_dismisses_it_and_idle_starts_again() -> None:
    got = run([(3_000, "tick"), (4_000, "key"), (4_000, "wait"), (9_000, "go"), (11_999, "tick"), (12_000, "tick")])
    assert got == {
        "events": [
            [3_000, "inactivity_warning", 3_000],
            [4_000, "inactivity_dismissed", 1_000],
            [12_000, "inactivity_warning", 3_000],
        ],
        "fired": None,
    }


REPORT = """
globalThis.window = {};
globalThis.document = {};
const reloads = [];
globalThis.location = { reload: () => reloads.push("reload") };
console.info = () => {};
const { reportInactive } = await import(process.argv[1]);
const { WireError } = await import(process.argv[2]);
const answers = {
  outcome: async () => ({ ok: true, scene: { kind: "end", outcome: "inactive" } }),
  finished: async () => { throw new WireError("finished", "this participant has finished already"); },
  server_error: async () => { throw new WireError("server_error", "the inactive outcome could not be recorded"); },
};
const out = {};
for (const [name, request] of Object.entries(answers)) {
  const shown = await Promise.race([reportInactive({ request }, "duo"), new Promise((r) => setTimeout(r, 50))]);
  out[name] = { shown: shown ?? null, reloads: reloads.splice(0) };
}
console.log(JSON.stringify(out));
"""


def test_a_refused_inactive_report_reloads_for_the_stored_outcome() -> None:
    assert run_harness(REPORT, str(STATIC / "inactivity.js"), str(STATIC / "wire.js")) == {
        "outcome": {"shown": {"kind": "end", "outcome": "inactive"}, "reloads": []},
        # the outcome that landed first (a match_end, or another process's match end) comes with the reload
        "finished": {"shown": None, "reloads": ["reload"]},
        "server_error": {"shown": None, "reloads": ["reload"]},
    }
