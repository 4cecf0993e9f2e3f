"""Fixtures for the example experiments: their packages importable in CPython (the session bundle holds them)."""

from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DODGE_PKG = EXAMPLES / "dodge" / "dodge_env"
CARTPOLE_PKG = EXAMPLES / "cartpole" / "cartpole_browser"
CONNECT_FOUR_PKG = EXAMPLES / "connect_four" / "connect_four_env"
GATHER_PKG = EXAMPLES / "gather" / "gather_env"


@pytest.fixture
def example_envs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the examples' local packages importable in CPython, as the bundle makes them in the browser."""
    for folder in (DODGE_PKG, CARTPOLE_PKG, CONNECT_FOUR_PKG, GATHER_PKG):
        monkeypatch.syspath_prepend(str(folder))
