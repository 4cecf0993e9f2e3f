"""Fixtures for the example experiments: their packages importable in CPython, and one bundle per session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mug.bundle import build_bundle, load_manifest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DODGE_PKG = EXAMPLES / "dodge" / "dodge_env"
CARTPOLE_PKG = EXAMPLES / "cartpole" / "cartpole_browser"
PACKAGES = [str(DODGE_PKG), str(CARTPOLE_PKG)]


@pytest.fixture
def example_envs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the examples' local packages importable in CPython, as the bundle makes them in the browser."""
    for folder in (DODGE_PKG, CARTPOLE_PKG):
        monkeypatch.syspath_prepend(str(folder))


@pytest.fixture(scope="session")
def examples_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real Pyodide bundle holding both examples' packages, built once per session."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("needs Node.js and npm")
    out = tmp_path_factory.getbasetemp() / "examples-bundle"
    if load_manifest(out) is None:
        build_bundle(out, packages=PACKAGES)
    return out
