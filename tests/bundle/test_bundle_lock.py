from pathlib import Path
from typing import Any

import pytest
from bundle_helpers import make_wheel

from mug.bundle.errors import BundleError
from mug.bundle.lock import extend_lock, lock_bytes
from mug.bundle.official import sha256_file

OFFICIAL: dict[str, Any] = {
    "info": {
        "abi_version": "2024_0",
        "arch": "wasm32",
        "platform": "emscripten_3_1_58",
        "python": "3.12.7",
        "version": "0.27.7",
    },
    "packages": {
        "numpy": {
            "name": "numpy",
            "version": "2.0.2",
            "file_name": "numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl",
            "install_dir": "site",
            "sha256": "ab" * 32,
            "imports": ["numpy"],
            "depends": [],
            "package_type": "package",
            "unvendored_tests": True,
        },
        "foo": {
            "name": "foo",
            "version": "0.1",
            "file_name": "foo-0.1-py3-none-any.whl",
            "install_dir": "site",
            "sha256": "cd" * 32,
            "imports": ["foo"],
            "depends": [],
            "package_type": "package",
            "unvendored_tests": False,
        },
    },
}


def test_extend_adds_and_replaces_entries(tmp_path: Path) -> None:
    sub = tmp_path / "deep" / "folder"
    sub.mkdir(parents=True)
    bar = make_wheel(tmp_path, "bar", {"bar/__init__.py": b""}, requires=("numpy", "foo"))
    foo = make_wheel(sub, "foo", {"foo/__init__.py": b""})
    lock = extend_lock(OFFICIAL, [bar, foo])
    pkgs = lock["packages"]
    assert pkgs["bar"]["file_name"] == bar.name
    assert pkgs["bar"]["sha256"] == sha256_file(bar)
    assert sorted(pkgs["bar"]["depends"]) == ["foo", "numpy"]
    assert pkgs["bar"]["imports"] == ["bar"]
    assert pkgs["foo"]["file_name"] == foo.name and pkgs["foo"]["version"] == "1.0"  # replaced
    assert pkgs["numpy"]["sha256"] == "ab" * 32  # official entry untouched
    assert lock["info"]["version"] == "0.27.7"  # kept: Pyodide's loader checks it


def test_lock_serialization_is_deterministic(tmp_path: Path) -> None:
    bar = make_wheel(tmp_path, "bar", {"bar/__init__.py": b""})
    assert lock_bytes(extend_lock(OFFICIAL, [bar])) == lock_bytes(extend_lock(OFFICIAL, [bar]))


def test_left_out_dependencies_are_in_no_entrys_depends_listed_officially_or_not(tmp_path: Path) -> None:
    # Pyodide's loader refuses a package whose dependency it does not know: pygame(-ce) is left out of bundles
    grid = make_wheel(tmp_path, "grid", {"grid/__init__.py": b""}, requires=("numpy", "pygame-ce>=2.4", "pygame"))
    pygame_ce = OFFICIAL["packages"]["numpy"] | {"name": "pygame-ce", "version": "2.4.1", "imports": ["pygame"]}
    official = OFFICIAL | {"packages": OFFICIAL["packages"] | {"pygame-ce": pygame_ce}}  # as Pyodide 0.27.7's
    lock = extend_lock(official, [grid], ["pygame", "pygame-ce"])  # pygame: in no official lock
    assert lock["packages"]["grid"]["depends"] == ["numpy"] and lock["packages"]["numpy"]["depends"] == []
    with pytest.raises(BundleError, match="pygame"):
        extend_lock(official, [grid], ["pygame-ce"])  # anything else missing is still an error
