"""Fixtures: the test environments' package importable in CPython (the session bundle holds it for Pyodide)."""

from __future__ import annotations

from pathlib import Path

import pytest

TESTPKG = Path(__file__).resolve().parent / "testpkg"


@pytest.fixture
def testenvs(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make the test environments importable in CPython (Pyodide gets them from the bundle)."""
    monkeypatch.syspath_prepend(str(TESTPKG))
    return TESTPKG
