"""Play the embedded demo in a real browser, from consent to completion code, then export the data."""

from __future__ import annotations

import csv
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests_e2e_helpers import HERE_EXPERIMENTS, export, phase, wait_phase

pytestmark = pytest.mark.browser


def test_demo_from_consent_to_completion_code(mug_server: Any, page: Any, tmp_path: Path) -> None:
    # The demo with a 1 s lobby wait and a short two-player game: alone, the visitor plays it with the AI.
    server = mug_server(f"{HERE_EXPERIMENTS}:demo_short")
    page.goto(server.url + "/?PROLIFIC_PID=e2e-pid&STUDY_ID=study-1&SESSION_ID=sess-1")

    # Consent: the runtime loads in the worker meanwhile.
    page.wait_for_selector("[data-testid=mug-continue]")
    assert phase(page) == "static"
    page.click("[data-testid=mug-continue]")

    # The game: wait for the runtime, then Start.
    wait_phase(page, "game")
    page.wait_for_function("window.mug?.status().runtime.ready", timeout=60_000)
    page.click("[data-testid=mug-continue]")
    wait_phase(page, "playing")
    page.keyboard.down("ArrowRight")
    page.wait_for_function("window.mug?.status().frame > 20")
    status = page.evaluate("window.mug.status()")
    assert status["scene_id"] == "catch" and status["episode"] == 0 and status["runtime"]["load_ms"] > 0
    canvas_pixels = page.evaluate("""() => {
        const c = document.querySelector('[data-testid=mug-canvas]');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const colors = new Set();
        for (let i = 0; i < d.length; i += 4 * 97) colors.add(d[i] << 16 | d[i + 1] << 8 | d[i + 2]);
        return colors.size;
    }""")
    assert canvas_pixels >= 3  # background, floor, paddle (and fruit): the draw list really was drawn

    # Episode 1 ends (all lives lost holding right, or the step limit); Space starts episode 2.
    wait_phase(page, "between_episodes", timeout=60_000)
    page.keyboard.up("ArrowRight")
    page.keyboard.press(" ")
    wait_phase(page, "playing")
    page.keyboard.down("ArrowLeft")
    wait_phase(page, "lobby", timeout=60_000)  # rows flushed, advanced to the two-player scene
    page.keyboard.up("ArrowLeft")

    # Nobody else comes: after the lobby timeout the AI takes the other paddle, and the match runs here.
    wait_phase(page, "playing", timeout=30_000)
    match = page.evaluate("window.mug.status().match")
    assert match["slot"] == 0 and match["peers"] == []
    page.keyboard.down("ArrowRight")
    wait_phase(page, "static", timeout=60_000)  # finished, rows flushed, advanced to the survey
    page.keyboard.up("ArrowRight")
    assert page.evaluate("window.mug.status().outbox") == {
        "pending_rows": 0,
        "pending_batches": 0,
        "refused_rows": 0,
        "refused_batches": 0,
    }

    # Survey: a required answer is checked before continuing.
    page.click("[data-testid=mug-continue]")
    assert page.is_visible(".mug-form-error") and phase(page) == "static"
    page.click("[data-testid=q-fun-6]")
    page.click("[data-testid=mug-continue]")

    code = page.wait_for_selector("[data-testid=mug-completion-code]").text_content()
    assert code and code.strip()
    final = page.evaluate("window.mug.status()")
    assert final["phase"] == "end" and final["scene_id"] == "end"

    # Export and check: one row per step, complete episodes, checksums, the URL parameters.
    out = tmp_path / "export"
    export(server.database_url, out)
    with open(out / "steps_catch.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {r["participant_id"] for r in rows} and len({r["participant_id"] for r in rows}) == 1
    for episode in ("0", "1"):
        ep = [r for r in rows if r["episode"] == episode]
        steps = sorted(int(r["step"]) for r in ep)
        assert steps == list(range(1, len(steps) + 1)), "one row per step, no gaps or duplicates"
        last = max(ep, key=lambda r: int(r["step"]))
        assert last["terminated"] == "1" or last["truncated"] == "1", "the episode is complete"
        assert all(r["obs_checksum"] and len(r["obs_checksum"]) == 16 for r in ep)
        assert len({r["episode_seed"] for r in ep}) == 1
    with open(out / "url_params.csv", newline="") as f:
        params = {r["name"]: r["value"] for r in csv.DictReader(f)}
    assert params == {"PROLIFIC_PID": "e2e-pid", "STUDY_ID": "study-1", "SESSION_ID": "sess-1"}
    with open(out / "participants.csv", newline="") as f:
        (participant,) = list(csv.DictReader(f))
    assert participant["completion_code"] == code.strip()
    with open(out / "events.csv", newline="") as f:
        kinds = [r["kind"] for r in csv.DictReader(f)]
    assert "runtime_ready" in kinds and kinds.count("episode_end") == 3
    with open(out / "steps_catch-duo.csv", newline="") as f:
        duo = list(csv.DictReader(f))
    assert [int(r["step"]) for r in duo] == list(range(1, 61)) and {r["match_id"] for r in duo} != {""}
    assert all('"right"' in r["action"] for r in duo)


def test_second_tab_is_refused_politely(mug_server: Any, browser: Any) -> None:
    server = mug_server()
    context = browser.new_context()
    try:
        first = context.new_page()
        first.goto(server.url + "/")
        first.wait_for_selector("[data-testid=mug-continue]")
        second = context.new_page()  # same profile: same token, another tab
        second.goto(server.url + "/")
        wait_phase(second, "second_tab")
        assert "already open in another tab" in second.text_content("#mug-root")
        assert phase(first) == "static"
    finally:
        context.close()


def test_links_with_other_parameters_are_other_participants(mug_server: Any, browser: Any) -> None:
    server = mug_server()
    context = browser.new_context()
    try:
        pages = []
        for pid in ("alice", "bob"):  # one browser, two study links: two participants (e.g. two test players)
            pg = context.new_page()
            pg.goto(f"{server.url}/?PROLIFIC_PID={pid}&STUDY_ID=s1")
            pg.wait_for_selector("[data-testid=mug-continue]")
            pages.append(pg)
        assert [phase(pg) for pg in pages] == ["static", "static"]
        same = context.new_page()  # the same link again, parameters in another order: the same participant
        same.goto(f"{server.url}/?STUDY_ID=s1&PROLIFIC_PID=bob")
        wait_phase(same, "second_tab")
    finally:
        context.close()
    db = server.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select value from url_params where name = 'PROLIFIC_PID' order by value").fetchall()
    assert rows == [("alice",), ("bob",)]


def test_refresh_mid_game_resumes_and_keeps_rows(mug_server: Any, page: Any) -> None:
    server = mug_server()
    page.goto(server.url + "/")
    page.click("[data-testid=mug-continue]")
    page.wait_for_function("window.mug?.status().runtime.ready", timeout=60_000)
    page.click("[data-testid=mug-continue]")
    wait_phase(page, "playing")
    page.wait_for_function("window.mug?.status().frame > 15")
    page.reload()
    wait_phase(page, "game")
    page.wait_for_function("window.mug?.status().outbox.pending_rows === 0", timeout=30_000)
    page.wait_for_selector("[data-testid=mug-continue]", timeout=60_000)
    page.click("[data-testid=mug-continue]")
    page.wait_for_function("window.mug?.status().episode !== null")
    assert page.evaluate("window.mug.status().episode") == 1  # episode 0 was played before the refresh


def test_exception_in_step_is_shown_and_reported(mug_server: Any, page: Any) -> None:
    server = mug_server(f"{HERE_EXPERIMENTS}:broken_step")
    page.goto(server.url + "/")
    page.wait_for_function("window.mug?.status().runtime.ready", timeout=60_000)
    page.click("[data-testid=mug-continue]")
    wait_phase(page, "playing")
    page.keyboard.press("ArrowLeft")
    wait_phase(page, "error")
    assert "action must be 0" in page.text_content("#mug-root")


def test_broken_factory_is_shown(mug_server: Any, page: Any) -> None:
    server = mug_server(f"{HERE_EXPERIMENTS}:broken_factory")
    page.goto(server.url + "/")
    page.click("[data-testid=mug-continue]")
    page.wait_for_function("window.mug?.status().runtime.ready", timeout=60_000)
    page.click("[data-testid=mug-continue]")
    wait_phase(page, "error")
    assert "ValueError" in page.text_content("#mug-root")


RED_COLUMNS = """() => {
    const c = document.querySelector('[data-testid=mug-canvas]');
    const px = (x, y) => Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data);
    const row = Array.from({length: 40}, (_, i) => px(i * 10 + 5, 200));
    return {corner: px(5, 5), red: row.flatMap((p, i) => p.join() === '255,0,0,255' ? [i] : [])};
}"""


def test_rgb_array_frames_are_drawn_scaled_and_hidden_tabs_play_the_default(mug_server: Any, page: Any) -> None:
    server = mug_server(f"{HERE_EXPERIMENTS}:pixels")
    page.goto(server.url + "/")
    page.wait_for_function("window.mug?.status().runtime.ready", timeout=60_000)
    page.click("[data-testid=mug-continue]")
    page.keyboard.down("ArrowRight")
    page.wait_for_function("window.mug?.status().frame > 10")
    # The 40 x 40 frame fills the 400 x 400 canvas: blue background, a red square moving right of centre.
    seen = page.evaluate(RED_COLUMNS)
    assert seen["corner"] == [0, 0, 120, 255]
    assert len(seen["red"]) == 8 and seen["red"][0] > 20

    # Hidden: the worker keeps stepping, with the default action (the held key no longer counts).
    page.evaluate("""() => {
        Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
        document.dispatchEvent(new Event('visibilitychange'));
    }""")
    frame = page.evaluate("window.mug.status().frame")
    page.wait_for_function(f"window.mug.status().frame > {frame + 3}")
    before = page.evaluate(RED_COLUMNS)["red"]
    frame = page.evaluate("window.mug.status().frame")
    page.wait_for_function(f"window.mug.status().frame > {frame + 10}")
    assert page.evaluate(RED_COLUMNS)["red"] == before
    page.keyboard.up("ArrowRight")
    wait_phase(page, "end", timeout=30_000)


def test_a_server_killed_mid_episode_and_restarted_loses_no_step(mug_server: Any, page: Any) -> None:
    server = mug_server(f"{HERE_EXPERIMENTS}:catch_long")
    page.goto(server.url + "/")
    page.wait_for_function("window.mug?.status().runtime.ready", timeout=60_000)
    page.click("[data-testid=mug-continue]")
    wait_phase(page, "playing")
    page.keyboard.down("ArrowRight")
    page.wait_for_function("window.mug?.status().frame > 30")
    server.kill()  # no shutdown of any kind
    page.wait_for_function("window.mug?.status().frame > 90")  # the game goes on in the browser meanwhile
    mug_server(again=server)
    page.wait_for_selector("[data-testid=mug-completion-code]", timeout=90_000)
    assert page.text_content("[data-testid=mug-completion-code]") == "DONE"
    assert page.evaluate("window.mug.status().outbox")["refused_rows"] == 0
    with sqlite3.connect(server.database_url.removeprefix("sqlite:///")) as conn:
        rows = conn.execute("select episode, step, terminated, truncated from steps order by step").fetchall()
    assert [r[1] for r in rows] == list(range(1, 241)), "every step of the episode stored, once"
    assert {r[0] for r in rows} == {0} and rows[-1][3] == 1  # truncated at max_steps, nothing after it


def test_tictactoe_against_a_policy_waits_for_the_human_and_ignores_masked_keys(
    mug_server: Any, page: Any, tmp_path: Path
) -> None:
    server = mug_server(f"{HERE_EXPERIMENTS}:tictactoe_vs_policy")
    page.goto(server.url + "/")
    page.wait_for_function("window.mug?.status().runtime.ready", timeout=60_000)
    page.click("[data-testid=mug-continue]")
    wait_phase(page, "playing")
    page.wait_for_function("document.querySelector('[data-testid=mug-turn]').textContent === 'Your turn'")
    step = "document.querySelector('.mug-step').textContent === '{}'"
    for key, steps_after in (("5", "2"), ("1", None), ("3", "4"), ("7", None)):
        page.keyboard.press(key)  # "1": the policy took cell 0, so the key does nothing
        if steps_after:
            page.wait_for_function(step.format(steps_after))
            page.wait_for_function("document.querySelector('[data-testid=mug-turn]').textContent === 'Your turn'")
    wait_phase(page, "end", timeout=30_000)
    out = tmp_path / "export"
    subprocess.run(
        [sys.executable, "-c", "import sys; from mug.cli import main; sys.exit(main())", "export"]
        + ["--database", server.database_url, "--out", str(out)],
        check=True,
    )
    with open(out / "steps_ttt.csv", newline="") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["step"]))
    assert [json.loads(r["action"]) for r in rows] == [
        {"player_1": 4},
        {"player_2": 0},
        {"player_1": 2},
        {"player_2": 1},
        {"player_1": 6},
        {"player_2": None},
        {"player_1": None},
    ], "no default action at the human's turn; the masked key did nothing; X won on the 2-4-6 diagonal"
    assert json.loads(rows[4]["reward"]) == {"player_1": 1.0, "player_2": -1.0} and rows[-1]["terminated"] == "1"


def test_tictactoe_is_played_to_its_end_by_clicks_and_taps_on_a_scaled_canvas(
    mug_server: Any, browser: Any, tmp_path: Path
) -> None:
    # A touch screen with devicePixelRatio 2 (a phone); the 270 x 270 canvas is shown at 180 CSS px, and the
    # env's frame is 90 x 90: the page must map each click into the frame's coordinates.
    server = mug_server(f"{HERE_EXPERIMENTS}:tictactoe_clicks")
    context = browser.new_context(has_touch=True, device_scale_factor=2)
    try:
        page = context.new_page()
        page.on("console", lambda m: print(f"console.{m.type}: {m.text}"))
        page.goto(server.url + "/")
        page.wait_for_function("window.mug?.status().runtime.ready", timeout=60_000)
        page.click("[data-testid=mug-continue]")
        wait_phase(page, "playing")
        canvas = page.locator("[data-testid=mug-canvas]")
        canvas.evaluate("c => { c.style.width = '180px'; }")
        assert canvas.evaluate("c => getComputedStyle(c).touchAction") == "none"
        turn = "document.querySelector('[data-testid=mug-turn]').textContent === 'Your turn'"
        step = "document.querySelector('.mug-step').textContent === '{}'"
        page.wait_for_function(turn)
        # cell 4 tapped, cell 0 clicked (the policy took it: nothing), cell 2 clicked, cell 6 tapped: 2-4-6 wins
        for cell, how, steps_after in ((4, "tap", "2"), (0, "click", None), (2, "click", "4"), (6, "tap", None)):
            row, col = divmod(cell, 3)
            at = {"x": 180 * (col + 0.5) / 3, "y": 180 * (row + 0.5) / 3}
            canvas.tap(position=at) if how == "tap" else canvas.click(position=at)
            if steps_after:
                page.wait_for_function(step.format(steps_after))
                page.wait_for_function(turn)
        wait_phase(page, "end", timeout=30_000)
    finally:
        context.close()
    out = tmp_path / "export"
    subprocess.run(
        [sys.executable, "-c", "import sys; from mug.cli import main; sys.exit(main())", "export"]
        + ["--database", server.database_url, "--out", str(out)],
        check=True,
    )
    with open(out / "steps_ttt.csv", newline="") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["step"]))
    assert [json.loads(r["action"]) for r in rows] == [
        {"player_1": 4},
        {"player_2": 0},
        {"player_1": 2},
        {"player_2": 1},
        {"player_1": 6},
        {"player_2": None},
        {"player_1": None},
    ], "each click played the cell under it; the click on the taken cell did nothing"
    assert json.loads(rows[4]["reward"]) == {"player_1": 1.0, "player_2": -1.0} and rows[-1]["terminated"] == "1"


def test_pettingzoos_own_tictactoe_plays_with_the_pygame_stand_in(mug_server: Any, page: Any) -> None:
    # pettingzoo.classic's tictactoe imports pygame, which the bundle lacks; the scene opts into MUG's
    # stand-in and draws the board with a Surface (tests/e2e/envpkg/mug_e2e_envs/classic.py).
    server = mug_server(f"{HERE_EXPERIMENTS}:classic_tictactoe")
    page.goto(server.url + "/")
    page.wait_for_function("window.mug?.status().runtime.ready", timeout=60_000)
    page.click("[data-testid=mug-continue]")
    wait_phase(page, "playing")
    turn = "document.querySelector('[data-testid=mug-turn]').textContent === 'Your turn'"
    page.wait_for_function(turn)
    colors = """() => {
        const c = document.querySelector('[data-testid=mug-canvas]');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        const seen = new Set();
        for (let i = 0; i < d.length; i += 4 * 7) seen.add(d[i] << 16 | d[i + 1] << 8 | d[i + 2]);
        return seen.size;
    }"""
    empty = page.evaluate(colors)
    page.keyboard.press("5")  # the centre square
    page.wait_for_function("document.querySelector('.mug-step').textContent === '2'")  # the policy replied
    page.wait_for_function(turn)
    assert page.evaluate(colors) > empty  # the marks were drawn by the Surface renderer
    page.keyboard.press("1")  # taken by the policy: does nothing
    page.keyboard.press("7")
    page.wait_for_function("document.querySelector('.mug-step').textContent === '4'")
    page.keyboard.press("3")  # 2-4-6 wins
    wait_phase(page, "end", timeout=30_000)


def test_a_sprite_from_the_assets_folder_is_drawn_from_the_first_frame(mug_server: Any, page: Any) -> None:
    server = mug_server(f"{HERE_EXPERIMENTS}:sprite")
    page.goto(server.url + "/")
    page.wait_for_function("window.mug?.status().runtime.ready", timeout=60_000)
    # the instructions' Markdown image points at the versioned URL, and loads
    img = page.wait_for_selector(".mug-body img")
    page.wait_for_function("document.querySelector('.mug-body img').naturalWidth === 16")
    src = img.get_attribute("src") or ""
    assert src.startswith("/assets/") and src.endswith("/green-square.png")
    page.click("[data-testid=mug-continue]")
    drawn = """() => {
        const c = document.querySelector('[data-testid=mug-canvas]');
        const px = (x, y) => Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data);
        return {centre: px(100, 100), corner: px(5, 5), frame: window.mug.status().frame};
    }"""
    page.wait_for_function(
        "document.querySelector('[data-testid=mug-canvas]').getContext('2d').getImageData(5, 5, 1, 1).data[3] > 0"
    )
    first = page.evaluate(drawn)
    assert first == {"centre": [255, 0, 0, 255], "corner": [0, 0, 255, 255], "frame": 0}, (
        "the first frame drew the preloaded sprite (red) on the blue surface (without preloading, the first frame "
        "would skip the image while it loads)"
    )
    wait_phase(page, "end", timeout=30_000)


WORKER_IMPORT = 'import { WORKER_PROTOCOL_VERSION, WorkerCallError, staleFilesMessage } from "./worker_protocol.js";'
STALE_WORKERS = {
    # a cached worker.js of another protocol version: the worker refuses the page's init
    "other_version": [
        (
            WORKER_IMPORT,
            'import { WorkerCallError, staleFilesMessage } from "./worker_protocol.js";\n'
            "const WORKER_PROTOCOL_VERSION = 1;",
        ),
    ],
    # a worker from before the version check: it loads, answers init without a protocol, and the page refuses it
    "before_the_check": [
        ("if (args.protocol !== WORKER_PROTOCOL_VERSION) {", "if (false) {"),
        ("return { load_ms, protocol: WORKER_PROTOCOL_VERSION };", "return { load_ms };"),
    ],
}


@pytest.mark.parametrize("stale", sorted(STALE_WORKERS))
def test_a_stale_worker_is_refused_with_a_reload_message(mug_server: Any, page: Any, stale: str) -> None:
    def serve_stale(route: Any) -> None:
        body = route.fetch().text()
        for old, new in STALE_WORKERS[stale]:
            assert old in body
            body = body.replace(old, new)
        route.fulfill(body=body, content_type="text/javascript")

    page.route("**/worker.js", serve_stale)
    server = mug_server()
    page.goto(server.url + "/")
    page.wait_for_function("window.mug?.status().runtime.error", timeout=60_000)
    assert not page.evaluate("window.mug.status().runtime.ready")
    page.click("[data-testid=mug-continue]")  # consent; the game scene then shows the error
    wait_phase(page, "error")
    text = page.text_content("#mug-root")
    assert "out of date" in text and "reload" in text
