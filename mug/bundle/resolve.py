"""Choose one wheel per distribution for the bundle: official Pyodide files first, else pure PyPI wheels."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from mug.bundle.constants import PINNED_PURE, STAND_IN
from mug.bundle.errors import BundleError
from mug.bundle.official import OfficialFiles
from mug.bundle.wheels import download_pure, wheel_name_version, wheel_requirements


@dataclass(frozen=True)
class Resolved:
    """One distribution chosen for the bundle.

    Attributes:
        name: canonical distribution name (the lock file's key).
        version: its version.
        path: the file to copy into the bundle.
        source: "official" (the official lock entry is kept), "pypi", "local" or "mug".
    """

    name: str
    version: str
    path: Path
    source: str


class Resolver:
    """Resolves requirements breadth-first, one version per name, refusing conflicts.

    Args:
        official: the official lock's package entries, by canonical name.
        finder: where official files are found.
        pypi_cache: the cache folder of pure wheels from PyPI.
        offline: if True, nothing is downloaded.
    """

    def __init__(
        self, official: dict[str, dict[str, Any]], finder: OfficialFiles, pypi_cache: Path, offline: bool
    ) -> None:
        self.official = {canonicalize_name(k): v for k, v in official.items()}
        self.finder = finder
        self.pypi_cache = pypi_cache
        self.offline = offline
        self.chosen: dict[str, Resolved] = {}
        self.left_out: dict[str, str] = {}  # a STAND_IN dependency -> the package that required it first
        self._queue: list[tuple[Requirement, str]] = []

    def add_wheel(self, path: Path, source: str) -> str:
        """Add an already built wheel (mug's client, a local project) and queue its dependencies."""
        name, version = wheel_name_version(path)
        if name in self.chosen:
            raise BundleError(f"two packages named '{name}' were given ({self.chosen[name].path.name}, {path.name})")
        self.chosen[name] = Resolved(name, str(version), path, source)
        self._queue_deps(path, name, frozenset())
        return name

    def require(self, req: Requirement, by: str) -> None:
        """Queue a requirement; ``by`` names who needs it, for error messages."""
        self._queue.append((req, by))

    def run(self) -> dict[str, Resolved]:
        """Resolve every queued requirement and return the chosen distributions by name."""
        while self._queue:
            req, by = self._queue.pop(0)
            self._resolve(req, by)
        return dict(sorted(self.chosen.items()))

    def _queue_deps(self, path: Path, name: str, extras: frozenset[str]) -> None:
        for dep in wheel_requirements(path, extras):
            self._queue.append((dep, name))

    def _take(self, name: str, path: Path, source: str, extras: frozenset[str]) -> None:
        _, version = wheel_name_version(path)
        self.chosen[name] = Resolved(name, str(version), path, source)
        self._queue_deps(path, name, extras)

    def _resolve(self, req: Requirement, by: str) -> None:
        name = canonicalize_name(req.name)
        extras = frozenset(req.extras)
        if name in STAND_IN and name not in self.chosen:
            # the official build is bundled when its file can be found (wheelhouse, cache, online CDN); else left out
            entry = self.official.get(name)
            found = entry is not None and self.finder.find(entry["file_name"], entry["sha256"]) is not None
            if not found:
                if by == "the experiment":
                    raise BundleError(
                        f"{req}: the official Pyodide build of {name} cannot be found (no wheelhouse or cache holds "
                        "it, and PyPI has no Pyodide build); leave it out of `packages` and set "
                        "GameScene(pygame_stub=True): `import pygame` then gets MUG's stand-in, and the env renders "
                        "with a Surface or an rgb_array"
                    )
                self.left_out.setdefault(name, by)
                return
        if name in self.chosen:
            have = Version(self.chosen[name].version)
            if not req.specifier.contains(have, prereleases=True):
                raise BundleError(
                    f"'{by}' needs {req}, but the bundle already has {name} {have} "
                    f"(from {self.chosen[name].source}); make the requirements agree"
                )
            return
        if name in PINNED_PURE:
            pin = PINNED_PURE[name]
            if not req.specifier.contains(Version(pin), prereleases=True):
                raise BundleError(
                    f"'{by}' needs {req}, but MUG pins {name}=={pin} (mug/bundle/constants.py PINNED_PURE)"
                )
            self._take(
                name,
                download_pure(Requirement(f"{name}=={pin}"), self.pypi_cache, self.offline),
                "pypi",
                extras,
            )
            return
        entry = self.official.get(name)
        if entry is not None and req.specifier.contains(Version(entry["version"]), prereleases=True):
            self._take_official(name, entry, by, extras)
            return
        self._take(name, download_pure(req, self.pypi_cache, self.offline), "pypi", extras)

    def _take_official(self, name: str, entry: dict[str, Any], by: str, extras: frozenset[str]) -> None:
        path = self.finder.find(entry["file_name"], entry["sha256"])
        if path is not None:
            self.chosen[name] = Resolved(name, entry["version"], path, "official")
            for dep in entry.get("depends", []):
                self._queue.append((Requirement(dep), name))
            return
        if entry["file_name"].endswith("-none-any.whl"):
            # A pure wheel: PyPI's build of the same version behaves the same; its hash goes in the lock.
            pure = download_pure(Requirement(f"{name}=={entry['version']}"), self.pypi_cache, self.offline)
            self._take(name, pure, "pypi", extras)
            return
        raise BundleError(self.finder.not_found_message(entry["file_name"], name))
