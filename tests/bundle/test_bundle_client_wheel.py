import zipfile
from pathlib import Path

from mug.bundle.client_wheel import build_client_wheel, client_fingerprint


def test_client_wheel_is_byte_identical_across_builds(tmp_path: Path) -> None:
    one = build_client_wheel(tmp_path / "one")
    two = build_client_wheel(tmp_path / "two")
    assert one.name.startswith("mug_client-") and one.name.endswith("-py3-none-any.whl")
    assert one.read_bytes() == two.read_bytes()


def test_client_wheel_contents(tmp_path: Path) -> None:
    whl = build_client_wheel(tmp_path)
    with zipfile.ZipFile(whl) as zf:
        names = zf.namelist()
        infos = zf.infolist()
        record = zf.read(next(n for n in names if n.endswith("/RECORD"))).decode()
    assert names == sorted(names[:-3]) + names[-3:]  # sources sorted, then METADATA, WHEEL, RECORD
    assert "mug/__init__.py" in names
    assert "mug/client/checksum.py" in names and "mug/client/trajectory.py" in names
    assert not any("/static/" in n or n.startswith("mug/server") for n in names)
    assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
    assert all(n in record for n in names)


def test_fingerprint_follows_sources(tmp_path: Path) -> None:
    root = tmp_path / "mug"
    (root / "client").mkdir(parents=True)
    (root / "__init__.py").write_text('__version__ = "9"\n')
    (root / "client" / "x.py").write_text("a = 1\n")
    before = client_fingerprint(root)
    (root / "client" / "x.py").write_text("a = 2\n")
    assert client_fingerprint(root) != before


def test_client_wheel_holds_no_test_harness(tmp_path: Path) -> None:
    with zipfile.ZipFile(build_client_wheel(tmp_path)) as zf:
        names = [n for n in zf.namelist() if n.endswith(".py")]
    assert "mug/refs.py" in names and "mug/client/lockstep/session.py" in names
    assert not any(n.startswith("mug/testing/") for n in names)
    harness = {"simulate.py", "network.py", "conftest.py"}
    assert not [n for n in names if n.rsplit("/", 1)[-1] in harness or n.rsplit("/", 1)[-1].startswith("test_")]
