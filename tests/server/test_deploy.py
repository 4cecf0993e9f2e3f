"""The deployment guide's files, run for real: docs/deploy/turnserver.conf started on loopback and allocating
relays with credentials MUG minted (over UDP, TCP and TLS), the systemd units checked by `systemd-analyze
verify`, and `scripts/mug-backup` backing up a live SQLite database and a PostgreSQL one that restore to the
same export."""

from __future__ import annotations

import asyncio
import os
import random
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from turn_client import A_XOR_RELAYED, MAGIC, Response, TurnClient, decode, encode

from mug.configurations.remote import WebRTCConfig
from mug.server.export import export_async
from mug.server.ice import ice_config
from mug.server.store import Store
from mug.testing.coturn import find_turnserver, free_port, stun_binding_ok

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "docs" / "deploy"
BACKUP = ROOT / "scripts" / "mug-backup"
SECRET = "guide-test-secret-" + "0123456789abcdef" * 2


# -- coturn -----------------------------------------------------------------------------------------------


class StreamTurnClient(TurnClient):
    """The UDP client's requests over a TCP or TLS connection (STUN over a stream: messages back to back,
    each one's length in its header)."""

    def __init__(self, host: str, port: int, tls: bool, timeout_s: float = 3.0) -> None:
        self.server = (host, port)
        sock = socket.create_connection((host, port), timeout=timeout_s)
        if tls:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # the test's self-signed certificate
            sock = context.wrap_socket(sock, server_hostname=host)
        self.sock = sock

    def _read(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("the TURN server closed the connection")
            data += chunk
        return data

    def request(self, msg_type: int, attrs: list[tuple[int, bytes]], key: bytes | None = None) -> Response:
        tid = os.urandom(12)
        self.sock.sendall(encode(msg_type, tid, attrs, key))
        while True:
            head = self._read(20)
            assert int.from_bytes(head[4:8], "big") == MAGIC, "not a STUN message"
            resp, got = decode(head + self._read(int.from_bytes(head[2:4], "big")))
            if got == tid:
                return resp


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A one-day self-signed certificate and its key in `folder`: (cert.pem, key.pem)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=mug.test"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


def guide_turn_urls() -> list[str]:
    (line,) = [x for x in DEPLOY.joinpath("turnserver.conf").read_text().splitlines() if "TURN_URLS=" in x]
    return line.split("TURN_URLS=", 1)[1].strip().split(",")


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    """The guide's turnserver.conf on 127.0.0.1: its ports, secret and certificate replaced, nothing else."""
    binary = find_turnserver()
    if binary is None:
        pytest.skip("coturn is not installed (Debian: apt-get install coturn)")
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (it makes the test's certificate)")
    folder = tmp_path_factory.mktemp("coturn-guide")
    self_signed(folder)
    ports = {"plain": free_port(), "tls": free_port()}
    low = random.randrange(50000, 60000, 100)
    replaced = {
        "listening-port": str(ports["plain"]),
        "tls-listening-port": str(ports["tls"]),
        "min-port": str(low),
        "max-port": str(low + 99),
        "static-auth-secret": SECRET,
        "cert": str(folder / "cert.pem"),
        "pkey": str(folder / "key.pem"),
        "log-file": str(folder / "turnserver.log"),
    }
    text = DEPLOY.joinpath("turnserver.conf").read_text()
    for name, value in replaced.items():
        text, n = re.subn(rf"^{name}=.*$", f"{name}={value}", text, flags=re.M)
        assert n == 1, f"docs/deploy/turnserver.conf sets {name} once"
    # only on loopback, and with the test's own files
    text += f"\nlistening-ip=127.0.0.1\nrelay-ip=127.0.0.1\nuserdb={folder / 'turndb'}\npidfile={folder / 'pid'}\n"
    conf = folder / "turnserver.conf"
    conf.write_text(text)
    proc = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while not stun_binding_ok(ports["plain"]):
            log = folder / "turnserver.log"
            assert proc.poll() is None, f"coturn exited: {log.read_text()[-2000:] if log.exists() else ''}"
            assert time.monotonic() < deadline, "coturn did not answer within 10 s"
        yield ports
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def mug_credentials(pid: str) -> tuple[str, str]:
    """The TURN user name and password MUG hands participant `pid`, configured as the guide says."""
    webrtc = WebRTCConfig(stun_urls=[], turn_urls=guide_turn_urls(), turn_secret=SECRET, force_relay=True)
    entry = ice_config(webrtc, pid, time.time())["iceServers"][-1]
    assert entry["urls"] == guide_turn_urls()
    return entry["username"], entry["credential"]


def test_the_guides_turn_urls_match_its_ports() -> None:
    conf = DEPLOY.joinpath("turnserver.conf").read_text()
    plain = re.search(r"^listening-port=(\d+)$", conf, flags=re.M)
    tls = re.search(r"^tls-listening-port=(\d+)$", conf, flags=re.M)
    assert plain and tls
    urls = guide_turn_urls()
    assert f"turn:turn.example.org:{plain.group(1)}" in urls
    assert f"turn:turn.example.org:{plain.group(1)}?transport=tcp" in urls
    assert f"turns:turn.example.org:{tls.group(1)}?transport=tcp" in urls


@pytest.mark.turn
@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
def test_the_guides_coturn_allocates_with_mugs_credentials(coturn: dict[str, int], transport: str) -> None:
    username, password = mug_credentials("p-guide")
    if transport == "udp":
        client: TurnClient = TurnClient("127.0.0.1", coturn["plain"])
    else:
        client = StreamTurnClient("127.0.0.1", coturn["tls" if transport == "tls" else "plain"], tls=transport == "tls")
    with client:
        resp = client.allocate(username, password)
        assert resp.ok, f"the guide's coturn refused MUG's credentials over {transport}: error {resp.error_code}"
        host, port = resp.xor_address(A_XOR_RELAYED)
    assert host == "127.0.0.1" and port > 0


@pytest.mark.turn
def test_the_guides_coturn_refuses_other_credentials(coturn: dict[str, int]) -> None:
    username, password = mug_credentials("p-guide")
    with TurnClient("127.0.0.1", coturn["plain"]) as client:
        resp = client.allocate(username, password[:-4] + "AAA=")
    assert not resp.ok and resp.error_code == 401


# -- nginx with HTTPS -------------------------------------------------------------------------------------


@pytest.mark.proxy
async def test_the_guides_https_nginx_serves_the_page_and_the_websocket(serve: Any, tmp_path: Path) -> None:
    import httpx
    import socketio

    from mug.configurations import EndScene, Experiment, StaticScene
    from mug.testing.services import NginxServer, ServiceNotInstalled

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed (it makes the test's certificate)")
    live = serve(Experiment(id="https", scenes=[StaticScene(id="welcome"), EndScene(id="end")]))
    cert, key = self_signed(tmp_path)
    plain, tls = free_port(), free_port()
    site = DEPLOY.joinpath("nginx-mug-https.conf").read_text()
    for old, new in {
        "listen 80;": f"listen 127.0.0.1:{plain};",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{tls} ssl http2;",
        "/etc/letsencrypt/live/study.example.org/fullchain.pem": str(cert),
        "/etc/letsencrypt/live/study.example.org/privkey.pem": str(key),
        "http://127.0.0.1:8000": live.url,
    }.items():
        assert site.count(old) == 1, f"docs/deploy/nginx-mug-https.conf has {old!r} once"
        site = site.replace(old, new)
    try:
        nginx = NginxServer(site, tls)
    except ServiceNotInstalled as exc:
        pytest.skip(str(exc))
    with nginx:
        async with httpx.AsyncClient(verify=False) as http:
            moved = await http.get(f"http://127.0.0.1:{plain}/study?PROLIFIC_PID=x")
            assert moved.status_code == 301 and moved.headers["location"] == "https://127.0.0.1/study?PROLIFIC_PID=x"
            page = await http.get(f"https://127.0.0.1:{tls}/")
            assert page.status_code == 200 and "max-age=31536000" in page.headers["strict-transport-security"]
        # as the page connects: long-polling first, then the upgrade to a WebSocket, all over TLS
        sio = socketio.AsyncClient(reconnection=False, ssl_verify=False)
        sio.on("mug_ping", lambda data: data)
        await sio.connect(f"https://127.0.0.1:{tls}", transports=["polling", "websocket"])
        try:
            ack = await sio.call("hello", {"v": 1, "token": None, "tab": "tab-tls", "params": {}}, timeout=10)
            assert ack["ok"] and ack["scene"]["id"] == "welcome", ack
            deadline = time.monotonic() + 5
            while sio.transport() != "websocket":
                assert time.monotonic() < deadline, "the connection was not upgraded to a WebSocket"
                await asyncio.sleep(0.05)
            again = await sio.call("advance", {"v": 1, "scene_id": "welcome", "answers": {}}, timeout=10)
            assert again["ok"] and again["scene"]["kind"] == "end"  # over the WebSocket, through nginx
        finally:
            await sio.disconnect()


def guide_caddyfile() -> str:
    """The one-process Caddyfile that docs/deploy.md shows."""
    text = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```\w*\n(.*?)^```$", text, flags=re.S | re.M)
    (block,) = [b for b in blocks if "reverse_proxy 127.0.0.1:8000" in b]
    return block


@pytest.mark.proxy
async def test_the_guides_caddy_serves_the_page_and_the_websocket_over_https(serve: Any, tmp_path: Path) -> None:
    import httpx
    import socketio

    from mug.configurations import EndScene, Experiment, StaticScene
    from mug.testing.services import CaddyServer, ServiceNotInstalled

    live = serve(Experiment(id="https", scenes=[StaticScene(id="welcome"), EndScene(id="end")]))
    tls, plain = free_port(), free_port()
    site = guide_caddyfile()
    assert site.count("study.example.org {") == 1 and site.count("127.0.0.1:8000") == 1
    # Caddy's own CA for 127.0.0.1 instead of Let's Encrypt (no internet), trusted by nobody but this test
    options = f"{{\n\tadmin off\n\tskip_install_trust\n\thttp_port {plain}\n\thttps_port {tls}\n}}\n"
    site = site.replace("study.example.org {", f"https://127.0.0.1:{tls} {{\n\ttls internal")
    try:
        caddy = CaddyServer(options + site.replace("127.0.0.1:8000", live.url.removeprefix("http://")), tls)
    except ServiceNotInstalled as exc:
        pytest.skip(str(exc))
    with caddy:
        async with httpx.AsyncClient(verify=False) as http:
            page = await http.get(f"https://127.0.0.1:{tls}/")
            assert page.status_code == 200, caddy.log()
        sio = socketio.AsyncClient(reconnection=False, ssl_verify=False)
        sio.on("mug_ping", lambda data: data)
        await sio.connect(f"https://127.0.0.1:{tls}", transports=["polling", "websocket"])
        try:
            ack = await sio.call("hello", {"v": 1, "token": None, "tab": "tab-caddy", "params": {}}, timeout=10)
            assert ack["ok"] and ack["scene"]["id"] == "welcome", ack
            deadline = time.monotonic() + 5
            while sio.transport() != "websocket":
                assert time.monotonic() < deadline, "the connection was not upgraded to a WebSocket"
                await asyncio.sleep(0.05)
            again = await sio.call("advance", {"v": 1, "scene_id": "welcome", "answers": {}}, timeout=10)
            assert again["ok"] and again["scene"]["kind"] == "end"
        finally:
            await sio.disconnect()


# -- systemd ----------------------------------------------------------------------------------------------


UNITS = ("mug.service", "mug-backup.service", "mug-backup.timer")


def test_the_systemd_units_verify(tmp_path: Path) -> None:
    """`systemd-analyze verify` on the units, with /srv/mug pointing at this checkout (whose .venv has the
    programs the units run) and the account the units name replaced by the running one."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (Debian package systemd)")
    if not (ROOT / ".venv" / "bin" / "uvicorn").exists():
        pytest.skip("no .venv with uvicorn in this checkout (make venv)")
    import pwd

    me = pwd.getpwuid(os.getuid()).pw_name
    for name in UNITS:
        text = DEPLOY.joinpath(name).read_text()
        assert "/srv/mug" in text or name.endswith(".timer"), name
        text = text.replace("/srv/mug", str(ROOT)).replace("User=mug", f"User={me}").replace("Group=mug", "")
        tmp_path.joinpath(name).write_text(text)
    done = subprocess.run(
        [analyze, "verify", *(str(tmp_path / n) for n in UNITS)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    complaints = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if line.strip() and str(tmp_path) in line  # lines about the host's own units are not ours
    ]
    assert done.returncode == 0 and not complaints, done.stdout + done.stderr


def test_the_unit_serves_as_the_readme_does() -> None:
    from mug.server.websocket import PROTOCOL

    service = DEPLOY.joinpath("mug.service").read_text()
    (start,) = [line for line in service.splitlines() if line.startswith("ExecStart=")]
    assert "uvicorn mug.app:app" in start and f"--ws {PROTOCOL}" in start and "--host 127.0.0.1" in start


# -- backups ----------------------------------------------------------------------------------------------


def run_backup(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(BACKUP), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


async def fill(url: str, participants: int, steps: int) -> None:
    store = await Store.open(url)
    try:
        for i in range(participants):
            pid = f"p_{i}"
            await store.create_participant(pid, f"{i:064x}", "backup", f"CODE{i}", {"PROLIFIC_PID": f"x{i}"}, "ua")
            rows = [{"episode": 0, "step": s, "action": s % 3, "reward": 0.5, "t_ms": 1.7e12 + s} for s in range(steps)]
            await store.add_steps(pid, "game", rows)
    finally:
        await store.close()


def exported(url: str, out: Path) -> dict[str, bytes]:
    asyncio.run(export_async(url, out))
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def test_a_sqlite_backup_taken_while_the_server_writes_restores_the_same_data(tmp_path: Path) -> None:
    db = tmp_path / "mug_data.sqlite3"
    url = f"sqlite:///{db}"
    asyncio.run(fill(url, 3, 200))
    # a writer holds the database open with a transaction in progress (as a running server may)
    import sqlite3

    writer = sqlite3.connect(db)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("INSERT INTO events (participant_id, kind, data, t_server) VALUES ('p_0', 'uncommitted', '{}', 1)")
    try:
        done = run_backup("--out", str(tmp_path / "backups"), cwd=tmp_path, env={"MUG_DATABASE_URL": ""})
    finally:
        writer.rollback()
        writer.close()
    assert done.returncode == 0, done.stderr
    copy = Path(done.stdout.strip())
    assert copy.parent == tmp_path / "backups" and re.fullmatch(r"mug-\d{8}T\d{6}Z\.sqlite3", copy.name)
    assert not list((tmp_path / "backups").glob(".*partial"))
    # the copy is the committed data: the same export as the original, without the uncommitted event
    assert exported(f"sqlite:///{copy}", tmp_path / "from-copy") == exported(url, tmp_path / "from-original")
    assert b"uncommitted" not in (tmp_path / "from-copy" / "events.csv").read_bytes()


def test_backups_are_kept_as_asked_and_bad_input_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "data.sqlite3"
    asyncio.run(fill(f"sqlite:///{db}", 1, 5))
    out = tmp_path / "backups"
    out.mkdir()
    for old in ("mug-20240101T000000Z.sqlite3", "mug-20240102T000000Z.sqlite3", "mug-20240103T000000Z.dump"):
        (out / old).write_text("old")
    (out / "notes.txt").write_text("not a backup")
    (tmp_path / ".env").write_text(f"MUG_DATABASE_URL=sqlite:///{db}\n")  # read from .env, as the server does
    done = run_backup("--out", str(out), "--keep", "2", cwd=tmp_path, env={"MUG_DATABASE_URL": ""})
    assert done.returncode == 0, done.stderr
    newest = Path(done.stdout.strip()).name
    assert sorted(p.name for p in out.iterdir()) == sorted(["mug-20240103T000000Z.dump", newest, "notes.txt"])
    missing = run_backup("--database", f"sqlite:///{tmp_path / 'nope.sqlite3'}", "--out", str(out))
    assert missing.returncode == 1 and "no SQLite database at" in missing.stderr
    other = run_backup("--database", "mysql://db/mug", "--out", str(out))
    assert other.returncode == 1 and "neither a sqlite:// nor a postgresql:// URL" in other.stderr
    keep = run_backup("--database", f"sqlite:///{db}", "--out", str(out), "--keep", "0")
    assert keep.returncode == 2 and "--keep must be 1 or more" in keep.stderr


@pytest.mark.postgres
def test_a_postgresql_backup_restores_the_same_data(postgres: Any, tmp_path: Path) -> None:
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump and pg_restore are not installed (Debian package postgresql-client)")
    url = postgres.new_database()
    asyncio.run(fill(url, 2, 150))
    done = run_backup("--database", url.replace("postgresql://", "postgresql+asyncpg://"), "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    dump = Path(done.stdout.strip())
    assert dump.suffix == ".dump" and dump.stat().st_size > 0
    target = postgres.new_database()
    restored = subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", "--dbname", target, str(dump)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert restored.returncode == 0, restored.stderr
    assert exported(target, tmp_path / "restored") == exported(url, tmp_path / "original")
    assert urlsplit(target).path != urlsplit(url).path
