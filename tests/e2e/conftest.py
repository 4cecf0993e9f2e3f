"""Browser fixtures: `uvicorn mug.app:app` in a subprocess serving the session bundle, headless Debian chromium.

Tests here are marked `browser`; they skip when /usr/bin/chromium (or Node.js/npm for the bundle) is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mug.testing import RunningServer, start_server
from mug.testing.bundle import BuiltBundle
from mug.testing.chromium import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture
def mug_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., RunningServer]]:
    """`mug_server(experiment=None)` starts `uvicorn mug.app:app` with a fresh SQLite database;
    `mug_server(again=server)` starts the same experiment again on that (killed) server's port and database."""
    if not CHROMIUM.exists():
        pytest.skip("needs Debian chromium at /usr/bin/chromium")
    bundle: BuiltBundle = request.getfixturevalue("bundle")  # after the skip: no build without a browser
    servers: list[RunningServer] = []
    experiments: dict[str, str | None] = {}

    def start(experiment: str | None = None, again: RunningServer | None = None) -> RunningServer:
        n = len(servers)
        if again is not None:
            experiment = experiments[again.url]
        server = start_server(
            experiment,
            database_url=again.database_url if again else f"sqlite:///{tmp_path / f'data-{n}.sqlite3'}",
            bundle_dir=bundle.path,
            cwd=tmp_path,
            log=again.log if again else tmp_path / f"server-{n}.log",
            port=again.port if again else None,
        )
        servers.append(server)
        experiments[server.url] = experiment
        return server

    yield start
    for server in servers:
        server.stop()


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
