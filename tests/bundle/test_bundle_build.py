"""Builder checks that need no network: inputs, manifest, npm errors, folder safety."""

import os
import stat
from pathlib import Path

import pytest

from mug.bundle import BundleError, BundleManifest, build_bundle, bundle_is_current, load_manifest
from mug.bundle.core import fetch_core_tarball
from mug.bundle.inputs import describe_inputs
from mug.bundle.wheels import build_local


def _fake_bundle(out: Path, packages: list[str]) -> BundleManifest:
    out.mkdir()
    (out / "pyodide.mjs").write_bytes(b"x" * 10)
    m = BundleManifest(
        bundle_id="abc",
        lock_file="pyodide-lock.json",
        packages=["numpy"],
        python="3.12.7",
        pyodide="0.27.7",
        files={"pyodide.mjs": 10},
        inputs=describe_inputs(packages),
    )
    (out / "mug-bundle.json").write_text(m.to_json())
    return m


def test_manifest_round_trip_and_current_check(tmp_path: Path) -> None:
    out = tmp_path / "b"
    m = _fake_bundle(out, [])
    assert load_manifest(out) == m
    assert bundle_is_current(out, [])
    assert not bundle_is_current(out, ["foo==1.0"])
    (out / "pyodide.mjs").write_bytes(b"y" * 11)
    assert not bundle_is_current(out, [])


def test_current_check_follows_local_package_contents(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "pyproject.toml").write_text("[project]\nname='p'\n")
    out = tmp_path / "b"
    _fake_bundle(out, [str(pkg)])
    assert bundle_is_current(out, [str(pkg)])
    (pkg / "pyproject.toml").write_text("[project]\nname='q'\n")
    assert not bundle_is_current(out, [str(pkg)])


def test_no_manifest_is_not_current(tmp_path: Path) -> None:
    assert load_manifest(tmp_path) is None
    assert not bundle_is_current(tmp_path / "nope", [])


def test_missing_local_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="local package folder ./does-not-exist .* does not exist"):
        build_bundle(tmp_path / "out", packages=["./does-not-exist"], cache_dir=tmp_path / "c", offline=True)


def test_folder_without_project_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no pyproject.toml or setup.py"):
        build_local(tmp_path, tmp_path / "out")


def test_refuses_to_clear_a_folder_that_is_not_a_bundle(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(BundleError, match="holds no MUG bundle"):
        build_bundle(tmp_path, cache_dir=tmp_path / "c", offline=True)
    assert (tmp_path / "precious.txt").exists()


def test_offline_without_cached_core_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="npm pack pyodide@0.27.7"):
        build_bundle(tmp_path / "out", cache_dir=tmp_path / "c", offline=True)


def test_missing_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BundleError, match="npm was not found"):
        fetch_core_tarball(tmp_path / "c", offline=False)


def test_npm_tarball_hash_mismatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "bin" / "npm"
    fake.parent.mkdir()
    # a stand-in npm whose "pack" writes a tampered tarball to --pack-destination
    fake.write_text('#!/bin/sh\necho tampered > "$4/pyodide-0.27.7.tgz"\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(BundleError, match="does not match its pinned integrity: expected sha512-RUSV.*got sha512-"):
        fetch_core_tarball(tmp_path / "c", offline=False)
    assert not (tmp_path / "c" / "pyodide-0.27.7.tgz").exists()
