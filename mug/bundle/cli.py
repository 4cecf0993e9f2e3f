"""``mug bundle``: build the self-hosted Pyodide bundle (`mug.cli` adds the experiment lookup)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from mug.bundle.builder import build_bundle
from mug.bundle.constants import DEFAULT_BUNDLE_DIR
from mug.bundle.errors import BundleError
from mug.bundle.manifest import BundleManifest


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the bundle flags (--out, --package, --wheelhouse, --cache-dir, --offline) to ``parser``."""
    parser.add_argument("--out", type=Path, default=DEFAULT_BUNDLE_DIR, help="bundle folder (default %(default)s)")
    parser.add_argument(
        "--package",
        action="append",
        default=[],
        metavar="P",
        help="experiment package: a local project folder or a pip requirement (repeatable)",
    )
    parser.add_argument(
        "--wheelhouse",
        action="append",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder with official Pyodide files, searched first (repeatable; default "
        "$MUG_WHEELHOUSE, then ../shared/wheelhouse)",
    )
    parser.add_argument("--cache-dir", type=Path, default=None, help="download cache (default ~/.cache/mug)")
    parser.add_argument("--offline", action="store_true", help="use only caches and wheelhouses")


def run(
    args: argparse.Namespace, packages: list[str] | None = None, assets: dict[str, dict[str, str]] | None = None
) -> int:
    """Build from parsed arguments plus extra ``packages`` (and the experiment's ``assets`` listing, see
    `build_bundle`); print a summary; return the exit code."""
    start = time.perf_counter()
    try:
        manifest = build_bundle(
            args.out,
            packages=[*args.package, *(packages or [])],
            wheelhouses=args.wheelhouse,
            cache_dir=args.cache_dir,
            offline=args.offline,
            assets=assets,
        )
    except BundleError as exc:
        print(f"mug bundle: {exc}", file=sys.stderr)
        return 2
    print(
        f"bundle {manifest.bundle_id} in {args.out}: {len(manifest.files)} files, "
        f"{manifest.total_bytes / 1e6:.1f} MB, built in {time.perf_counter() - start:.1f} s\n"
        f"loadPyodide packages: {', '.join(manifest.packages)}"
    )
    if manifest.onnxruntime:
        ort = manifest.onnxruntime
        size = sum(manifest.files[n] for n in ort["files"]) / 1e6
        print(f"onnxruntime-web {ort['version']} ({ort['license']}): {len(ort['files'])} files, {size:.1f} MB")
    else:
        print("onnxruntime-web: not found (run `make node`); experiments with an OnnxPolicy cannot start")
    for line in left_out_lines(manifest):
        print(line)
    if manifest.assets:
        count = sum(len(files) for files in manifest.assets.values())
        print(f"assets: {count} files listed with their SHA-256 ({', '.join(manifest.assets)})")
    return 0


def left_out_lines(manifest: BundleManifest) -> list[str]:
    """One line per dependency the bundle left out (`BundleManifest.left_out`), saying what stands in."""
    return [
        f"left out {name} (required by {by}): its official Pyodide build is not available; a scene whose env "
        "imports it needs GameScene(pygame_stub=True), which gives `import pygame` MUG's stand-in"
        for name, by in manifest.left_out.items()
    ]


def cli(argv: list[str] | None = None, assets: dict[str, dict[str, str]] | None = None) -> int:
    """Parse ``argv`` (default: sys.argv[1:]) and build the bundle; exit code 2 on a BundleError."""
    parser = argparse.ArgumentParser(prog="mug bundle", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv), assets=assets)


if __name__ == "__main__":
    sys.exit(cli())
