"""A match between browsers of different engines, as a program: a server, one headless Chromium participant
(Playwright) and one Firefox ESR participant (`mug.testing.firefox`), one result file.

Run as a subprocess by `test_browsers.py` inside a private network namespace (`netns-run`), so the two browsers
connect directly. Usage (the same as `mp_scenario.py`, whose result layout and checks it shares):

    python mp_browsers.py --experiment FILE:NAME --players 2 --bundle DIR --work DIR

Writes `DIR/result.json` (per participant: its browser, final status, phase and completion code; the pages'
console) and `DIR/export/` (the `mug export` tables).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from mp_scenario import KEYS, WEBRTC_ARGS, console_logger, error_logger, export, status

from mug.testing import start_server
from mug.testing.chromium import CHROMIUM
from mug.testing.firefox import Firefox


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
    )
    log: list[str] = result["log"]
    try:
        with sync_playwright() as p, Firefox() as firefox:
            result["browsers"] = {"firefox": firefox.version}
            chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=WEBRTC_ARGS)
            result["browsers"]["chromium"] = chromium.version
            pages: list[Any] = [chromium.new_context().new_page(), firefox.new_page()]
            names = ["chromium", "firefox"]
            pages[0].on("console", console_logger(log, 0))
            pages[0].on("pageerror", error_logger(log, 0))
            for i, page in enumerate(pages):
                page.goto(server.url + f"/?PROLIFIC_PID=mixed-{i}")
            t0 = time.monotonic()
            for page in pages:
                page.wait_for_function(
                    "['playing', 'end', 'error'].includes(document.body.dataset.mugPhase)", timeout=120_000
                )
            result["all_playing_s"] = round(time.monotonic() - t0, 2)
            ended: set[int] = set()
            tick = 0
            deadline = time.monotonic() + args.timeout
            while len(ended) < len(pages) and time.monotonic() < deadline:
                tick += 1
                for i, page in enumerate(pages):
                    if i in ended:
                        continue
                    st = status(page) if i == 0 else page.evaluate("window.mug ? window.mug.status() : null")
                    if st and st["phase"] in ("end", "error"):
                        ended.add(i)
                        continue
                    if tick % 5 == i % 5:  # change keys now and then, differently per participant
                        key = KEYS[(tick // 5 + i) % len(KEYS)]
                        for k in ("ArrowLeft", "ArrowRight"):
                            page.keyboard.up(k)
                        if key:
                            page.keyboard.down(key)
                time.sleep(0.1)
            for i, page in enumerate(pages):
                st = page.evaluate("window.mug ? window.mug.status() : null")
                code = page.evaluate(
                    "document.querySelector('[data-testid=mug-completion-code]')?.textContent?.trim() ?? null"
                )
                text = page.evaluate("document.querySelector('#mug-root')?.textContent?.slice(0, 500) ?? ''")
                result["players"].append(
                    {
                        "index": i,
                        "browser": names[i],
                        "status": st,
                        "phase": st and st["phase"],
                        "code": code,
                        "text": text,
                    }
                )
            log.extend(f"[1] {line}" for line in firefox.log)
            chromium.close()
    finally:
        server.stop()
    export(server.database_url, work / "export")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--experiment", required=True)
    parser.add_argument("--players", type=int, default=2, choices=[2])
    parser.add_argument("--bundle", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    result: dict[str, Any] = {"players": [], "log": []}
    try:
        run(args, result)
    finally:
        (Path(args.work) / "result.json").write_text(json.dumps(result, indent=1, default=str))


if __name__ == "__main__":
    main()
