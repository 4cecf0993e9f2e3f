"""Take docs/images/onnx-partner.png: the ONNX partner example (examples/onnx_partner) in headless Chromium.

    .venv/bin/mug bundle && .venv/bin/python scripts/screenshot_onnx_partner.py

It serves the example on a free loopback port from ./pyodide_bundle, plays a few seconds holding ArrowRight
while the partner moves on its own, and saves the page.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from mug.testing import start_server
from mug.testing.chromium import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "images" / "onnx-partner.png"


def phase(page: object, name: str, timeout: float = 60_000) -> None:
    page.wait_for_function(f"window.mug?.status().phase === {name!r}", timeout=timeout)  # type: ignore[attr-defined]


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        server = start_server(
            f"{ROOT / 'examples' / 'onnx_partner' / 'experiment.py'}",
            database_url=f"sqlite:///{tmp}/shot.sqlite3",
            bundle_dir=ROOT / "pyodide_bundle",
        )
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 900, "height": 720})
                page.goto(server.url + "/")
                page.click("[data-testid=mug-continue]")
                phase(page, "game")
                page.wait_for_function("window.mug?.status().runtime.ready", timeout=60_000)
                page.click("[data-testid=mug-continue]")
                phase(page, "playing")
                page.keyboard.down("ArrowRight")
                time.sleep(1.2)
                page.keyboard.up("ArrowRight")
                page.wait_for_function("window.mug?.status().frame > 90", timeout=30_000)
                OUT.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(OUT))
                browser.close()
        finally:
            server.stop()
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
