"""The `mug` command: serve, bundle, export, replay, check-env."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from mug.configurations import Experiment, ExperimentError, load_experiment


def _experiment(spec: str | None) -> Experiment:
    spec = spec or os.environ.get("MUG_EXPERIMENT")
    if not spec:
        from mug.demo import experiment

        return experiment
    return load_experiment(spec)


def pygame_notes(experiment: Experiment) -> list[str]:
    """One line per game scene that opts into the pygame stand-in, saying what its env gets and why."""
    return [
        f"mug: scene {scene.id!r}: pygame is MUG's stand-in (GameScene.pygame_stub=True) unless the bundle holds "
        "the official Pyodide build of pygame-ce (no source reachable offline has it): `import pygame` succeeds "
        "but drawing with it raises; the env must render with a mug.rendering.Surface or an rgb_array of its own"
        for scene in experiment.game_scenes
        if scene.pygame_stub
    ]


def _assets(experiment: Experiment) -> dict[str, dict[str, str]]:
    """The experiment's asset files with their SHA-256 (a missing folder is an ExperimentError naming it)."""
    from mug.server.assets import Assets

    return Assets.of(experiment).listing()


def _bundle_for(experiment: Experiment, bundle_dir: Path, offline: bool) -> None:
    from mug.bundle import BundleError, build_bundle, bundle_is_current
    from mug.bundle.cli import left_out_lines

    assets = _assets(experiment)
    if bundle_is_current(bundle_dir, experiment.packages, assets):
        return
    print(f"mug: building the Pyodide bundle in {bundle_dir} ...", file=sys.stderr)
    try:
        manifest = build_bundle(bundle_dir, packages=experiment.packages, offline=offline, assets=assets)
    except BundleError as exc:
        raise SystemExit(f"mug: cannot build the Pyodide bundle: {exc}") from None
    print(f"mug: bundle {manifest.bundle_id} ready", file=sys.stderr)
    for line in left_out_lines(manifest):
        print(f"mug: {line}", file=sys.stderr)
    for note in pygame_notes(experiment):
        print(note, file=sys.stderr)


def check_envs(experiment: Experiment, mode: str) -> bool:
    """The start-up env check (`mug.envcheck.startup`): print one verdict per env; return False if the
    server must not start (`mode` "fail" and an env is not deterministic or fails)."""
    if mode == "off":
        print("mug: env check skipped (MUG_ENV_CHECK=off / --env-check off)", file=sys.stderr)
        return True
    from mug.envcheck.startup import check_scenes

    bad = False
    for check in check_scenes(experiment):
        print(check.line, file=sys.stderr)
        bad = bad or check.verdict in ("not deterministic", "failed")
    if bad and mode == "fail":
        print(
            "mug: not starting: fix the env, or start anyway with --env-check warn (MUG_ENV_CHECK=warn)",
            file=sys.stderr,
        )
        return False
    return True


def serve(args: argparse.Namespace) -> int:
    """Build the bundle if needed, then serve the experiment with uvicorn."""
    import uvicorn

    from mug.app import create_app
    from mug.server import websocket
    from mug.settings import Settings

    experiment = _experiment(args.experiment)
    settings = Settings.from_env()
    if args.bundle_dir:
        settings = settings.model_copy(update={"bundle_dir": Path(args.bundle_dir)})
    if args.database:
        settings = Settings.model_validate(settings.model_dump() | {"database_url": args.database})
    if args.env_check:
        settings = settings.model_copy(update={"env_check": args.env_check})
    if not args.no_bundle:
        _bundle_for(experiment, settings.bundle_dir, args.offline)
    if not check_envs(experiment, settings.env_check):
        return 2
    # the protocol `uvicorn mug.app:app --ws ...` names (see mug.server.websocket): compression that holds no
    # memory between messages
    uvicorn.run(
        create_app(experiment, settings),
        host=args.host,
        port=args.port,
        log_level=settings.log_level,
        ws=websocket.PROTOCOL,
    )
    return 0


def bundle(argv: list[str]) -> int:
    """`mug bundle [EXPERIMENT] [builder flags]`: the experiment's packages are added to the flags."""
    from mug.bundle.cli import cli

    experiment_spec = None
    if argv and not argv[0].startswith("-"):
        experiment_spec, argv = argv[0], argv[1:]
    experiment = _experiment(experiment_spec)
    extra: list[str] = []
    for package in experiment.packages:
        extra += ["--package", package]
    code = cli(argv + extra, assets=_assets(experiment))
    for note in pygame_notes(experiment):
        print(note)
    return code


def export(args: argparse.Namespace) -> int:
    """Write the CSV tables."""
    from mug.server.export import export_csv
    from mug.settings import Settings

    settings = Settings.from_env()
    url = args.database or settings.database_url
    experiment = _experiment(args.experiment)
    bundle_dir = Path(args.bundle_dir) if args.bundle_dir else settings.bundle_dir
    paths = export_csv(url, Path(args.out), args.experiment_id, experiment, bundle_dir)
    for path in paths:
        print(path)
    metadata = json.loads((Path(args.out) / "metadata.json").read_text())
    if metadata["experiment"] is None:
        print(
            f"mug: metadata.json holds no experiment ({metadata['note']}): `mug replay` will need --experiment",
            file=sys.stderr,
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `mug` command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bundle"]:
        return _guard(lambda: bundle(argv[1:]))
    if argv[:1] == ["replay"]:
        from mug.replay.cli import cli as replay_cli

        return replay_cli(argv[1:])
    if argv[:1] == ["check-env"]:
        from mug.envcheck.cli import cli as check_cli

        return check_cli(argv[1:])
    parser = argparse.ArgumentParser(prog="mug", description="Multi-User Gymnasium")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("bundle", help="build the Pyodide bundle (see `mug bundle --help`)")
    sub.add_parser("replay", help="re-simulate the recorded episodes and confirm every step (see `mug replay --help`)")
    sub.add_parser("check-env", help="check an environment runs identically in CPython and Pyodide")
    p_serve = sub.add_parser("serve", help="build the bundle if needed and serve an experiment")
    p_serve.add_argument(
        "experiment", nargs="?", help="file.py[:attr] or module:attr (default: MUG_EXPERIMENT, else the demo)"
    )
    p_serve.add_argument("--host", default="127.0.0.1")
    p_serve.add_argument("--port", type=int, default=8000)
    p_serve.add_argument("--bundle-dir", help="default: MUG_BUNDLE_DIR or ./pyodide_bundle")
    p_serve.add_argument("--database", help="default: MUG_DATABASE_URL or sqlite:///mug_data.sqlite3")
    p_serve.add_argument("--no-bundle", action="store_true", help="do not build the bundle")
    p_serve.add_argument("--offline", action="store_true", help="build the bundle from caches only")
    p_serve.add_argument(
        "--env-check",
        choices=["fail", "warn", "off"],
        help="play each game scene's env twice in CPython before serving and refuse to start ('fail'), warn, "
        "or skip it when they differ (default: MUG_ENV_CHECK or 'fail')",
    )
    p_export = sub.add_parser("export", help="write the data as CSV tables")
    p_export.add_argument("--database", help="default: MUG_DATABASE_URL or sqlite:///mug_data.sqlite3")
    p_export.add_argument("--out", default="exports", help="folder to write (default: exports)")
    p_export.add_argument("--experiment-id", help="only this experiment's participants")
    p_export.add_argument(
        "--experiment",
        help="the experiment the data was recorded with, for metadata.json: file.py[:attr] or module:attr "
        "(default: MUG_EXPERIMENT, else the demo)",
    )
    p_export.add_argument(
        "--bundle-dir", help="the bundle served, for metadata.json (default: MUG_BUNDLE_DIR or ./pyodide_bundle)"
    )
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _guard(lambda: serve(args))
    return _guard(lambda: export(args))


def _guard(run: Callable[[], int]) -> int:
    try:
        return run()
    except ExperimentError as exc:
        print(f"mug: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
