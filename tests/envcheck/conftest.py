"""Fixtures: the test environments' package, and one real bundle per session (shared with tests/bundle)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mug.bundle import build_bundle, load_manifest

TESTPKG = Path(__file__).resolve().parent / "testpkg"


@pytest.fixture
def testenvs(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make the test environments importable in CPython (Pyodide gets them from the bundle)."""
    monkeypatch.syspath_prepend(str(TESTPKG))
    return TESTPKG


@pytest.fixture(scope="session")
def bundle_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real bundle holding the test environments' package, built once per session."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("needs Node.js and npm")
    out = tmp_path_factory.getbasetemp() / "session-bundle"
    if load_manifest(out) is None:
        build_bundle(out, packages=[str(TESTPKG)])
    return out
