"""A scripted two-browser tic-tac-toe match (`experiments.py:mp_tictactoe`) as a program, like `mp_scenario.py`.

Usage: python mp_tictactoe.py --experiment FILE:NAME [--players 2] --bundle DIR --work DIR [--clicks]

X (slot 0, "player_1") and O (slot 1, "player_2") play cells by the keys "1".."9". Between the scripted
moves each player also presses keys that must do nothing: O presses "9" while it is X's turn (out of
turn), O presses "1" and X presses "4" on their own turns when those cells are taken (masked). With
`--clicks` every key press is a click at the centre of that cell on the canvas instead: a mouse click on
the first page, a tap on the second (a touch screen with a device pixel ratio of 2). Each step
waits for the turn display of both pages. Writes `DIR/result.json` (the turn texts seen at each step,
each page's final status and completion code) and `DIR/export/`.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from mp_scenario import ARGS, CHROMIUM, console_logger, error_logger, export, status

from mug.testing import start_server

TURN = "[data-testid=mug-turn]"
# (who presses, key, what it is): X's cells 0, 1, 2 win the top row; O takes 3 and 4.
SCRIPT = [
    ("O", "9", "out_of_turn"),
    ("X", "1", "move"),
    ("O", "1", "masked"),
    ("O", "4", "move"),
    ("X", "4", "masked"),
    ("X", "2", "move"),
    ("O", "5", "move"),
    ("X", "3", "move"),
]


def turn_text(page: Any) -> str:
    return str(page.text_content(TURN) or "")


def click_cell(page: Any, key: str, tap: bool) -> None:
    """A click (or tap) at the centre of cell int(key) - 1 of the canvas as it is shown."""
    canvas = page.locator("[data-testid=mug-canvas]")
    box = canvas.bounding_box()
    row, col = divmod(int(key) - 1, 3)
    at = {"x": box["width"] * (col + 0.5) / 3, "y": box["height"] * (row + 0.5) / 3}
    if tap:
        canvas.tap(position=at)
    else:
        canvas.click(position=at)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    server = start_server(
        args.experiment,
        database_url=f"sqlite:///{work / 'data.sqlite3'}",
        bundle_dir=Path(args.bundle),
        cwd=work,
        log=work / "server.log",
        log_level="info",
    )
    url, db = server.url, server.database_url
    result: dict[str, Any] = {"players": [], "seen": [], "log": []}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            # the second page is a touch screen with a device pixel ratio of 2 (a phone), the first a desktop
            contexts = [browser.new_context(), browser.new_context(has_touch=True, device_scale_factor=2)]
            pages = [c.new_page() for c in contexts]
            for i, page in enumerate(pages):
                page.on("console", console_logger(result["log"], i))
                page.on("pageerror", error_logger(result["log"], i))
                page.goto(url + f"/?PROLIFIC_PID=mp-{i}")
            for page in pages:
                page.wait_for_function("document.body.dataset.mugPhase === 'playing'", timeout=90_000)
            by_slot = {status(pg)["match"]["slot"]: pg for pg in pages}
            players = {"X": by_slot[0], "O": by_slot[1]}
            for who, key, kind in SCRIPT:
                page = players[who]
                if kind != "out_of_turn":  # wait until it is `who`'s turn on both pages
                    other = players["O" if who == "X" else "X"]
                    mover = "player_1" if who == "X" else "player_2"
                    page.wait_for_function(f"document.querySelector('{TURN}').textContent === 'Your turn'")
                    other.wait_for_function(f"document.querySelector('{TURN}').textContent === 'Waiting for {mover}'")
                    result["seen"].append({"who": who, "mover": turn_text(page), "other": turn_text(other)})
                if args.clicks:
                    click_cell(page, key, tap=page is pages[1])
                else:
                    page.keyboard.press(key)
                if kind != "move":
                    time.sleep(0.4)  # pacing only: the exported records show whether the key did anything
            for page in pages:
                page.wait_for_function("['end', 'error'].includes(document.body.dataset.mugPhase)", timeout=30_000)
            for i, page in enumerate(pages):
                code = page.query_selector("[data-testid=mug-completion-code]")
                result["players"].append(
                    {"index": i, "status": status(page), "code": (code.text_content() or "").strip() if code else None}
                )
            browser.close()
    finally:
        server.stop()
    export(db, work / "export")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--experiment", required=True)
    parser.add_argument("--players", type=int, choices=[2], default=2)
    parser.add_argument("--bundle", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--clicks", action="store_true", help="click (or tap) the cells instead of pressing keys")
    args = parser.parse_args()
    result = run(args)
    (Path(args.work) / "result.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
