"""``mug-bundle.json``: what a bundle holds, what it was built from, and whether it is still current."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mug.bundle.constants import MANIFEST_FILE


@dataclass(frozen=True)
class BundleManifest:
    """Description of a built bundle, written to ``<out_dir>/mug-bundle.json``.

    Attributes:
        bundle_id: a short hash of the lock file contents (changes whenever any file changes).
        lock_file: the lock file name, to pass as loadPyodide's ``lockFileURL`` (relative to the bundle).
        packages: names to pass as loadPyodide's ``packages`` so everything loads in one call.
        python: the Python version of the runtime.
        pyodide: the Pyodide version.
        files: every file of the bundle and its size in bytes.
        sources: for each bundled distribution, "<version> <source>" (official, pypi, local or mug).
        inputs: what the bundle was built from (requested packages, pins, client fingerprint).
        assets: the experiment's asset files with their SHA-256, by folder ("experiment" or "scene:<id>") and
            name (`mug.server.assets`). The server serves them from their folders under URLs made of these
            hashes; they are listed here so a bundle says which files its experiment was built with.
        onnxruntime: the vendored onnxruntime-web (`mug.bundle.onnxruntime`): version, license, entry module
            and each file's SHA-256; empty when the bundle has none.
        left_out: dependencies that have no Pyodide build and were left out (`constants.STAND_IN`: pygame,
            pygame-ce), each with the package that required it; `GameScene(pygame_stub=True)` stands in.
    """

    bundle_id: str
    lock_file: str
    packages: list[str]
    python: str
    pyodide: str
    files: dict[str, int] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)
    assets: dict[str, dict[str, str]] = field(default_factory=dict)
    onnxruntime: dict[str, Any] = field(default_factory=dict)
    left_out: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        """Return the manifest as deterministic, indented JSON."""
        return json.dumps(asdict(self), sort_keys=True, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> BundleManifest:
        """Parse a manifest written by :meth:`to_json`."""
        data = json.loads(text)
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    @property
    def total_bytes(self) -> int:
        """Total size of the bundle's files."""
        return sum(self.files.values())


def load_manifest(out_dir: Path) -> BundleManifest | None:
    """Return the manifest of the bundle in ``out_dir``, or None if there is no (readable) bundle."""
    path = Path(out_dir) / MANIFEST_FILE
    try:
        return BundleManifest.from_json(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError, KeyError):
        return None


def files_intact(out_dir: Path, manifest: BundleManifest) -> bool:
    """True if every file the manifest lists exists in ``out_dir`` with the recorded size."""
    for name, size in manifest.files.items():
        path = Path(out_dir) / name
        if not path.is_file() or path.stat().st_size != size:
            return False
    return True
