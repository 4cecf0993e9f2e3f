"""Helpers for the bundle tests: minimal wheels made on the fly."""

import zipfile
from pathlib import Path


def make_wheel(
    folder: Path,
    name: str,
    files: dict[str, bytes],
    tag: str = "py3-none-any",
    requires: tuple[str, ...] = (),
) -> Path:
    """Write a minimal wheel (METADATA, WHEEL, RECORD) holding ``files``."""
    dist = name.replace("-", "_")
    info = f"{dist}-1.0.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n" + "".join(f"Requires-Dist: {r}\n" for r in requires)
    path = folder / f"{dist}-1.0-{tag}.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for arc, data in files.items():
            zf.writestr(arc, data)
        zf.writestr(f"{info}/METADATA", meta)
        zf.writestr(f"{info}/WHEEL", f"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: {tag}\n")
        zf.writestr(f"{info}/RECORD", "")
    return path
