"""Shared fixtures: MUG's server on a free loopback port (`serve`), and one real Pyodide bundle per session.

The bundle holds every local package the tests need (the env checker's test environments, the browser tests'
environments, the examples), so it is built once for the whole run (downloads are cached in ~/.cache/mug).
Tests that use it pass `bundle.packages` wherever a package list is asked for, so nothing rebuilds it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mug.configurations import Experiment
from mug.server.limits import Limits
from mug.testing import RunningServer, start_server
from mug.testing.bundle import BuiltBundle, ensure_bundle
from mug.testing.services import PostgresServer, RedisServer, ServiceNotInstalled

TESTS = Path(__file__).resolve().parent
EXAMPLES = TESTS.parent / "examples"
BUNDLE_PACKAGES = [
    str(TESTS / "envcheck" / "testpkg"),
    str(TESTS / "e2e" / "envpkg"),
    str(EXAMPLES / "dodge" / "dodge_env"),
    str(EXAMPLES / "cartpole" / "cartpole_browser"),
    str(EXAMPLES / "connect_four" / "connect_four_env"),
    str(EXAMPLES / "gather" / "gather_env"),
    "minigrid==3.2.0",  # examples/minigrid: a package from PyPI (its pygame-ce dependency is left out)
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `bundle` every test that needs the real bundle, so `make check` can leave them out by marker."""
    for item in items:
        if {"bundle", "mug_server"} & set(getattr(item, "fixturenames", ())):  # mug_server asks for it lazily
            item.add_marker(pytest.mark.bundle)


@pytest.fixture(scope="session")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> BuiltBundle:
    """A real bundle with every test package, built once per session; skips without Node.js and npm."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("needs Node.js and npm to build the Pyodide bundle")
    return ensure_bundle(tmp_path_factory.getbasetemp() / "session-bundle", BUNDLE_PACKAGES)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., RunningServer]]:
    """`serve(experiment, bundle_dir=None, limits=None)`: the experiment served from a thread (with other
    rate limits and quotas than the server's own, if given), with the SQLite database
    `tmp_path / "data.sqlite3"` (fresh per test, shared by the servers of one test).

    Every server started is stopped after the test.
    """
    started: list[RunningServer] = []

    def run(experiment: Experiment, bundle_dir: Path | None = None, limits: Limits | None = None) -> RunningServer:
        live = start_server(
            experiment,
            database_url=f"sqlite:///{tmp_path / 'data.sqlite3'}",
            bundle_dir=bundle_dir or tmp_path / "no-bundle",
            in_thread=True,
            limits=limits,
        )
        started.append(live)
        return live

    yield run
    for live in started:
        live.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of the session's own (`postgres.new_database()` gives a test a fresh database)."""
    try:
        server = PostgresServer()
    except ServiceNotInstalled as exc:
        pytest.skip(str(exc))
    with server:
        yield server


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A fresh redis-server of the test's own on a free loopback port (no persistence), stopped after it."""
    try:
        server = RedisServer()
    except ServiceNotInstalled as exc:
        pytest.skip(str(exc))
    with server:
        yield server
