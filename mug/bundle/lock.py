"""The bundle's ``pyodide-lock.json``: the official lock extended with the bundle's own wheels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pyodide_lock import PyodideLockSpec
from pyodide_lock.utils import add_wheels_to_spec

from mug.bundle.constants import PYODIDE_VERSION
from mug.bundle.errors import BundleError


def extend_lock(official: dict[str, Any], wheels: list[Path]) -> dict[str, Any]:
    """Return the official lock with entries for ``wheels`` added (or replacing entries of the same name).

    Args:
        official: the official ``pyodide-lock.json`` content.
        wheels: wheel files to add; each entry's ``file_name`` is the bare file name (bundles are flat).

    Returns:
        The new lock content, as plain JSON data.
    """
    spec = PyodideLockSpec.from_dict(official)
    try:
        new = add_wheels_to_spec(spec, [w.resolve() for w in wheels], base_path=Path("/"))
    except RuntimeError as exc:
        raise BundleError(f"the lock file could not be extended: {exc}") from None
    for name, package in new.packages.items():
        if name not in spec.packages or package.sha256 != spec.packages[name].sha256:
            package.file_name = Path(package.file_name).name
    data = new.to_dict()
    # pyodide-lock drops info.version on output, but Pyodide's loader compares it with its own version.
    data["info"]["version"] = official["info"].get("version", PYODIDE_VERSION)
    return data


def without_depends(data: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """The lock with `names` (left out of the bundle: `constants.STAND_IN`) removed from every package's
    `depends`: Pyodide's loader refuses to load a package whose dependency it does not know."""
    drop = set(names)
    for package in data["packages"].values():
        package["depends"] = [d for d in package.get("depends", []) if d not in drop]
    return data


def lock_bytes(data: dict[str, Any]) -> bytes:
    """Serialize a lock deterministically (sorted keys, compact, trailing newline)."""
    return (json.dumps(data, sort_keys=True, separators=(",", ":")) + "\n").encode()
