"""The seed README's snippets, exactly as written, and WebRTC validation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from mug.configurations import RemoteConfig


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("TURN_USERNAME", "TURN_CREDENTIAL", "TURN_SECRET", "TURN_URLS", "STUN_URLS", "TURN_TTL_S"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_seed_snippet_environment_variables(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TURN_USERNAME", "your-openrelay-username")
    monkeypatch.setenv("TURN_CREDENTIAL", "your-openrelay-api-key")
    config = RemoteConfig()
    config.webrtc()  # Auto-loads from TURN_USERNAME and TURN_CREDENTIAL env vars
    ice = config.webrtc_config
    assert ice.turn_username == "your-openrelay-username" and ice.turn_credential == "your-openrelay-api-key"
    assert ice.turn_urls and all(u.startswith(("turn:", "turns:")) for u in ice.turn_urls)
    assert ice.force_relay is False
    config.webrtc(force_relay=True)
    assert config.webrtc_config.force_relay is True and config.webrtc_config.turn_username == "your-openrelay-username"


def test_seed_snippet_dotenv_file(clean_env: Path) -> None:
    """The README's .env snippet, run as a researcher's experiment file next to its .env."""
    (clean_env / ".env").write_text("TURN_USERNAME=your-openrelay-username\nTURN_CREDENTIAL=your-openrelay-api-key\n")
    (clean_env / "study.py").write_text(
        "from mug.configurations import RemoteConfig\n"
        "from dotenv import load_dotenv\n"
        "load_dotenv()\n"
        "\n"
        "config = RemoteConfig()\n"
        "config.webrtc()\n"
        "print(config.webrtc_config.turn_username, config.webrtc_config.turn_credential)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TURN_", "STUN_"))}
    out = subprocess.run(
        [sys.executable, "study.py"], cwd=clean_env, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["your-openrelay-username", "your-openrelay-api-key"]


def test_webrtc_reads_dotenv_by_itself(clean_env: Path) -> None:
    (clean_env / ".env").write_text("TURN_SECRET=s3cret\nTURN_URLS=turn:127.0.0.1:3478\n")
    try:
        ice = RemoteConfig().webrtc().webrtc_config
        assert ice.turn_secret == "s3cret" and ice.turn_urls == ["turn:127.0.0.1:3478"] and ice.has_turn
    finally:
        os.environ.pop("TURN_SECRET", None)
        os.environ.pop("TURN_URLS", None)


def test_without_turn_only_stun(clean_env: Path) -> None:
    ice = RemoteConfig().webrtc().webrtc_config
    assert not ice.has_turn and ice.turn_urls == [] and ice.stun_urls


def test_force_relay_without_turn_says_how_to_fix(clean_env: Path) -> None:
    with pytest.raises(ValidationError, match="force_relay=True\\) needs a TURN server: set TURN_USERNAME"):
        RemoteConfig().webrtc(force_relay=True)


def test_half_credentials_are_refused(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TURN_USERNAME", "only-user")
    with pytest.raises(ValidationError, match="give both TURN_USERNAME and TURN_CREDENTIAL"):
        RemoteConfig().webrtc()


def test_bad_urls_name_the_field(clean_env: Path) -> None:
    with pytest.raises(ValidationError, match="turn_urls: 'http://x' must start with 'turn:'"):
        RemoteConfig().webrtc(turn_username="u", turn_credential="c", turn_urls=["http://x"])
