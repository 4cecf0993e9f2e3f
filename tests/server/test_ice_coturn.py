"""Minted TURN REST credentials against a real coturn (`--use-auth-secret`): accepted or refused."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from turn_client import A_XOR_RELAYED, TurnClient

from mug.configurations.remote import WebRTCConfig
from mug.server.ice import ice_config, mint_turn_credentials
from mug.testing.coturn import Coturn, CoturnNotInstalled

pytestmark = pytest.mark.turn

SECRET = "coturn-test-secret"


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    turn = Coturn(secret=SECRET, work_dir=tmp_path_factory.mktemp("coturn"))
    try:
        turn.start()
    except CoturnNotInstalled as exc:
        pytest.skip(str(exc))
    try:
        yield "127.0.0.1", turn.port
    finally:
        turn.stop()


def _turn_entry(webrtc: WebRTCConfig, pid: str, now: float) -> tuple[str, str]:
    entry = ice_config(webrtc, pid, now)["iceServers"][-1]
    return entry["username"], entry["credential"]


def test_minted_credentials_are_accepted(coturn: tuple[str, int]) -> None:
    host, port = coturn
    webrtc = WebRTCConfig(stun_urls=[], turn_urls=[f"turn:{host}:{port}"], turn_secret=SECRET, force_relay=True)
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
