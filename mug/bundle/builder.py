"""``build_bundle``: assemble a self-hosted Pyodide distribution for an experiment."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from mug.bundle import onnxruntime
from mug.bundle.client_wheel import build_client_wheel
from mug.bundle.constants import (
    BASE_REQUIREMENTS,
    CLIENT_DIST,
    CORE_FILES,
    GZIP_SUFFIXES,
    LOCK_FILE,
    MANIFEST_FILE,
    PYODIDE_PYTHON,
    PYODIDE_VERSION,
)
from mug.bundle.core import extract_core, fetch_core_tarball
from mug.bundle.errors import BundleError
from mug.bundle.inputs import default_cache_dir, default_wheelhouses, describe_inputs, local_folder
from mug.bundle.lock import extend_lock, lock_bytes
from mug.bundle.manifest import BundleManifest, files_intact, load_manifest
from mug.bundle.official import OfficialFiles, sha256_file
from mug.bundle.resolve import Resolver
from mug.bundle.wheels import build_local, parse_requirement


def build_bundle(
    out_dir: Path,
    packages: list[str] | None = None,
    wheelhouses: list[Path] | None = None,
    cache_dir: Path | None = None,
    offline: bool = False,
    assets: dict[str, dict[str, str]] | None = None,
) -> BundleManifest:
    """Build (or refresh) the Pyodide bundle in ``out_dir``.

    Args:
        out_dir: the bundle folder (flat). Files not part of the new bundle are removed from it.
        packages: the experiment's own packages: local project folders or pip requirement strings.
        wheelhouses: folders searched first for official Pyodide files (default: $MUG_WHEELHOUSE, then
            ../shared/wheelhouse relative to the working directory or the repository).
        cache_dir: the download cache (default: $MUG_CACHE_DIR, else ~/.cache/mug).
        offline: if True, only caches and wheelhouses are used.
        assets: the experiment's asset files, folder -> name -> SHA-256 (`mug.server.assets.Assets.listing`),
            listed in the manifest.

    Returns:
        The manifest, also written to ``out_dir/mug-bundle.json``.

    Raises:
        BundleError: something could not be found, verified or built; the message says how to fix it.
    """
    out_dir = Path(out_dir)
    packages = list(packages or [])
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    houses = [Path(w) for w in wheelhouses] if wheelhouses is not None else default_wheelhouses()
    _check_out_dir(out_dir)
    inputs = describe_inputs(packages)

    with tempfile.TemporaryDirectory(prefix="mug-bundle-") as tmp:
        staging = Path(tmp)
        core = extract_core(fetch_core_tarball(cache / "npm", offline), staging / "core")
        official = json.loads(core[LOCK_FILE].read_text(encoding="utf-8"))
        resolver = Resolver(official["packages"], OfficialFiles(houses, cache, offline), cache / "pypi", offline)
        resolver.add_wheel(build_client_wheel(staging / "wheels"), "mug")
        for base in BASE_REQUIREMENTS:
            resolver.require(Requirement(base), "mug")
        experiment: list[str] = []
        for text in packages:
            folder = local_folder(text)
            if folder is not None:
                experiment.append(resolver.add_wheel(build_local(folder, staging / "wheels"), "local"))
            else:
                req = parse_requirement(text)
                resolver.require(req, "the experiment")
                experiment.append(canonicalize_name(req.name))
        chosen = resolver.run()

        files = {name: core[name] for name in CORE_FILES}
        for item in chosen.values():
            files[item.path.name] = item.path
        ort_folder = onnxruntime.find_package()
        ort: dict[str, Any] = {}
        if ort_folder is not None:
            ort_files, ort = onnxruntime.vendor(ort_folder, staging / "onnxruntime")
            files |= ort_files
        added = [item.path for item in chosen.values() if item.source != "official"]
        lock = lock_bytes(extend_lock(official, added, sorted(resolver.left_out)))
        files |= _precompress(files, lock, staging / "gz")
        load_list = list(dict.fromkeys([*BASE_REQUIREMENTS, CLIENT_DIST, *experiment]))
        sizes = {name: path.stat().st_size for name, path in sorted(files.items())}
        sizes[LOCK_FILE] = len(lock)
        manifest = BundleManifest(
            # the runtime's files are not in the lock: their hashes count too (immutable URLs carry the id)
            bundle_id=hashlib.sha256(lock + json.dumps(ort, sort_keys=True).encode()).hexdigest()[:12],
            lock_file=LOCK_FILE,
            packages=load_list,
            python=PYODIDE_PYTHON,
            pyodide=PYODIDE_VERSION,
            files=dict(sorted(sizes.items())),
            sources={n: f"{r.version} {r.source}" for n, r in chosen.items()},
            inputs=inputs,
            assets={k: dict(sorted(v.items())) for k, v in sorted((assets or {}).items())},
            onnxruntime=ort,
            left_out=dict(sorted(resolver.left_out.items())),
        )
        _sync(out_dir, files, lock, manifest)
    return manifest


def bundle_is_current(
    out_dir: Path, packages: list[str] | None = None, assets: dict[str, dict[str, str]] | None = None
) -> bool:
    """True if ``out_dir`` holds a complete bundle built from these inputs (cheap: never downloads).

    Compares the requested packages (local folders by content), the pins, the Pyodide and mug versions and the
    mug client sources with those recorded in mug-bundle.json, and checks every file exists with its size.
    With `assets` given, the listed asset files must be those too.
    """
    manifest = load_manifest(Path(out_dir))
    if manifest is None:
        return False
    if assets is not None and manifest.assets != {k: dict(sorted(v.items())) for k, v in sorted(assets.items())}:
        return False
    try:
        inputs = describe_inputs(list(packages or []))
    except BundleError:
        return False
    return manifest.inputs == inputs and files_intact(Path(out_dir), manifest)


def _check_out_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise BundleError(f"the bundle folder {out_dir} exists and is not a folder")
    if out_dir.is_dir():
        names = {p.name for p in out_dir.iterdir()} - {"README.md", ".gitignore", ".gitkeep"}
        if names and MANIFEST_FILE not in names and LOCK_FILE not in names:
            # Refuse to clear out a folder that is not a bundle (e.g. `--out .`).
            raise BundleError(
                f"{out_dir} is not empty and holds no MUG bundle; building there would delete its files. "
                "Choose an empty or new folder."
            )


def _precompress(files: dict[str, Path], lock: bytes, folder: Path) -> dict[str, Path]:
    """Gzip copies (`NAME.gz`) of the files that compress well, served to browsers that accept gzip.

    The wasm runtime shrinks from about 10 MB to 3 MB. `mtime=0` keeps the copies byte-identical across builds.
    """
    folder.mkdir(parents=True, exist_ok=True)
    sources = {name: path.read_bytes() for name, path in files.items() if name.endswith(GZIP_SUFFIXES)}
    sources[LOCK_FILE] = lock
    out = {}
    for name, data in sorted(sources.items()):
        path = folder / (name + ".gz")
        path.write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
        out[path.name] = path
    return out


def _sync(out_dir: Path, files: dict[str, Path], lock: bytes, manifest: BundleManifest) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / MANIFEST_FILE).unlink(missing_ok=True)  # the manifest is written last: no manifest, no bundle
    for name, src in files.items():
        dest = out_dir / name
        if dest.is_file() and dest.stat().st_size == src.stat().st_size and sha256_file(dest) == sha256_file(src):
            continue
        part = out_dir / (name + ".part")
        shutil.copyfile(src, part)
        part.replace(dest)
    (out_dir / LOCK_FILE).write_bytes(lock)
    keep = {*files, LOCK_FILE, MANIFEST_FILE, "README.md", ".gitignore", ".gitkeep"}
    for path in out_dir.iterdir():
        if path.is_file() and path.name not in keep:
            path.unlink()
    (out_dir / MANIFEST_FILE).write_text(manifest.to_json(), encoding="utf-8")
