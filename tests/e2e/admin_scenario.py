"""The admin view ends a live match, in real browsers: a program run by `test_e2e_admin.py`.

Inside a private network namespace (`netns-run`, so the two participant pages connect directly), it starts a
server with `MUG_ADMIN_PASSWORD`, opens two participant pages of a long multiplayer scene and an admin page
that logs in through its form, waits until the admin page shows the match with its connection type and round
trip, ends it with the match's button (two clicks: "End match", then its confirmation), and waits for both
participants' outcome pages. Usage:

    python admin_scenario.py --experiment FILE:NAME --bundle DIR --work DIR [--password P] [--end-after-s S]

Writes `DIR/result.json`: what the admin page showed (`row`: the match's cells and `data-connection`), the
login refusal of a wrong password, each participant's end page (phase, title, completion code, frame reached),
`ended_s` (seconds from the confirming click to the last participant's end page), `DIR/admin.png` (the admin
page just before the match is ended), and `DIR/export/` (the `mug export` tables).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mug.testing import start_server
from mug.testing.chromium import CHROMIUM, WEBRTC_ARGS

if TYPE_CHECKING:
    from collections.abc import Callable

    from playwright.sync_api import ConsoleMessage

PLAYING = "['playing', 'end', 'error'].includes(document.body.dataset.mugPhase)"
STATUS = "window.mug ? window.mug.status() : null"


def console_logger(log: list[str], tag: str) -> Callable[[ConsoleMessage], None]:
    """A page's console messages into `log`, tagged."""
    return lambda m: log.append(f"[{tag}] {m.type}: {m.text}")


def run(args: argparse.Namespace, result: dict[str, Any]) -> None:
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
        admin_password=args.password,
    )
    log: list[str] = result["log"]
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=WEBRTC_ARGS)
            players = [browser.new_context().new_page() for _ in range(2)]
            for i, page in enumerate(players):
                page.on("console", console_logger(log, str(i)))
                page.goto(f"{server.url}/?PROLIFIC_PID=admin-{i}")
            admin = browser.new_context().new_page()
            admin.on("console", console_logger(log, "admin"))
            admin.on("pageerror", lambda e: log.append(f"[admin] pageerror: {e}"))
            admin.goto(f"{server.url}/admin")
            admin.fill("input[name=password]", "not the password at all")
            admin.click("button[type=submit]")
            result["wrong_password"] = admin.text_content("[data-testid=admin-login-message]")
            admin.fill("input[name=password]", args.password)
            admin.click("button[type=submit]")
            admin.wait_for_selector("[data-testid=admin-matches]", timeout=10_000)
            for page in players:
                page.wait_for_function(PLAYING, timeout=90_000)
            t_playing = time.monotonic()
            # the match, once both members' links are known (their match_connected events or status reports)
            row = admin.wait_for_selector(
                "tr[data-testid^=admin-match-][data-connection]:not([data-connection=''])", timeout=30_000
            )
            assert row is not None
            result["shown_after_s"] = round(time.monotonic() - t_playing, 2)
            while time.monotonic() - t_playing < args.end_after_s:
                time.sleep(0.2)
            # every member's status report has arrived (one every 5 s of a running match)
            admin.wait_for_selector("tr[data-testid^=admin-match-][data-reported=true]", timeout=30_000)
            row = admin.query_selector("tr[data-testid^=admin-match-]")
            assert row is not None
            result["row"] = {
                "testid": row.get_attribute("data-testid"),
                "connection": row.get_attribute("data-connection"),
                "cells": [(c.text_content() or "") for c in row.query_selector_all("td")],
            }
            result["header"] = admin.text_content("[data-testid=admin-updated]")
            admin.screenshot(path=str(work / "admin.png"), full_page=True)
            # a locator finds the button anew for each action (the view redraws its tables at every poll; an
            # armed button is kept until its confirming click)
            button = admin.locator("button[data-testid^=admin-end-]")
            button.click()
            result["armed_text"] = button.text_content()
            result["frames_at_end"] = [((pg.evaluate(STATUS) or {}).get("frame")) for pg in players]
            button.click()
            t_end = time.monotonic()
            for page in players:
                page.wait_for_function("document.body.dataset.mugPhase === 'end'", timeout=20_000)
            result["ended_s"] = round(time.monotonic() - t_end, 2)
            admin.wait_for_function(
                "document.querySelector('[data-testid=admin-updated]').dataset.matches === '0'", timeout=10_000
            )
            result["admin_message"] = admin.text_content("[data-testid=admin-message]")
            for page in players:
                code = page.query_selector("[data-testid=mug-completion-code]")
                status = page.evaluate(STATUS) or {}
                result["players"].append(
                    {
                        "phase": status.get("phase"),
                        "frame": status.get("frame"),
                        "text": (page.text_content("#mug-root") or "")[:500],
                        "code": (code.text_content() or "").strip() if code else None,
                    }
                )
            browser.close()
    finally:
        server.stop()
    cli = "import sys; from mug.cli import main; sys.exit(main())"
    export = [sys.executable, "-c", cli, "export", "--database", server.database_url, "--out", str(work / "export")]
    subprocess.run(export, check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--experiment", required=True)
    parser.add_argument("--bundle", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--password", default="a long admin password")
    parser.add_argument("--end-after-s", type=float, default=6.0)
    args = parser.parse_args()
    result: dict[str, Any] = {"players": [], "log": []}
    try:
        run(args, result)
    finally:
        (Path(args.work) / "result.json").write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
