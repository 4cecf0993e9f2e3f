"""The Pyodide core (runtime, stdlib and official lock file) from the npm package, hash-checked."""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import tarfile
from pathlib import Path

from mug.bundle.constants import CORE_FILES, LOCK_FILE, NPM_INTEGRITY, NPM_SPEC, NPM_TARBALL
from mug.bundle.errors import BundleError


def npm_integrity(path: Path) -> str:
    """Return the npm-style integrity string (``sha512-<base64>``) of a file."""
    digest = hashlib.sha512(path.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode()


def fetch_core_tarball(cache_dir: Path, offline: bool) -> Path:
    """Return the verified ``pyodide`` npm tarball, downloading it into ``cache_dir`` with ``npm pack``.

    Args:
        cache_dir: where the tarball is kept between builds.
        offline: if True, only the cached tarball is used.

    Returns:
        The path of the tarball, checked against the pinned npm integrity.
    """
    cache_dir.mkdir(parents=True, exist_ok=True)
    tarball = cache_dir / NPM_TARBALL
    if tarball.exists() and npm_integrity(tarball) == NPM_INTEGRITY:
        return tarball
    if offline:
        raise BundleError(
            f"offline build, but the Pyodide core ({NPM_SPEC}) is not in the cache {cache_dir}: "
            "run one build "
            f"without --offline, or run `npm pack {NPM_SPEC} --pack-destination {cache_dir}`"
        )
    npm = shutil.which("npm")
    if npm is None:
        raise BundleError(
            f"npm was not found on PATH: it is needed once to download the Pyodide core ({NPM_SPEC}). "
            f"Install Node.js 20 (which includes npm), or put {NPM_TARBALL} in {cache_dir}"
        )
    proc = subprocess.run(
        [npm, "pack", NPM_SPEC, "--pack-destination", str(cache_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0 or not tarball.exists():
        raise BundleError(f"`npm pack {NPM_SPEC}` failed: {proc.stderr.strip()[-800:]}")
    got = npm_integrity(tarball)
    if got != NPM_INTEGRITY:
        tarball.unlink()
        raise BundleError(
            f"the npm tarball {NPM_TARBALL} does not match its pinned integrity: expected {NPM_INTEGRITY}, "
            f"got {got}. The registry served a different file; the download was deleted."
        )
    return tarball


def extract_core(tarball: Path, dest: Path) -> dict[str, Path]:
    """Extract the core files and the official lock file from the npm tarball into ``dest``.

    Returns:
        A map from file name to extracted path, including ``pyodide-lock.json`` (the official lock).
    """
    dest.mkdir(parents=True, exist_ok=True)
    wanted = {f"package/{name}": name for name in (*CORE_FILES, LOCK_FILE)}
    out: dict[str, Path] = {}
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar.getmembers():
            name = wanted.get(member.name)
            if name is None or not member.isfile():
                continue
            src = tar.extractfile(member)
            if src is None:
                continue
            target = dest / name
            target.write_bytes(src.read())
            out[name] = target
    missing = sorted(set(wanted.values()) - set(out))
    if missing:
        raise BundleError(f"the npm tarball {tarball} lacks {', '.join(missing)}")
    return out
