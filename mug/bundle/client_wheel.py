"""The browser half of mug as a reproducible pure wheel, ``mug_client-<version>-py3-none-any.whl``."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import mug
from mug.bundle.wheels import write_zip

CLIENT_FOLDERS = ("client", "rendering", "demos")
CLIENT_MODULES = ("__init__.py", "refs.py")  # top-level modules the browser imports
CLIENT_REQUIRES = ("numpy", "gymnasium", "pettingzoo")


def mug_root() -> Path:
    """Return the folder of the ``mug`` package the wheel is built from."""
    return Path(mug.__file__).resolve().parent


def client_sources(root: Path | None = None) -> list[tuple[str, Path]]:
    """Return (archive name, path) of every Python file that goes into the client wheel, sorted.

    Holds ``mug/__init__.py``, ``mug/refs.py`` and the ``.py`` files under ``mug/client`` (without ``static/``),
    ``mug/rendering`` and ``mug/demos``.
    """
    root = root or mug_root()
    out = [(f"mug/{name}", root / name) for name in CLIENT_MODULES if (root / name).is_file()]
    for folder in CLIENT_FOLDERS:
        base = root / folder
        if not base.is_dir():
            continue
        for path in base.rglob("*.py"):
            rel = path.relative_to(root)
            if rel.parts[:2] == ("client", "static") or "__pycache__" in rel.parts:
                continue
            out.append(("mug/" + rel.as_posix(), path))
    return sorted(out)


def client_fingerprint(root: Path | None = None) -> str:
    """Return a hash of the client sources (names and contents), to tell whether a bundle is stale."""
    h = hashlib.sha256()
    for name, path in client_sources(root):
        h.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:16]


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_client_wheel(dest_dir: Path, root: Path | None = None, version: str | None = None) -> Path:
    """Build the ``mug_client`` wheel into ``dest_dir``; the same sources always give the same bytes.

    Args:
        dest_dir: the output folder.
        root: the ``mug`` package folder (default: the imported one).
        version: the wheel version (default: ``mug.__version__``).

    Returns:
        The wheel path.
    """
    version = version or mug.__version__
    dist_info = f"mug_client-{version}.dist-info"
    items = [(name, path.read_bytes()) for name, path in client_sources(root)]
    metadata = "\n".join(
        [
            "Metadata-Version: 2.1",
            "Name: mug-client",
            f"Version: {version}",
            "Summary: The browser half of Multi-User Gymnasium (runs in Pyodide).",
            "Requires-Python: >=3.12",
            *(f"Requires-Dist: {r}" for r in CLIENT_REQUIRES),
            "",
        ]
    )
    wheel = "Wheel-Version: 1.0\nGenerator: mug.bundle\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    items += [(f"{dist_info}/METADATA", metadata.encode()), (f"{dist_info}/WHEEL", wheel.encode())]
    record = "".join(f"{name},{_record_hash(data)},{len(data)}\n" for name, data in items)
    record += f"{dist_info}/RECORD,,\n"
    items.append((f"{dist_info}/RECORD", record.encode()))
    dest_dir.mkdir(parents=True, exist_ok=True)
    path = dest_dir / f"mug_client-{version}-py3-none-any.whl"
    write_zip(path, items)
    return path
