from pathlib import Path

import pytest
from bundle_helpers import make_wheel

from mug.bundle import BundleError
from mug.bundle.wheels import compiled_member, ensure_pure, normalize_wheel, wheel_requirements


def test_pure_wheel_passes(tmp_path: Path) -> None:
    whl = make_wheel(tmp_path, "foo", {"foo/__init__.py": b"x = 1\n"})
    assert compiled_member(whl) is None
    ensure_pure(whl)


def test_compiled_wheel_is_refused_with_the_file_named(tmp_path: Path) -> None:
    so = "foo/_x.cpython-312-x86_64-linux-gnu.so"
    whl = make_wheel(tmp_path, "foo", {"foo/__init__.py": b"", so: b"\x7fELF"})
    with pytest.raises(BundleError) as err:
        ensure_pure(whl)
    msg = str(err.value)
    assert "package 'foo' ships compiled code" in msg and so in msg and "Pyodide cannot load it" in msg


def test_platform_tagged_wheel_is_refused(tmp_path: Path) -> None:
    whl = make_wheel(tmp_path, "bar", {"bar/__init__.py": b""}, tag="cp312-cp312-manylinux_2_17_x86_64")
    with pytest.raises(BundleError, match="package 'bar' ships compiled code"):
        ensure_pure(whl)


def test_requirements_apply_pyodide_markers_and_skip_extras(tmp_path: Path) -> None:
    whl = make_wheel(
        tmp_path,
        "foo",
        {"foo/__init__.py": b""},
        requires=(
            "numpy>=1",
            'pywin32; sys_platform == "win32"',
            'uvloop; sys_platform != "emscripten"',
            'rich; extra == "fancy"',
            'tomli; python_version < "3.11"',
        ),
    )
    assert [str(r) for r in wheel_requirements(whl)] == ["numpy>=1"]
    assert [r.name for r in wheel_requirements(whl, frozenset({"fancy"}))] == ["numpy", "rich"]


def test_normalize_wheel_is_reproducible(tmp_path: Path) -> None:
    whl = make_wheel(tmp_path, "foo", {"foo/b.py": b"b", "foo/a.py": b"a"})
    normalize_wheel(whl, tmp_path / "one.whl")
    normalize_wheel(whl, tmp_path / "two.whl")
    assert (tmp_path / "one.whl").read_bytes() == (tmp_path / "two.whl").read_bytes()
