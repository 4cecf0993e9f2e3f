"""A Pyodide bundle for tests and benchmarks: built once, reused while its inputs are unchanged."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mug.bundle import BundleManifest, build_bundle, bundle_is_current, load_manifest


@dataclass(frozen=True)
class BuiltBundle:
    """A bundle folder, the packages it was built with, and its manifest.

    Pass `packages` wherever a package list is asked for (e.g. `mug.envcheck.check_env`), so the bundle is
    found current and never rebuilt in place under another user of it.
    """

    path: Path
    packages: list[str]
    manifest: BundleManifest


def ensure_bundle(out: Path, packages: list[str]) -> BuiltBundle:
    """Return the bundle in `out` built from `packages`, building it first when it is missing or stale.

    Args:
        out: the bundle folder.
        packages: the experiment packages (local folders or requirements), in order.

    Returns:
        The bundle.
    """
    manifest = load_manifest(out) if bundle_is_current(out, packages) else None
    if manifest is None:
        manifest = build_bundle(out, packages=packages)
    return BuiltBundle(out, list(packages), manifest)
