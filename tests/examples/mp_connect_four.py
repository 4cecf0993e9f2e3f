"""A scripted two-browser connect-four match (examples/connect_four) played by clicks, as a program.

Usage: python mp_connect_four.py --bundle DIR --work DIR [--screenshot FILE.png]

Run inside a private network namespace (`netns-run`): Chromium gathers no loopback ICE candidates. Red
("player_0", slot 0) and Yellow ("player_1") click columns. They fill column 6 (three discs each,
alternating, no four), then Red clicks the full column 6 (masked: nothing happens) and Yellow clicks
column 5 while it is Red's turn (out of turn: nothing happens); then Red stacks column 0 while Yellow
plays column 1, and Red wins with its fourth disc in column 0. Every move waits for the turn display of
both pages. Writes `DIR/result.json` (turn texts seen, each page's final status and completion code) and
`DIR/export/` (`mug export`); with `--screenshot`, Red's page just before the winning move.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from mp_scenario import ARGS, CHROMIUM, console_logger, error_logger, export, status

from mug.testing import start_server

EXPERIMENT = Path(__file__).resolve().parents[2] / "examples" / "connect_four" / "experiment.py"
TURN = "[data-testid=mug-turn]"
COLS = 7
MOVES = [("R", 6), ("Y", 6), ("R", 6), ("Y", 6), ("R", 6), ("Y", 6)]
IGNORED = [("R", 6, "masked"), ("Y", 5, "out_of_turn")]  # both while it is Red's turn
FINISH = [("R", 0), ("Y", 1), ("R", 0), ("Y", 1), ("R", 0), ("Y", 1), ("R", 0)]
AGENT = {"R": "player_0", "Y": "player_1"}


def click_column(page: Any, col: int) -> None:
    """A click in the middle of column `col` of the canvas as it is shown."""
    canvas = page.locator("[data-testid=mug-canvas]")
    box = canvas.bounding_box()
    canvas.click(position={"x": box["width"] * (col + 0.5) / COLS, "y": box["height"] * 0.6})


def wait_turn(players: dict[str, Any], who: str) -> dict[str, str]:
    other = "Y" if who == "R" else "R"
    players[who].wait_for_function(f"document.querySelector('{TURN}').textContent === 'Your turn'")
    players[other].wait_for_function(f"document.querySelector('{TURN}').textContent === 'Waiting for {AGENT[who]}'")
    return {"who": who, "mover": players[who].text_content(TURN), "other": players[other].text_content(TURN)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    server = start_server(
        f"{EXPERIMENT}:experiment",
        database_url=f"sqlite:///{work / 'data.sqlite3'}",
        bundle_dir=Path(args.bundle),
        cwd=work,
        log=work / "server.log",
        log_level="info",
    )
    result: dict[str, Any] = {"players": [], "seen": [], "log": []}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            pages = [browser.new_context(viewport={"width": 900, "height": 820}).new_page() for _ in range(2)]
            for i, page in enumerate(pages):
                page.on("console", console_logger(result["log"], i))
                page.on("pageerror", error_logger(result["log"], i))
                page.goto(server.url + f"/?PROLIFIC_PID=c4-{i}")
            for page in pages:
                page.get_by_role("button", name="Find a partner").click()
            for page in pages:
                page.wait_for_function("document.body.dataset.mugPhase === 'playing'", timeout=120_000)
            by_slot = {status(pg)["match"]["slot"]: pg for pg in pages}
            players = {"R": by_slot[0], "Y": by_slot[1]}
            for who, col in MOVES:
                result["seen"].append(wait_turn(players, who))
                click_column(players[who], col)
            result["seen"].append(wait_turn(players, "R"))
            for who, col, _ in IGNORED:
                click_column(players[who], col)
                time.sleep(0.5)  # pacing only: the exported records show whether the click did anything
            for i, (who, col) in enumerate(FINISH):
                result["seen"].append(wait_turn(players, who))
                if args.screenshot and i == len(FINISH) - 1:
                    time.sleep(0.3)
                    players["R"].screenshot(path=args.screenshot)
                click_column(players[who], col)
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
    export(server.database_url, work / "export")
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bundle", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--screenshot", help="save Red's page before the winning move to this PNG")
    args = parser.parse_args()
    result = run(args)
    (Path(args.work) / "result.json").write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
