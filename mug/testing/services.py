"""Throw-away Redis and PostgreSQL servers on 127.0.0.1 for tests and benchmarks: start, wait until ready, stop.

Both run Debian's own programs as plain child processes on free ports, with their data in a temporary folder
that is removed on stop: `redis-server` (package redis-server) without persistence (`--save "" --appendonly
no`), and PostgreSQL's `initdb` and `postgres` (package postgresql) with trust authentication for the user
`mug`. Ready means Redis answers `PING` and PostgreSQL accepts a login; nothing sleeps blindly.
"""

from __future__ import annotations

import asyncio
import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

from mug.testing.coturn import free_port
from mug.testing.wait import wait_until

HOST = "127.0.0.1"
READY_WITHIN_S = 30.0


class ServiceNotInstalled(RuntimeError):
    """The server program is not installed (tests skip on this, naming the Debian package)."""


class RedisServer:
    """`redis-server` on a free loopback port, no persistence. Use as a context manager, or `start`/`stop`.

    `restart()` stops it and starts a new empty one on the same port (a Redis that lost its memory).
    """

    def __init__(self, port: int | None = None) -> None:
        program = shutil.which("redis-server")
        if program is None:
            raise ServiceNotInstalled("needs redis-server (Debian package redis-server)")
        self.program = program
        self.port = port or free_port()
        self.url = f"redis://{HOST}:{self.port}/0"
        self.dir = Path(tempfile.mkdtemp(prefix="mug-redis-"))
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        args = [self.program, "--port", str(self.port), "--bind", HOST, "--save", "", "--appendonly", "no"]
        args += ["--dir", str(self.dir), "--logfile", str(self.dir / "redis.log")]
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._pong, READY_WITHIN_S, interval=0.05, what=f"redis-server on port {self.port} answers PING")
        return self

    def _pong(self) -> bool:
        if self._proc is not None and self._proc.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {self._proc.returncode}: {self.log()[-2000:]}")
        try:
            with socket.create_connection((HOST, self.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                return conn.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def log(self) -> str:
        path = self.dir / "redis.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self, remove: bool = True) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        if remove:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _pg_bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


async def _login(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=2)
    await conn.close()


class PostgresServer:
    """A PostgreSQL server of its own on a free loopback port (user `mug`, trust authentication).

    `url` is its `postgres` database; `new_database()` creates a fresh one and returns its URL. Run as root,
    the server runs as the `postgres` user (PostgreSQL refuses root) in a folder that user can reach.
    """

    def __init__(self) -> None:
        initdb, postgres = _pg_bin("initdb"), _pg_bin("postgres")
        if initdb is None or postgres is None:
            raise ServiceNotInstalled("needs PostgreSQL's server programs (Debian package postgresql)")
        self.initdb, self.postgres = initdb, postgres
        self.port = free_port()
        self.url = f"postgresql://mug@{HOST}:{self.port}/postgres"
        self.base = Path(tempfile.mkdtemp(prefix="mug-pg-"))
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> PostgresServer:
        root = os.geteuid() == 0
        run_as: list[str] = ["runuser", "-u", "postgres", "--"] if root else []
        if root:
            shutil.chown(self.base, "postgres")
        data = self.base / "data"
        subprocess.run(
            [*run_as, self.initdb, "-D", str(data), "--auth=trust", "-U", "mug"], check=True, capture_output=True
        )
        self._proc = subprocess.Popen(
            [*run_as, self.postgres, "-D", str(data), "-p", str(self.port), "-h", HOST, "-k", str(data)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def accepts_logins() -> bool:  # the port opens a little before the server accepts logins
            import asyncpg

            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError("PostgreSQL exited")
            try:
                asyncio.run(_login(self.url))
            except (OSError, asyncpg.PostgresError, TimeoutError):
                return False
            return True

        wait_until(accepts_logins, READY_WITHIN_S, interval=0.1, what="PostgreSQL accepts logins")
        return self

    def new_database(self) -> str:
        """Create an empty database; returns its URL."""
        import asyncpg

        name = "t_" + secrets.token_hex(6)

        async def create() -> None:
            conn = await asyncpg.connect(self.url, timeout=5)
            try:
                await conn.execute(f"CREATE DATABASE {name}")
            finally:
                await conn.close()

        asyncio.run(create())
        return f"postgresql://mug@{HOST}:{self.port}/{name}"

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=20)
            self._proc = None
        shutil.rmtree(self.base, ignore_errors=True)

    def __enter__(self) -> PostgresServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class NginxServer:
    """nginx (Debian package nginx) as a plain process serving `site` (the text of an `http`-block file, such
    as docs/deploy/nginx-mug.conf) from a folder of its own; `listen` lines must name a free port."""

    def __init__(self, site: str, port: int) -> None:
        program = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
        if program is None:
            raise ServiceNotInstalled("needs nginx (Debian package nginx)")
        self.program, self.port = program, port
        self.dir = Path(tempfile.mkdtemp(prefix="mug-nginx-"))
        self.dir.chmod(0o755)
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers as the same user: the folder is its own
        (self.dir / "nginx.conf").write_text(
            f"{user}worker_processes 1;\npid {self.dir}/nginx.pid;\nerror_log {self.dir}/error.log info;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            f"  access_log {self.dir}/access.log;\n"
            f"  client_body_temp_path {self.dir}/body;\n  proxy_temp_path {self.dir}/proxy;\n"
            f"  fastcgi_temp_path {self.dir}/fastcgi;\n  uwsgi_temp_path {self.dir}/uwsgi;\n"
            f"  scgi_temp_path {self.dir}/scgi;\n"
            f"{site}\n}}\n"
        )
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> NginxServer:
        conf = str(self.dir / "nginx.conf")
        check = subprocess.run([self.program, "-t", "-p", str(self.dir), "-c", conf], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"nginx refused the configuration:\n{check.stderr}")
        self._proc = subprocess.Popen(
            [self.program, "-p", str(self.dir), "-c", conf, "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def listening() -> bool:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.log()[-2000:]}")
            try:
                socket.create_connection((HOST, self.port), timeout=1).close()
            except OSError:
                return False
            return True

        wait_until(listening, READY_WITHIN_S, interval=0.05, what=f"nginx listens on port {self.port}")
        return self

    def log(self) -> str:
        return "\n".join(
            (self.dir / name).read_text(errors="replace")
            for name in ("error.log", "access.log")
            if (self.dir / name).exists()
        )

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> NginxServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class CaddyServer:
    """Caddy (Debian package caddy) as a plain process serving `caddyfile` (its admin endpoint off, its state
    in a folder of its own); the site addresses must be plain `http://` ones on a free port."""

    def __init__(self, caddyfile: str, port: int) -> None:
        program = shutil.which("caddy")
        if program is None:
            raise ServiceNotInstalled("needs caddy (Debian package caddy)")
        self.program, self.port = program, port
        self.dir = Path(tempfile.mkdtemp(prefix="mug-caddy-"))
        (self.dir / "Caddyfile").write_text(caddyfile)
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> CaddyServer:
        env = dict(os.environ, HOME=str(self.dir), XDG_DATA_HOME=str(self.dir), XDG_CONFIG_HOME=str(self.dir))
        conf = ["--config", str(self.dir / "Caddyfile"), "--adapter", "caddyfile"]
        check = subprocess.run([self.program, "validate", *conf], capture_output=True, text=True, env=env)
        if check.returncode != 0:
            raise RuntimeError(f"caddy refused the configuration:\n{check.stderr[-3000:]}")
        with (self.dir / "caddy.log").open("wb") as log:
            self._proc = subprocess.Popen([self.program, "run", *conf], stdout=log, stderr=subprocess.STDOUT, env=env)

        def listening() -> bool:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(f"caddy exited: {self.log()[-2000:]}")
            try:
                socket.create_connection((HOST, self.port), timeout=1).close()
            except OSError:
                return False
            return True

        wait_until(listening, READY_WITHIN_S, interval=0.05, what=f"caddy listens on port {self.port}")
        return self

    def log(self) -> str:
        path = self.dir / "caddy.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> CaddyServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
