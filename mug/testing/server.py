"""MUG's server for tests and benchmarks, as deployed (`uvicorn mug.app:app --ws
mug.server.websocket:WebSocketProtocol`) on a free loopback port, ready on /healthz.

One launcher, two ways to run it: in a child process (what a deployment runs; the experiment is a
`MUG_EXPERIMENT` reference and more environment variables may be given), or in a thread of this process (an
`Experiment` object may be served, and start-up is fast). Either way it returns once `GET /healthz` answers,
or fails at a deadline with the server's log.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any

from mug.testing.coturn import free_port
from mug.testing.wait import wait_until

if TYPE_CHECKING:
    from mug.configurations import Experiment
    from mug.server.limits import Limits

HOST = "127.0.0.1"
READY_WITHIN_S = 30.0
# the deployed command's `--ws` (mug.server.websocket.PROTOCOL; not imported here: it imports uvicorn)
WS_PROTOCOL = "mug.server.websocket:WebSocketProtocol"


@dataclass
class RunningServer:
    """A started server; `stop()` (or leaving the `with` block) ends it."""

    url: str
    database_url: str
    log: Path | None
    _stop: Callable[[], None] = field(repr=False)
    _stopped: bool = field(default=False, repr=False)
    _kill: Callable[[], None] | None = field(default=None, repr=False)
    # in a thread only: the uvicorn.Server, for tests that look at its connections or its app's sockets
    uvicorn_server: Any = field(default=None, repr=False)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def kill(self) -> None:
        """End a child process at once (SIGKILL: no shutdown of any kind), as a crash would."""
        if self._kill is None:
            raise ValueError("only a server in a child process can be killed")
        self._stopped = True
        self._kill()

    def stop(self) -> None:
        """Stop the server (child: SIGTERM, then SIGKILL after 10 s; thread: uvicorn's graceful exit)."""
        if not self._stopped:
            self._stopped = True
            self._stop()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=1) as resp:
            return bool(resp.status == 200)
    except OSError:
        return False


def start_server(
    experiment: Experiment | str | None = None,
    *,
    database_url: str,
    bundle_dir: Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
    log_level: str = "warning",
    in_thread: bool = False,
    ready_within_s: float = READY_WITHIN_S,
    port: int | None = None,
    limits: Limits | None = None,
    admin_password: str | None = None,
) -> RunningServer:
    """Start MUG's server on a free 127.0.0.1 port and return once `/healthz` answers.

    Args:
        experiment: an `Experiment` (in a thread only), a `MUG_EXPERIMENT` reference (`"file.py:name"`), or None
            for the embedded demo.
        database_url: `MUG_DATABASE_URL`.
        bundle_dir: `MUG_BUNDLE_DIR`.
        cwd: the child's working directory (default: this process's).
        env: more environment variables for the child (other `MUG_*` variables of this process are dropped).
        log: a file for the child's output (default: discarded).
        log_level: `MUG_LOG_LEVEL`.
        in_thread: serve from a thread of this process instead of a child process.
        ready_within_s: the start-up deadline.
        port: the port to listen on (default: a free one), e.g. a killed server's to start it again.
        limits: rate limits and quotas other than the server's own (in a thread only).
        admin_password: `MUG_ADMIN_PASSWORD` (the admin view at /admin); default: none, no admin view.

    Returns:
        The running server.

    Raises:
        RuntimeError: it exited or was not ready by the deadline (with the end of its log, if any).
        ValueError: `env` or `log` given with `in_thread` (a thread shares this process's environment).
    """
    port = port or free_port()
    url = f"http://{HOST}:{port}"
    if in_thread:
        if env or log:
            raise ValueError("env and log apply to a child process: pass in_thread=False")
        return _start_thread(
            experiment, url, port, database_url, bundle_dir, log_level, ready_within_s, limits, admin_password
        )
    if limits is not None:
        raise ValueError("limits apply to a server in this process: pass in_thread=True")
    if experiment is not None and not isinstance(experiment, str):
        raise ValueError("a child process serves a MUG_EXPERIMENT reference ('file.py:name'): pass in_thread=True")
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("MUG_")}
    child_env.update(MUG_DATABASE_URL=database_url, MUG_BUNDLE_DIR=str(bundle_dir), MUG_LOG_LEVEL=log_level)
    if experiment:
        child_env["MUG_EXPERIMENT"] = experiment
    if admin_password is not None:
        child_env["MUG_ADMIN_PASSWORD"] = admin_password
    child_env.update(env or {})
    out: IO[bytes] | int = log.open("ab") if log else subprocess.DEVNULL  # a restarted server appends
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "mug.app:app", "--host", HOST, "--port", str(port), "--ws", WS_PROTOCOL],
        cwd=cwd,
        env=child_env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if not isinstance(out, int):
            out.close()

    def kill() -> None:
        proc.kill()
        proc.wait()
        if not isinstance(out, int):
            out.close()

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with code {proc.returncode}")
        return _healthy(url)

    server = RunningServer(url, database_url, log, stop, _kill=kill)
    try:
        wait_until(ready, ready_within_s, interval=0.1, what=f"the server at {url} answers /healthz")
    except (RuntimeError, TimeoutError) as exc:
        server.stop()
        tail = log.read_text(errors="replace")[-3000:] if log else "(no log kept)"
        raise RuntimeError(f"the server did not start: {exc}\n{tail}") from None
    return server


def _start_thread(
    experiment: Experiment | str | None,
    url: str,
    port: int,
    database_url: str,
    bundle_dir: Path,
    log_level: str,
    ready_within_s: float,
    limits: Limits | None = None,
    admin_password: str | None = None,
) -> RunningServer:
    import uvicorn

    from mug.app import create_app
    from mug.settings import Settings

    reference = experiment if isinstance(experiment, str) else None
    settings = Settings.model_validate(
        {
            "experiment": reference,
            "database_url": database_url,
            "bundle_dir": bundle_dir,
            "log_level": log_level,
            "admin_password": admin_password,
        }
    )
    app = create_app(None if isinstance(experiment, str) else experiment, settings, limits)
    config = uvicorn.Config(app, host=HOST, port=port, log_level=log_level, lifespan="on", ws=WS_PROTOCOL)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()

    def stop() -> None:
        server.should_exit = True
        thread.join(timeout=10)

    def ready() -> bool:
        if not thread.is_alive():
            raise RuntimeError("the server thread ended")
        return server.started and _healthy(url)

    running = RunningServer(url, database_url, None, stop, uvicorn_server=server)
    try:
        wait_until(ready, ready_within_s, what=f"the server at {url} answers /healthz")
    except (RuntimeError, TimeoutError) as exc:
        running.stop()
        raise RuntimeError(f"the server did not start: {exc}") from None
    return running
