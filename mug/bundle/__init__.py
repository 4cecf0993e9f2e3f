"""Build the self-hosted Pyodide bundle a participant's browser loads with one ``loadPyodide`` call.

Example::

    from mug.bundle import build_bundle
    manifest = build_bundle(Path("pyodide_bundle"), packages=["./my_experiment_pkg"])
"""

from mug.bundle.builder import build_bundle, bundle_is_current
from mug.bundle.constants import DEFAULT_BUNDLE_DIR
from mug.bundle.errors import BundleError
from mug.bundle.manifest import BundleManifest, load_manifest

__all__ = [
    "DEFAULT_BUNDLE_DIR",
    "BundleError",
    "BundleManifest",
    "build_bundle",
    "bundle_is_current",
    "load_manifest",
]
