"""`mug replay`: re-simulate recorded episodes and confirm every step; exit 0 (all agree), 1 (a mismatch) or 2.

Reads an export folder (`--export DIR`, as `mug export` wrote it), or exports the database first
(`--database URL`, default MUG_DATABASE_URL, into a temporary folder) and reads that: either way the replay
sees exactly what an analysis sees. The experiment comes from the export's `metadata.json`, or from
`--experiment` (a file or module reference, as `mug serve` takes; with `--database` the default is
MUG_EXPERIMENT, else the embedded demo, as the server's).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import TextIO

from mug.client.spec import GameSpec
from mug.configurations import Experiment, ExperimentError, GameScene, load_experiment
from mug.replay.data import ExportData, ReplayError, experiment_of, load_export
from mug.replay.simulate import EpisodeResult, replay_match, replay_single
from mug.server.scenes import scene_spec

EXIT_OK, EXIT_MISMATCH, EXIT_ERROR = 0, 1, 2


def _spec(experiment: Experiment, scene_id: str, seed: int | None) -> GameSpec:
    try:
        scene = experiment.scene(scene_id)
    except KeyError:
        raise ReplayError(
            f"scene {scene_id!r} has recorded steps but is not a scene of experiment {experiment.id!r} "
            f"({[s.id for s in experiment.default_scenes]}): name the experiment that recorded them with --experiment"
        ) from None
    if not isinstance(scene, GameScene):
        raise ReplayError(f"scene {scene_id!r} of experiment {experiment.id!r} is not a game scene")
    return GameSpec.parse(scene_spec(scene, seed=seed, completion_code="", params={}))


def replay_data(
    data: ExportData,
    experiment: Experiment,
    participant: str | None = None,
    scene: str | None = None,
    out: TextIO | None = None,
) -> list[EpisodeResult]:
    """Replay the export's recorded play (of one participant, of one scene), printing a line per episode.

    Raises:
        ReplayError: the participant or scene has no recorded steps, an env or policy cannot be loaded.
    """
    played = data.played
    if participant is not None:
        played = [p for p in played if p.participant == participant]
        if not played:
            known = sorted({p.participant for p in data.played})
            raise ReplayError(f"participant {participant!r} has no recorded steps (participants with steps: {known})")
    if scene is not None:
        chosen = [p for p in played if p.scene == scene]
        if not chosen:
            known = sorted({p.scene for p in played})
            raise ReplayError(f"scene {scene!r} has no recorded steps here (scenes with steps: {known})")
        played = chosen
    results: list[EpisodeResult] = []
    for p in played:
        if p.match_id:
            match = data.matches.get(p.match_id)
            if match is None:
                raise ReplayError(f"match {p.match_id!r} of participant {p.participant!r} is not in matches.csv")
            spec = _spec(experiment, p.scene, None)
            done = replay_match(p, spec, match)
        else:
            seed = data.seeds.get((p.participant, p.scene))
            if seed is None:
                raise ReplayError(
                    f"participant {p.participant!r} has steps in scene {p.scene!r} but no scene seed in "
                    "scene_visits.csv"
                )
            done = replay_single(p, _spec(experiment, p.scene, seed), seed)
        for r in done:
            if out is not None:
                print(line(r), file=out, flush=True)
        results += done
    return results


def line(r: EpisodeResult) -> str:
    """`participant P scene S match M episode E steps N OK` (or `MISMATCH at ...`); `steps N (F by turn
    fallback)` when the turn time limit chose F of the moves."""
    verdict = "OK" if r.ok else f"MISMATCH at {r.mismatch}"
    where = f"participant {r.participant} scene {r.scene} match {r.match_id or '-'}"
    fallbacks = f" ({r.fallbacks} by turn fallback)" if r.fallbacks else ""
    return f"{where} episode {r.episode} steps {r.steps}{fallbacks} {verdict}"


def summary(results: list[EpisodeResult]) -> str:
    bad = [r for r in results if not r.ok]
    people = len({r.participant for r in results})
    steps = sum(r.steps for r in results)
    fallbacks = sum(r.fallbacks for r in results)
    played = f"{steps} steps, {fallbacks} by turn fallback" if fallbacks else f"{steps} steps"
    verdict = "every step agrees" if not bad else f"{len(bad)} with a mismatch"
    return f"replayed {len(results)} episodes ({played}) of {people} participants: {verdict}"


def _experiment(ref: str | None, data: ExportData, from_database: bool) -> Experiment:
    if ref is None and from_database:
        ref = os.environ.get("MUG_EXPERIMENT")
        if not ref:
            from mug.demo import experiment

            return experiment
    if ref is not None:
        return load_experiment(ref)
    return experiment_of(data)


def cli(argv: list[str]) -> int:
    """Entry point of `mug replay`."""
    parser = argparse.ArgumentParser(
        prog="mug replay", description="re-simulate recorded episodes and confirm every step's checksum"
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--database", help="default: MUG_DATABASE_URL or sqlite:///mug_data.sqlite3")
    where.add_argument("--export", help="an export folder (`mug export --out DIR`) instead of the database")
    parser.add_argument("--experiment", help="file.py[:attr] or module:attr (default: the export's metadata.json)")
    parser.add_argument("--participant", help="only this participant's episodes")
    parser.add_argument("--scene", help="only this scene's episodes")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="mug-replay-") as tmp:
            if args.export:
                folder = Path(args.export)
            else:
                folder = Path(tmp)
                _export(args.database, args.experiment, folder)
            data = load_export(folder)
            experiment = _experiment(args.experiment, data, from_database=not args.export)
            ids = data.metadata.get("experiment_ids") or []
            if ids and experiment.id not in ids:
                raise ReplayError(f"the data is of experiment {ids}, not {experiment.id!r}: name it with --experiment")
            results = replay_data(data, experiment, args.participant, args.scene, out=sys.stdout)
    except (ReplayError, ExperimentError) as exc:
        print(f"mug replay: {exc}", file=sys.stderr)
        return EXIT_ERROR
    print(summary(results))
    return EXIT_OK if all(r.ok for r in results) else EXIT_MISMATCH


def _export(database: str | None, experiment_ref: str | None, folder: Path) -> None:
    from mug.server.export import export_csv
    from mug.settings import Settings

    settings = Settings.from_env()
    url = database or settings.database_url
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists():
        raise ReplayError(f"database {url!r} does not exist: pass --database URL or --export DIR")
    export_csv(url, folder, bundle_dir=settings.bundle_dir)
