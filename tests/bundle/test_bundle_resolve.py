"""The resolver: dependencies with no Pyodide build (pygame, pygame-ce) are left out and said so."""

from __future__ import annotations

from pathlib import Path

import pytest
from bundle_helpers import make_wheel
from packaging.requirements import Requirement

from mug.bundle.errors import BundleError
from mug.bundle.official import OfficialFiles, sha256_file
from mug.bundle.resolve import Resolver


def resolver(tmp_path: Path) -> Resolver:
    cache = tmp_path / "cache"
    (cache / "pypi").mkdir(parents=True)
    make_wheel(cache / "pypi", "tinydep", {"tinydep/__init__.py": b""})
    return Resolver({}, OfficialFiles([], cache, True), cache / "pypi", offline=True)


def test_a_dependency_on_pygame_ce_is_left_out_and_named_with_who_required_it(tmp_path: Path) -> None:
    r = resolver(tmp_path)
    (tmp_path / "local").mkdir()
    grid = make_wheel(
        tmp_path / "local", "gridpkg", {"gridpkg/__init__.py": b""}, requires=("pygame-ce>=2.4.0", "tinydep")
    )
    r.add_wheel(grid, "local")
    chosen = r.run()
    assert sorted(chosen) == ["gridpkg", "tinydep"]
    assert r.left_out == {"pygame-ce": "gridpkg"}


def test_asking_for_pygame_in_packages_says_to_use_the_stand_in(tmp_path: Path) -> None:
    r = resolver(tmp_path)
    r.require(Requirement("pygame-ce==2.5.2"), "the experiment")
    with pytest.raises(BundleError, match=r"build of pygame-ce cannot be found.*pygame_stub=True"):
        r.run()


def test_the_official_pygame_ce_build_is_bundled_when_a_wheelhouse_holds_it(tmp_path: Path) -> None:
    house = tmp_path / "house"
    house.mkdir()
    wheel = make_wheel(house, "pygame-ce", {"pygame/__init__.py": b""}, tag="cp312-cp312-pyodide_2024_0_wasm32")
    entry = {"name": "pygame-ce", "version": "1.0", "file_name": wheel.name, "sha256": sha256_file(wheel)}
    cache = tmp_path / "cache"
    (cache / "pypi").mkdir(parents=True)
    r = Resolver({"pygame-ce": entry | {"depends": []}}, OfficialFiles([house], cache, True), cache / "pypi", True)
    (tmp_path / "local").mkdir()
    r.add_wheel(
        make_wheel(tmp_path / "local", "gridpkg", {"gridpkg/__init__.py": b""}, requires=("pygame-ce",)), "local"
    )
    chosen = r.run()
    assert chosen["pygame-ce"].source == "official" and r.left_out == {}
