"""The inputs of a build: requested packages, wheelhouse folders, cache folder, and their fingerprints."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import mug
from mug.bundle.client_wheel import client_fingerprint
from mug.bundle.constants import PINNED_PURE, PYODIDE_VERSION
from mug.bundle.errors import BundleError

SKIP_PARTS = {"build", "dist", "__pycache__", ".git", ".venv", ".mypy_cache", ".pytest_cache", ".ruff_cache"}


def looks_like_path(text: str) -> bool:
    """True if a requested package names a folder rather than a requirement ("./pkg", "/x/y", "~/z")."""
    if "@" in text:  # "name @ https://..." is a requirement
        return False
    return text.startswith((".", "~", "/")) or os.sep in text or "/" in text or Path(text).is_dir()


def local_folder(text: str) -> Path | None:
    """Return the resolved project folder a requested package names, or None for a requirement string.

    Raises:
        BundleError: it names a folder that does not exist.
    """
    if not looks_like_path(text):
        return None
    folder = Path(text).expanduser().resolve()
    if not folder.is_dir():
        raise BundleError(
            f"the local package folder {text} ({folder}) does not exist: pass an existing project folder "
            "(with pyproject.toml or setup.py) or a pip requirement such as 'foo==1.2'"
        )
    return folder


def folder_fingerprint(folder: Path) -> str:
    """Return a hash of the names and contents of a project's files (build outputs excluded)."""
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or SKIP_PARTS & set(rel.parts) or any(p.endswith(".egg-info") for p in rel.parts):
            continue
        h.update(rel.as_posix().encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:16]


def _found_onnxruntime() -> str | None:
    from mug.bundle.onnxruntime import found_version

    return found_version()


def describe_inputs(packages: list[str]) -> dict[str, Any]:
    """Return the JSON-able description of a build's inputs, recorded in mug-bundle.json."""
    requested = []
    for text in packages:
        folder = local_folder(text)
        if folder is None:
            requested.append({"requirement": text})
        else:
            requested.append({"folder": str(folder), "fingerprint": folder_fingerprint(folder)})
    return {
        "client": client_fingerprint(),
        "mug": mug.__version__,
        "onnxruntime": _found_onnxruntime(),
        "pins": dict(sorted(PINNED_PURE.items())),
        "pyodide": PYODIDE_VERSION,
        "requested": requested,
    }


def default_wheelhouses() -> list[Path]:
    """Wheelhouse folders: $MUG_WHEELHOUSE (os.pathsep-separated), then ../shared/wheelhouse if present."""
    out = [Path(p).expanduser() for p in os.environ.get("MUG_WHEELHOUSE", "").split(os.pathsep) if p]
    repo = Path(mug.__file__).resolve().parent.parent
    for base in (Path.cwd(), repo):
        candidate = (base / ".." / "shared" / "wheelhouse").resolve()
        if candidate.is_dir() and candidate not in out:
            out.append(candidate)
    return out


def default_cache_dir() -> Path:
    """The download cache: $MUG_CACHE_DIR, else ~/.cache/mug."""
    env = os.environ.get("MUG_CACHE_DIR")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "mug"
