"""Fixtures: one real bundle per test session (reuses ~/.cache/mug)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mug.bundle import BundleManifest, build_bundle, load_manifest

TESTPKG = Path(__file__).resolve().parent.parent / "envcheck" / "testpkg"


@pytest.fixture(scope="session")
def real_bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BundleManifest]:
    """A real bundle (with the envcheck test package as the experiment's local package), built once."""
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.skip("needs Node.js and npm")
    out = tmp_path_factory.getbasetemp() / "session-bundle"
    manifest = load_manifest(out)
    if manifest is None:
        manifest = build_bundle(out, packages=[str(TESTPKG)])
    return out, manifest
