"""ICE configuration: STUN only, static TURN, minted TURN REST credentials, relay policy."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from mug.configurations.remote import WebRTCConfig
from mug.server.ice import ice_config, mint_turn_credentials, turn_rest_credential, verify_turn_rest

SECRET = "north-secret"
NOW = 1_700_000_000.75
TURN = ["turn:turn.example.org:3478"]


def test_known_vector_from_openssl() -> None:
    # printf '1700003600:alice' | openssl dgst -sha1 -hmac 'north-secret' -binary | base64
    assert turn_rest_credential(SECRET, "1700003600:alice") == "Ji4axghh2/aljHmsPgH9mtDGVLw="


def test_minted_credentials_match_hmac_computed_here() -> None:
    cfg = WebRTCConfig(turn_urls=TURN, turn_secret=SECRET, turn_ttl_s=3600)
    out = ice_config(cfg, "alice", NOW)
    turn = out["iceServers"][1]
    assert turn["urls"] == TURN
    assert turn["username"] == "1700003600:alice"
    expected = base64.b64encode(hmac.new(b"north-secret", b"1700003600:alice", hashlib.sha1).digest()).decode()
    assert turn["credential"] == expected
    assert out["expiresAt"] == 1_700_003_600
    assert out["iceTransportPolicy"] == "all"


def test_minted_credentials_verify_until_expiry_and_not_after() -> None:
    creds = mint_turn_credentials(SECRET, "p-42", NOW, 600)
    assert creds.expires_at == int(NOW) + 600
    assert verify_turn_rest(SECRET, creds.username, creds.credential, NOW)
    assert verify_turn_rest(SECRET, creds.username, creds.credential, creds.expires_at)  # coturn: expired iff < now
    assert not verify_turn_rest(SECRET, creds.username, creds.credential, creds.expires_at + 1)


def test_verify_refuses_wrong_secret_tampered_username_and_garbage() -> None:
    creds = mint_turn_credentials(SECRET, "p-42", NOW, 600)
    assert not verify_turn_rest("other", creds.username, creds.credential, NOW)
    later = f"{creds.expires_at + 10_000}:p-42"  # extending the expiry breaks the HMAC
    assert not verify_turn_rest(SECRET, later, creds.credential, NOW)
    assert not verify_turn_rest(SECRET, "p-42", creds.credential, NOW)
    assert not verify_turn_rest(SECRET, "soon:p-42", creds.credential, NOW)
    assert not verify_turn_rest(SECRET, creds.username, "", NOW)
    assert not verify_turn_rest(SECRET, creds.username, "ünïcode", NOW)


def test_each_participant_gets_their_own_credentials() -> None:
    cfg = WebRTCConfig(turn_urls=TURN, turn_secret=SECRET)
    a = ice_config(cfg, "a", NOW)["iceServers"][1]
    b = ice_config(cfg, "b", NOW)["iceServers"][1]
    assert a["username"].endswith(":a") and b["username"].endswith(":b")
    assert a["credential"] != b["credential"]


@pytest.mark.parametrize("pid", ["", "x" * 401])
def test_participant_id_must_fit_a_turn_username(pid: str) -> None:
    with pytest.raises(ValueError, match="participant_id"):
        mint_turn_credentials(SECRET, pid, NOW, 600)


def test_static_credentials_are_handed_out_as_is() -> None:
    cfg = WebRTCConfig(turn_urls=TURN, turn_username="user", turn_credential="pass")
    out = ice_config(cfg, "alice", NOW)
    assert out["iceServers"][1] == {"urls": TURN, "username": "user", "credential": "pass"}
    assert out["expiresAt"] is None


def test_force_relay_sets_relay_policy() -> None:
    cfg = WebRTCConfig(turn_urls=TURN, turn_secret=SECRET, force_relay=True)
    assert ice_config(cfg, "alice", NOW)["iceTransportPolicy"] == "relay"


def test_no_turn_gives_only_stun() -> None:
    cfg = WebRTCConfig(stun_urls=["stun:stun.example.org:3478"])
    out = ice_config(cfg, "alice", NOW)
    assert out == {
        "iceServers": [{"urls": ["stun:stun.example.org:3478"]}],
        "iceTransportPolicy": "all",
        "expiresAt": None,
    }


def test_no_stun_urls_and_disabled() -> None:
    cfg = WebRTCConfig(stun_urls=[], turn_urls=TURN, turn_secret=SECRET)
    assert [s["urls"] for s in ice_config(cfg, "a", NOW)["iceServers"]] == [TURN]
    off = WebRTCConfig(enabled=False)
    assert ice_config(off, "a", NOW) == {"iceServers": [], "iceTransportPolicy": "all", "expiresAt": None}


def test_returned_lists_are_copies() -> None:
    cfg = WebRTCConfig(turn_urls=TURN, turn_secret=SECRET)
    out = ice_config(cfg, "a", NOW)
    out["iceServers"][0]["urls"].append("stun:evil")
    out["iceServers"][1]["urls"].clear()
    assert cfg.stun_urls == ["stun:stun.l.google.com:19302"] and cfg.turn_urls == TURN
