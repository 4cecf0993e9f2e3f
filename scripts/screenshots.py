"""Screenshots of the examples for the docs, taken in headless Chromium (Debian's, via playwright).

    .venv/bin/python scripts/screenshots.py [--bundle DIR] [--out docs]

- `docs/example-gather.png`: examples/gather, one participant with the AI partner, after a few seconds of
  play (arrow keys held).
- `docs/example-minigrid.png`: examples/minigrid (Farama's minigrid from PyPI), a few moves in.
- `docs/example-connect-four.png`: examples/connect_four, two pages in a match playing by clicks, Red's
  page before its winning move (`tests/examples/mp_connect_four.py`, run inside a private network
  namespace by the shared `netns-run`: Chromium gathers no loopback ICE candidates; needs root).

The bundle (default: a folder under the system's temp dir) is built with both examples' packages when
missing or stale.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mug.testing import start_server
from mug.testing.bundle import ensure_bundle
from mug.testing.chromium import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
PACKAGES = [
    str(EXAMPLES / "connect_four" / "connect_four_env"),
    str(EXAMPLES / "gather" / "gather_env"),
    "minigrid==3.2.0",
]
NETNS_RUN = ROOT.parent / "shared" / "tools" / "netns-run"


def single_player(bundle: Path, out: Path, work: Path, example: str, keys: list[str], hold_s: float) -> None:
    """One participant plays `examples/<example>` for a few keys (each held `hold_s`), then the screenshot."""
    from playwright.sync_api import sync_playwright

    server = start_server(
        f"{EXAMPLES / example / 'experiment.py'}:experiment",
        database_url=f"sqlite:///{work / (example + '.sqlite3')}",
        bundle_dir=bundle,
        cwd=work,
    )
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 900, "height": 820}).new_page()
            page.goto(server.url + "/?PROLIFIC_PID=screenshot")
            page.click("[data-testid=mug-continue]")  # the instructions
            page.wait_for_function("window.mug?.status().runtime.ready", timeout=120_000)
            if page.evaluate("document.body.dataset.mugPhase") == "game":
                page.click("[data-testid=mug-continue]")  # the game scene's Start
            page.wait_for_function("document.body.dataset.mugPhase === 'playing'", timeout=60_000)
            page.wait_for_function("window.mug.status().frame > 0")
            for key in keys:
                page.keyboard.down(key)
                time.sleep(hold_s)
                page.keyboard.up(key)
                time.sleep(0.2)
            page.screenshot(path=str(out))
            browser.close()
    finally:
        server.stop()


def connect_four(bundle: Path, out: Path, work: Path) -> None:
    program = ROOT / "tests" / "examples" / "mp_connect_four.py"
    cmd = [str(NETNS_RUN), sys.executable, str(program), "--bundle", str(bundle), "--work", str(work)]
    subprocess.run([*cmd, "--screenshot", str(out)], check=True, timeout=400)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bundle", default=str(Path(tempfile.gettempdir()) / "mug-screenshots-bundle"))
    parser.add_argument("--out", default=str(ROOT / "docs"))
    args = parser.parse_args()
    bundle = ensure_bundle(Path(args.bundle), PACKAGES).path
    out = Path(args.out)
    with tempfile.TemporaryDirectory(prefix="mug-screenshots-") as tmp:
        keys = ["ArrowDown", "ArrowRight", "ArrowDown", "ArrowRight"]
        single_player(bundle, out / "example-gather.png", Path(tmp), "gather", keys, 0.6)
        single_player(bundle, out / "example-minigrid.png", Path(tmp), "minigrid", ["ArrowRight", "ArrowUp"], 0.05)
        connect_four(bundle, out / "example-connect-four.png", Path(tmp) / "c4")
    print(out / "example-gather.png", out / "example-minigrid.png", out / "example-connect-four.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
