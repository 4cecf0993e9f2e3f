"""Minted TURN REST credentials against a real coturn (`--use-auth-secret`): accepted or refused."""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from turn_client import A_XOR_RELAYED, TurnClient

from mug.configurations.remote import WebRTCConfig
from mug.server.ice import ice_config, mint_turn_credentials

pytestmark = pytest.mark.turn

TURNSERVER = shutil.which("turnserver") or "/usr/bin/turnserver"
SECRET = "coturn-test-secret"
REALM = "mug.test"
READY_WITHIN_S = 10.0


def _free_port() -> int:
    # Free for both UDP and TCP (coturn listens on both); the small race with other processes is accepted.
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port for coturn")


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    if not Path(TURNSERVER).exists():
        pytest.skip("coturn is not installed (apt-get install coturn provides /usr/bin/turnserver)")
    tmp = tmp_path_factory.mktemp("coturn")
    port = _free_port()
    min_port = random.randrange(50000, 60000, 100)
    log_path = tmp / "turnserver.log"
    args = [
        TURNSERVER, "-n", "--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", f"--listening-port={port}",
        f"--min-port={min_port}", f"--max-port={min_port + 99}", "--no-tls", "--no-dtls", "--no-cli",
        "--allow-loopback-peers", "--fingerprint", f"--realm={REALM}", "--use-auth-secret",
        f"--static-auth-secret={SECRET}", f"--userdb={tmp / 'turndb'}", f"--pidfile={tmp / 'turnserver.pid'}",
        f"--log-file={log_path}", "--simple-log", "--no-stdout-log",
    ]  # fmt: skip
    with open(tmp / "stdout.txt", "wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        _wait_ready(proc, port, tmp)
        yield "127.0.0.1", port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_ready(proc: subprocess.Popen[bytes], port: int, tmp: Path) -> None:
    # Poll with STUN Binding requests; the socket timeout is the wait, no sleeps.
    deadline = time.monotonic() + READY_WITHIN_S
    with TurnClient("127.0.0.1", port, timeout_s=0.2) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                break
            try:
                if client.binding().ok:
                    return
            except (TimeoutError, ConnectionRefusedError):
                continue
    logs = "\n".join(p.read_text(errors="replace")[-2000:] for p in tmp.glob("*.txt")) + "\n".join(
        p.read_text(errors="replace")[-2000:] for p in tmp.glob("*.log")
    )
    raise RuntimeError(f"coturn did not answer on 127.0.0.1:{port} within {READY_WITHIN_S} s:\n{logs}")


def _turn_entry(webrtc: WebRTCConfig, pid: str, now: float) -> tuple[str, str]:
    entry = ice_config(webrtc, pid, now)["iceServers"][-1]
    return entry["username"], entry["credential"]


def test_minted_credentials_are_accepted(coturn: tuple[str, int]) -> None:
    host, port = coturn
    webrtc = WebRTCConfig(
        stun_urls=[], turn_urls=[f"turn:{host}:{port}"], turn_secret=SECRET, force_relay=True
    )
    for pid in ("alice", "p-7f3a_x"):
        username, credential = _turn_entry(webrtc, pid, time.time())
        with TurnClient(host, port) as client:
            resp = client.allocate(username, credential)
        assert resp.ok, f"coturn refused minted credentials for {pid!r}: error {resp.error_code}"
        relay_host, relay_port = resp.xor_address(A_XOR_RELAYED)
        assert relay_host == "127.0.0.1" and relay_port > 0


def test_expired_credentials_are_refused(coturn: tuple[str, int]) -> None:
    host, port = coturn
    creds = mint_turn_credentials(SECRET, "alice", time.time() - 3600, ttl_s=60)  # expired 59 minutes ago
    with TurnClient(host, port) as client:
        resp = client.allocate(creds.username, creds.credential)
    assert not resp.ok and resp.error_code == 401


def test_wrong_secret_and_tampered_credentials_are_refused(coturn: tuple[str, int]) -> None:
    host, port = coturn
    now = time.time()
    wrong = mint_turn_credentials("not-the-secret", "alice", now, ttl_s=600)
    good = mint_turn_credentials(SECRET, "alice", now, ttl_s=600)
    extended = f"{good.expires_at + 86400}:alice"  # pushing the expiry out breaks the HMAC
    for username, credential in [
        (wrong.username, wrong.credential),
        (extended, good.credential),
        (good.username.replace("alice", "mallory"), good.credential),
    ]:
        with TurnClient(host, port) as client:
            resp = client.allocate(username, credential)
        assert not resp.ok and resp.error_code == 401, (username, resp.error_code)
