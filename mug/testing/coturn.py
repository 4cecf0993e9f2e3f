"""A throw-away coturn TURN server on 127.0.0.1: start, wait until it answers, stop.

Standard library only (no `mug.server`, no `mug.client`): it runs `turnserver` from Debian's coturn package with
the flags that work for loopback relaying (coturn 4.6):

    turnserver -n --listening-ip=127.0.0.1 --relay-ip=127.0.0.1 --listening-port=PORT
        --min-port=LOW --max-port=LOW+199 --no-tls --no-dtls --no-cli --allow-loopback-peers --fingerprint
        --realm=REALM  (--use-auth-secret --static-auth-secret=SECRET | --lt-cred-mech --user=NAME:PASSWORD)
        --userdb=DIR/turndb --pidfile=DIR/coturn.pid --log-file=DIR/coturn.log --simple-log --no-stdout-log

With a secret, coturn checks TURN REST credentials (username `EXPIRY:ID`, password
base64(HMAC-SHA1(secret, username)), what `mug.server.ice` mints); with a user, one fixed name and password.

Ready means a STUN Binding request to the listening port (UDP) gets a success response: the probe is repeated
until a deadline, each try waiting on the socket's timeout (no blind sleeps).
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

HOST = "127.0.0.1"
REALM = "mug.test"
READY_WITHIN_S = 10.0
RELAY_PORTS = 200  # relay ports coturn may hand out, a random block in 50000-59999
_STUN_BINDING_REQUEST = b"\x00\x01\x00\x00\x21\x12\xa4\x42"  # type Binding, length 0, magic cookie
_STUN_BINDING_SUCCESS = b"\x01\x01"


class CoturnNotInstalled(RuntimeError):
    """There is no `turnserver` program (tests skip on this)."""


class CoturnError(RuntimeError):
    """coturn did not start, or did not answer a STUN Binding request in time."""


def find_turnserver() -> str | None:
    """Where the `turnserver` program is.

    Returns:
        Its path (on PATH, else Debian's `/usr/bin/turnserver`), or None when coturn is not installed.
    """
    found = shutil.which("turnserver")
    if found:
        return found
    return "/usr/bin/turnserver" if Path("/usr/bin/turnserver").exists() else None


def free_port() -> int:
    """A 127.0.0.1 port free for both UDP and TCP (coturn listens on both).

    Another process may take it before it is used; that small race is accepted.

    Returns:
        The port number.

    Raises:
        RuntimeError: no port free for both was found in 50 tries.
    """
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((HOST, 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((HOST, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no port free for both UDP and TCP on 127.0.0.1")


def stun_binding_ok(port: int, host: str = HOST, timeout_s: float = 0.3) -> bool:
    """Send one STUN Binding request over UDP and wait for the answer.

    Args:
        port: the STUN/TURN server's UDP port.
        host: its address.
        timeout_s: how long to wait for the response.

    Returns:
        True when a Binding success response with our transaction id came back in time.
    """
    tid = os.urandom(12)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout_s)
        try:
            s.sendto(_STUN_BINDING_REQUEST + tid, (host, port))
            data, _ = s.recvfrom(2048)
        except (TimeoutError, ConnectionRefusedError):  # nobody listening yet: ICMP port unreachable
            return False
    return data[:2] == _STUN_BINDING_SUCCESS and data[8:20] == tid


class Coturn:
    """A coturn on 127.0.0.1 with TURN REST (`secret`) or long-term (`user`) credentials.

    Use as a context manager (`with Coturn(secret="s") as turn: ... turn.urls ...`, which starts it unless it is
    already started) or call `start()` and `stop()`. Without `secret` or `user` a random secret is made (read it
    from `secret`).

    Args:
        secret: coturn's `static-auth-secret`; credentials are minted from it (TURN REST).
        user: `(name, password)` for long-term credentials instead of a secret.
        realm: the TURN realm.
        work_dir: where the log, pid file and user database go; kept after `stop()`. Default: a temporary
            folder removed by `stop()`.
        ready_within_s: how long `start()` waits for the first STUN Binding answer.

    Raises:
        ValueError: both `secret` and `user` were given.
    """

    def __init__(
        self,
        secret: str | None = None,
        user: tuple[str, str] | None = None,
        realm: str = REALM,
        *,
        work_dir: Path | None = None,
        ready_within_s: float = READY_WITHIN_S,
    ) -> None:
        if secret is not None and user is not None:
            raise ValueError("give either secret (TURN REST credentials) or user (a fixed name and password), not both")
        self.secret = secret if secret is not None or user is not None else secrets.token_hex(16)
        self.user = user
        self.realm = realm
        self.ready_within_s = ready_within_s
        self._work_dir = work_dir
        self._own_dir: Path | None = None
        self._port: int | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def port(self) -> int:
        """The listening port (UDP and TCP) on 127.0.0.1; set by `start()`."""
        if self._port is None:
            raise RuntimeError("coturn is not started: call start() or use `with Coturn(...)` first")
        return self._port

    @property
    def urls(self) -> list[str]:
        """The TURN URLs for an RTCPeerConnection or `RemoteConfig.webrtc(turn_urls=...)`."""
        return [f"turn:{HOST}:{self.port}"]

    @property
    def log_path(self) -> Path:
        """coturn's log file."""
        return self._folder() / "coturn.log"

    def _folder(self) -> Path:
        folder = self._work_dir or self._own_dir
        if folder is None:
            raise RuntimeError("coturn is not started: call start() or use `with Coturn(...)` first")
        return folder

    def _args(self, binary: str, folder: Path) -> list[str]:
        low = random.randrange(50000, 60000, RELAY_PORTS)
        auth = (
            ["--lt-cred-mech", f"--user={self.user[0]}:{self.user[1]}"]
            if self.user is not None
            else ["--use-auth-secret", f"--static-auth-secret={self.secret}"]
        )
        return [
            binary,
            "-n",
            f"--listening-ip={HOST}",
            f"--relay-ip={HOST}",
            f"--listening-port={self.port}",
            f"--min-port={low}",
            f"--max-port={low + RELAY_PORTS - 1}",
            "--no-tls",
            "--no-dtls",
            "--no-cli",
            "--allow-loopback-peers",
            "--fingerprint",
            f"--realm={self.realm}",
            *auth,
            f"--userdb={folder / 'turndb'}",
            f"--pidfile={folder / 'coturn.pid'}",
            f"--log-file={folder / 'coturn.log'}",
            "--simple-log",
            "--no-stdout-log",
        ]

    def start(self) -> Coturn:
        """Start coturn and wait until it answers a STUN Binding request.

        Returns:
            self, started.

        Raises:
            CoturnNotInstalled: there is no `turnserver` program (Debian/Ubuntu: `apt-get install coturn`).
            CoturnError: coturn exited or did not answer within `ready_within_s`; the message has its log's end.
        """
        if self._proc is not None:
            raise RuntimeError("coturn is already started")
        binary = find_turnserver()
        if binary is None:
            raise CoturnNotInstalled(
                "coturn is not installed: no `turnserver` on PATH or at /usr/bin/turnserver "
                "(Debian/Ubuntu: apt-get install coturn)"
            )
        if self._work_dir is None:
            self._own_dir = Path(tempfile.mkdtemp(prefix="mug-coturn-"))
        folder = self._folder()
        folder.mkdir(parents=True, exist_ok=True)
        self._port = free_port()
        with (folder / "coturn.out").open("wb") as out:  # the child keeps its own copy of the descriptor
            self._proc = subprocess.Popen(
                self._args(binary, folder), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + self.ready_within_s
        while not stun_binding_ok(self._port):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                why = "exited" if self._proc.poll() is not None else f"did not answer within {self.ready_within_s} s"
                logs = self._log_tail(folder)
                self.stop()
                raise CoturnError(f"coturn on {HOST}:{self._port} {why}:\n{logs}")
        return self

    @staticmethod
    def _log_tail(folder: Path) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}"
            for p in (folder / "coturn.out", folder / "coturn.log")
            if p.exists()
        )

    def stop(self) -> None:
        """Stop coturn (terminate, then kill after 5 s) and remove the temporary folder, if it made one.

        Safe to call more than once, or before `start()`.
        """
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._own_dir is not None:
            shutil.rmtree(self._own_dir, ignore_errors=True)
            self._own_dir = None

    def __enter__(self) -> Coturn:
        return self if self._proc is not None else self.start()  # `with Coturn(...).start() as turn:` works too

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
