"""Shared fixtures: a real uvicorn server in a background thread, on a free loopback port."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from mug.app import create_app
from mug.configurations import Experiment
from mug.settings import Settings
from mug.testing import free_port


@dataclass
class LiveServer:
    url: str
    database_url: str
    thread: threading.Thread
    server: uvicorn.Server

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_server(experiment: Experiment, tmp: Path, bundle_dir: Path | None = None) -> LiveServer:
    """Serve `experiment` with a fresh SQLite database under `tmp`; returns once it accepts connections."""
    database_url = f"sqlite:///{tmp / 'data.sqlite3'}"
    settings = Settings(database_url=database_url, bundle_dir=bundle_dir or tmp / "no-bundle", log_level="warning")
    port = free_port()
    config = uvicorn.Config(
        create_app(experiment, settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    return LiveServer(f"http://127.0.0.1:{port}", database_url, thread, server)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[object]:
    """Call `serve(experiment)` to get a LiveServer; every server started is stopped after the test."""
    started: list[LiveServer] = []

    def run(experiment: Experiment, bundle_dir: Path | None = None) -> LiveServer:
        live = start_server(experiment, tmp_path, bundle_dir)
        started.append(live)
        return live

    yield run
    for live in started:
        live.stop()
