"""Browser fixtures: a real Pyodide bundle, `uvicorn mug.app:app` in a subprocess, headless Debian chromium.

Tests here are marked `browser`; they skip when /usr/bin/chromium (or Node.js/npm for the bundle) is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mug.bundle import build_bundle, load_manifest
from mug.testing import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HERE = Path(__file__).resolve().parent
ENVPKG = HERE / "envpkg"  # the tests' own environments, built into the bundle like an experiment's package


@dataclass
class Server:
    url: str
    database_url: str
    log: Path
    proc: subprocess.Popen[bytes]
    experiment: str | None

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Pyodide bundle with mug's client and tests/e2e/envpkg, built once per session (downloads are
    cached in ~/.cache/mug)."""
    if not CHROMIUM.exists():
        pytest.skip("needs Debian chromium at /usr/bin/chromium")
    if shutil.which("npm") is None:
        pytest.skip("needs npm to fetch the Pyodide core once")
    out = tmp_path_factory.getbasetemp() / "e2e-bundle"
    if load_manifest(out) is None:
        build_bundle(out, packages=[str(ENVPKG)])
    return out


@pytest.fixture
def mug_server(tmp_path: Path, bundle_dir: Path) -> Iterator[Callable[..., Server]]:
    """`mug_server(experiment=None)` starts `uvicorn mug.app:app` with a fresh SQLite database;
    `mug_server(again=server)` starts the same experiment again on that server's port and database."""
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[Any] = []

    def start(experiment: str | None = None, again: Server | None = None) -> Server:
        if again is not None:
            experiment, port, db = again.experiment, again.port, again.database_url
        else:
            port = free_port()
            db = f"sqlite:///{tmp_path / f'data-{port}.sqlite3'}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MUG_")}
        env.update(MUG_DATABASE_URL=db, MUG_BUNDLE_DIR=str(bundle_dir), MUG_LOG_LEVEL="warning")
        if experiment:
            env["MUG_EXPERIMENT"] = experiment
        log_path = tmp_path / f"server-{port}.log"
        log = open(log_path, "ab")  # closed at teardown
        logs.append(log)
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "mug.app:app", "--host", "127.0.0.1", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start:\n{log_path.read_text(errors='replace')[-3000:]}")
            time.sleep(0.1)
        return Server(url, db, log_path, proc, experiment)

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for log in logs:
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless chromium (Debian's; `playwright install` is never needed).

    Module-scoped on purpose: Playwright's sync API keeps an event loop running on the main thread while it is
    open, which would break the asyncio tests that run after this folder.
    """
    if not CHROMIUM.exists():
        pytest.skip("needs Debian chromium at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context (its own localStorage) and page; console errors are printed on failure."""
    context = browser.new_context()
    pg = context.new_page()
    pg.on("console", lambda m: print(f"console.{m.type}: {m.text}"))
    pg.on("pageerror", lambda e: print(f"pageerror: {e}"))
    yield pg
    context.close()
