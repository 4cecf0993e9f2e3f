"""``mug check-env FACTORY``: play an environment with the browser's code twice in CPython and twice in Pyodide
(Node.js), compare the per-step checksums and name the likely cause of a difference."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Literal

from mug.bundle import DEFAULT_BUNDLE_DIR, BundleError
from mug.envcheck.check import NodeNotFound, check_env


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``mug check-env``."""
    p = argparse.ArgumentParser(prog="mug check-env", description=__doc__)
    p.add_argument("factory", help="environment factory, 'package.module:make_env'")
    p.add_argument("--kwargs", default="{}", help="factory keyword arguments as JSON (default {})")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--steps", type=int, default=500, help="steps to compare (AEC: turns; default 500)")
    p.add_argument("--max-steps", type=int, default=None, help="the scene's step limit per episode (default: none)")
    p.add_argument("--actions", default="random", help="'random', or a JSON file with one action per step")
    p.add_argument("--bundle", default=str(DEFAULT_BUNDLE_DIR), help="bundle folder (built if missing)")
    p.add_argument("--package", action="append", default=[], help="experiment package (folder or requirement)")
    p.add_argument(
        "--pygame-stub",
        action="store_true",
        help="give `import pygame` MUG's stand-in where pygame is missing, as GameScene(pygame_stub=True) does",
    )
    return p


def cli(argv: list[str] | None = None) -> int:
    """Run the check and print the report; return 0 if deterministic, 1 on a mismatch, 2 on misuse."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.steps < 1:
        parser.error(f"--steps {args.steps}: give 1 or more steps to compare")
    if args.max_steps is not None and args.max_steps < 1:
        parser.error(f"--max-steps {args.max_steps}: give 1 or more, or leave it out for no limit")
    try:
        kwargs = json.loads(args.kwargs)
        actions: Literal["random"] | list[Any] = "random"
        if args.actions != "random":
            actions = json.loads(Path(args.actions).read_text(encoding="utf-8"))
        report = check_env(
            args.factory,
            kwargs,
            seed=args.seed,
            steps=args.steps,
            actions=actions,
            bundle_dir=Path(args.bundle),
            packages=args.package,
            pygame_stub=args.pygame_stub,
            max_steps=args.max_steps,
        )
    except (BundleError, NodeNotFound, OSError, ValueError) as exc:
        print(f"mug check-env: {exc}", file=sys.stderr)
        return 2
    print(report.message)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(cli())
