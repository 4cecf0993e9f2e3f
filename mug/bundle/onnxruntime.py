"""onnxruntime-web, vendored into the bundle for experiments with ONNX policies.

The files come from the npm package `onnxruntime-web` (pinned in the repository's package.json and
package-lock.json, installed by `make node`), never from a CDN: the ES module of the wasm-only build, the
Emscripten glue it imports and its WebAssembly binary, plus a licence notice (the package has no licence
file; its package.json and file headers say MIT, Microsoft). They are copied into the
bundle and listed in `mug-bundle.json` under `onnxruntime` with the version, the licence and each file's
SHA-256. The page's worker imports them only when a scene has an `OnnxPolicy` (`worker.js`), with
`numThreads = 1` and explicit file URLs, so nothing is fetched otherwise and no SharedArrayBuffer is needed.

Where the package is looked for: `$MUG_ONNXRUNTIME_DIR`, then `node_modules/onnxruntime-web` in the working
directory, then in the repository this `mug` was installed from. Without it the bundle has no runtime
(`onnxruntime` is empty) and an experiment with an ONNX policy refuses to start, saying how to fix it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mug.bundle.errors import BundleError
from mug.bundle.official import sha256_file

VERSION = "1.30.0"
LICENSE = "MIT"
ENTRY = "ort.wasm.min.mjs"
LICENSE_FILE = "onnxruntime-web.LICENSE"
# bundle name -> path inside the npm package
FILES = {
    ENTRY: "dist/ort.wasm.min.mjs",
    "ort-wasm-simd-threaded.mjs": "dist/ort-wasm-simd-threaded.mjs",
    "ort-wasm-simd-threaded.wasm": "dist/ort-wasm-simd-threaded.wasm",
}
# The npm package ships no licence file; its package.json and every file's header say MIT, Microsoft.
MIT_TEXT = """onnxruntime-web {version} (npm), vendored unchanged: {files}.

MIT License

Copyright (c) Microsoft Corporation. All rights reserved.

Permission is hereby granted, free of charge, to any person obtaining a copy of this software and associated
documentation files (the "Software"), to deal in the Software without restriction, including without limitation
the rights to use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the Software, and
to permit persons to whom the Software is furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all copies or substantial portions of
the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO
THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF
CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS
IN THE SOFTWARE.
"""


def find_package() -> Path | None:
    """The onnxruntime-web package folder, or None (see the module docstring for where it is looked for)."""
    candidates = []
    if os.environ.get("MUG_ONNXRUNTIME_DIR"):
        candidates.append(Path(os.environ["MUG_ONNXRUNTIME_DIR"]))
    candidates.append(Path.cwd() / "node_modules" / "onnxruntime-web")
    candidates.append(Path(__file__).resolve().parents[2] / "node_modules" / "onnxruntime-web")
    for folder in candidates:
        if (folder / "package.json").is_file():
            return folder
    return None


def found_version() -> str | None:
    """The version of the onnxruntime-web package `find_package` finds, or None (a bundle input: a runtime
    installed or changed since the last build makes the bundle out of date)."""
    folder = find_package()
    if folder is None:
        return None
    try:
        version = json.loads((folder / "package.json").read_text(encoding="utf-8")).get("version")
    except (OSError, ValueError):
        return None
    return str(version) if version is not None else None


def vendor(folder: Path, staging: Path) -> tuple[dict[str, Path], dict[str, Any]]:
    """The runtime's files (bundle name -> source path; the licence is written to `staging`) and their
    manifest entry.

    Raises:
        BundleError: the package is not the pinned version, or a file is missing.
    """
    try:
        meta = json.loads((folder / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BundleError(f"onnxruntime-web at {folder}: cannot read package.json: {exc}") from exc
    if meta.get("version") != VERSION:
        raise BundleError(
            f"onnxruntime-web at {folder} is version {meta.get('version')!r}; the bundle pins {VERSION}: run "
            "`make node` (npm ci) in the repository, or point MUG_ONNXRUNTIME_DIR at that version"
        )
    files: dict[str, Path] = {}
    for name, rel in FILES.items():
        path = folder / rel
        if not path.is_file():
            raise BundleError(f"onnxruntime-web at {folder} has no {rel}: reinstall it (`make node`)")
        files[name] = path
    if meta.get("license") != LICENSE:
        raise BundleError(f"onnxruntime-web at {folder}: licence {meta.get('license')!r}, expected {LICENSE}")
    staging.mkdir(parents=True, exist_ok=True)
    notice = staging / LICENSE_FILE
    notice.write_text(MIT_TEXT.format(version=VERSION, files=", ".join(FILES)), encoding="utf-8")
    files[LICENSE_FILE] = notice
    entry = {
        "version": VERSION,
        "license": LICENSE,
        "entry": ENTRY,
        "files": {name: sha256_file(path) for name, path in files.items()},
    }
    return files, entry
