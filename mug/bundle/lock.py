"""The bundle's ``pyodide-lock.json``: the official lock extended with the bundle's own wheels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pyodide_lock import PyodideLockSpec
from pyodide_lock.utils import add_wheels_to_spec

from mug.bundle.constants import PYODIDE_VERSION
from mug.bundle.errors import BundleError


def extend_lock(official: dict[str, Any], wheels: list[Path], left_out: list[str] | None = None) -> dict[str, Any]:
    """Return the official lock with entries for ``wheels`` added (or replacing entries of the same name).

    Args:
        official: the official ``pyodide-lock.json`` content.
        wheels: wheel files to add; each entry's ``file_name`` is the bare file name (bundles are flat).
        left_out: dependencies the bundle leaves out (`constants.STAND_IN`): they are no entry's `depends`
            (Pyodide's loader refuses a package whose dependency it does not know), whether the official lock
            lists them (pygame-ce) or not (pygame).

    Returns:
        The new lock content, as plain JSON data.

    Raises:
        BundleError: a wheel needs a distribution that is neither in the lock nor among `wheels` nor left out.
    """
    drop = set(left_out or ())
    spec = PyodideLockSpec.from_dict(official)
    try:
        new = add_wheels_to_spec(
            spec, [w.resolve() for w in wheels], base_path=Path("/"), ignore_missing_dependencies=bool(drop)
        )
    except RuntimeError as exc:
        raise BundleError(f"the lock file could not be extended: {exc}") from None
    for name, package in new.packages.items():
        package.depends = [d for d in package.depends if d not in drop]
        added = name not in spec.packages or package.sha256 != spec.packages[name].sha256
        missing = [d for d in package.depends if d not in new.packages] if added and drop else []
        if missing:  # what ignore_missing_dependencies let through beyond the left-out names
            raise BundleError(f"the lock file could not be extended: {name} needs {missing}, which is in no entry")
    for name, package in new.packages.items():
        if name not in spec.packages or package.sha256 != spec.packages[name].sha256:
            package.file_name = Path(package.file_name).name
    data = new.to_dict()
    # pyodide-lock drops info.version on output, but Pyodide's loader compares it with its own version.
    data["info"]["version"] = official["info"].get("version", PYODIDE_VERSION)
    return data


def lock_bytes(data: dict[str, Any]) -> bytes:
    """Serialize a lock deterministically (sorted keys, compact, trailing newline)."""
    return (json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n").encode()
