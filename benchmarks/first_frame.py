"""Time from opening the page to the first playable frame, in headless Chromium, cold and warm, beside the
bare floor measured in the same run: a page that only loads Pyodide, numpy and gymnasium from the same bundle
served with the same headers.

    .venv/bin/python benchmarks/first_frame.py [--runs 3]

MUG's page: open `/`, press the consent button as soon as it shows, press Start on the game page as soon as it
shows, and stop the clock when the worker has drawn frame 1 (`window.mug.status().frame >= 1`). Cold: a new
browser profile (empty HTTP cache); warm: the same profile opening the page again.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Mount, Route

from mug.bundle import build_bundle, bundle_is_current, load_manifest
from mug.server.pages import ImmutableFiles
from mug.testing import free_port, start_server, wait_until
from mug.testing.chromium import CHROMIUM, CHROMIUM_ARGS

FLOOR_PAGE = """<!doctype html><meta charset="utf-8"><title>floor</title><script type="module">
const t0 = performance.now();
const { loadPyodide } = await import("/bundle/pyodide.mjs");
const py = await loadPyodide({ indexURL: "/bundle/", lockFileURL: "/bundle/pyodide-lock.json",
                                packages: ["numpy", "gymnasium"] });
// gymnasium needs an importable _multiprocessing (see mug.client.pyodide_compat); a bare stand-in
py.runPython(`import sys, types
m = types.ModuleType("_multiprocessing")
class SemLock:
    SEM_VALUE_MAX = 2147483647
m.SemLock, m.sem_unlink, m.flags = SemLock, lambda n: None, {}
sys.modules["_multiprocessing"] = m
import numpy, gymnasium`);
window.floorReadyMs = performance.now();
</script>"""


def serve_floor(bundle_dir: Path) -> tuple[str, uvicorn.Server]:
    async def index(_: Any) -> HTMLResponse:
        return HTMLResponse(FLOOR_PAGE, headers={"Cache-Control": "no-store"})

    app = Starlette(routes=[Route("/", index), Mount("/bundle", ImmutableFiles(directory=bundle_dir))])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    wait_until(lambda: server.started, 30, what="the floor page server started")
    return f"http://127.0.0.1:{port}/", server


def floor_ms(page: Any, url: str) -> float:
    page.goto(url)
    page.wait_for_function("window.floorReadyMs !== undefined", timeout=120_000)
    return float(page.evaluate("window.floorReadyMs"))


def mug_ms(page: Any, url: str) -> float:
    page.goto(url)
    page.click("[data-testid=mug-continue]", timeout=60_000)  # consent
    page.wait_for_function("document.body.dataset.mugPhase === 'game'", timeout=60_000)
    page.click("[data-testid=mug-continue]", timeout=120_000)  # Start (shown once the runtime is ready)
    page.wait_for_function("window.mug.status().frame >= 1", timeout=120_000, polling=5)
    return float(page.evaluate("performance.now()"))


def measure(playwright: Any, url: str, fn: Any, runs: int) -> tuple[list[float], list[float]]:
    cold, warm = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="mug-bench-profile-") as profile:
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
            )
            try:
                first = context.new_page()
                cold.append(fn(first, url))
                # a new participant on the warm run: same HTTP cache, no stored participant token
                first.evaluate("localStorage.clear()")
                first.close()
                warm.append(fn(context.new_page(), url))
            finally:
                context.close()
    return cold, warm


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bundle-dir", type=Path, default=Path("/tmp/mug-bench-first-frame"))
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from mug.demo import experiment

    if not bundle_is_current(args.bundle_dir, experiment.packages):
        build_bundle(args.bundle_dir, packages=experiment.packages)
    assert load_manifest(args.bundle_dir) is not None
    with tempfile.TemporaryDirectory(prefix="mug-bench-") as tmp:
        floor_url, floor_server = serve_floor(args.bundle_dir)
        mug = start_server(
            database_url=f"sqlite:///{Path(tmp) / 'bench.sqlite3'}", bundle_dir=args.bundle_dir, cwd=Path(tmp)
        )
        mug_url = mug.url + "/"
        try:
            with sync_playwright() as p:
                # alternate so both see the same machine state
                floor_cold, floor_warm, mug_cold, mug_warm = [], [], [], []
                for _ in range(args.runs):
                    fc, fw = measure(p, floor_url, floor_ms, 1)
                    mc, mw = measure(p, mug_url, mug_ms, 1)
                    floor_cold += fc
                    floor_warm += fw
                    mug_cold += mc
                    mug_warm += mw
        finally:
            floor_server.should_exit = True
            mug.stop()
    med = statistics.median
    print(f"runs: {args.runs} (medians, ms since navigation start)")
    print(f"{'':32} {'cold':>8} {'warm':>8} {'warm/cold':>10}")
    print(
        f"{'floor (Pyodide+numpy+gymnasium)':32} {med(floor_cold):8.0f} {med(floor_warm):8.0f} "
        f"{med(floor_warm) / med(floor_cold):10.2f}"
    )
    print(
        f"{'MUG first playable frame':32} {med(mug_cold):8.0f} {med(mug_warm):8.0f} "
        f"{med(mug_warm) / med(mug_cold):10.2f}"
    )
    print(
        f"MUG overhead over the floor: cold {100 * (med(mug_cold) / med(floor_cold) - 1):+.0f}%, "
        f"warm {100 * (med(mug_warm) / med(floor_warm) - 1):+.0f}%"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
