"""Fixtures for the example experiments: their packages importable in CPython (the session bundle holds them)."""

from __future__ import annotations

from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DODGE_PKG = EXAMPLES / "dodge" / "dodge_env"
CARTPOLE_PKG = EXAMPLES / "cartpole" / "cartpole_browser"


@pytest.fixture
def example_envs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the examples' local packages importable in CPython, as the bundle makes them in the browser."""
    for folder in (DODGE_PKG, CARTPOLE_PKG):
        monkeypatch.syspath_prepend(str(folder))
