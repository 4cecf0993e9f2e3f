from pathlib import Path

import pytest

from mug.bundle import BundleError
from mug.bundle.official import OfficialFiles, sha256_file, verify_official


def test_verify_accepts_the_official_hash(tmp_path: Path) -> None:
    f = tmp_path / "x-1.0-py3-none-any.whl"
    f.write_bytes(b"official")
    verify_official(f, sha256_file(f))


def test_tampered_file_is_refused_naming_both_hashes(tmp_path: Path) -> None:
    house = tmp_path / "house"
    house.mkdir()
    f = house / "numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl"
    f.write_bytes(b"tampered")
    official = "ebb61241d962b98b21597d7ce43b67668a6d5bab3acec4fbe958657320d7cd08"
    finder = OfficialFiles([house], tmp_path / "cache", offline=True)
    with pytest.raises(BundleError) as err:
        finder.find(f.name, official)
    assert official in str(err.value)
    assert sha256_file(f) in str(err.value)
    assert f.name in str(err.value)


def test_wheelhouse_file_is_verified_and_cached(tmp_path: Path) -> None:
    house = tmp_path / "house"
    house.mkdir()
    (house / "a.whl").write_bytes(b"abc")
    finder = OfficialFiles([house], tmp_path / "cache", offline=True)
    found = finder.find("a.whl", sha256_file(house / "a.whl"))
    assert found == tmp_path / "cache" / "official" / "a.whl"
    # second time: from the cache even without the wheelhouse
    finder2 = OfficialFiles([], tmp_path / "cache", offline=True)
    assert finder2.find("a.whl", sha256_file(house / "a.whl")) == found


def test_missing_file_says_where_it_looked_and_how_to_fix(tmp_path: Path) -> None:
    finder = OfficialFiles([tmp_path / "house"], tmp_path / "cache", offline=True)
    assert finder.find("scipy-1.14.1-cp312-cp312-pyodide_2024_0_wasm32.whl", "0" * 64) is None
    msg = finder.not_found_message("scipy-1.14.1-cp312-cp312-pyodide_2024_0_wasm32.whl", "scipy")
    assert "MUG_WHEELHOUSE" in msg and str(tmp_path / "house") in msg and "provisa" in msg
