"""`metadata.json` of an export: what the data was recorded with, so `mug replay` needs nothing else.

Fields (JSON with sorted keys, two-space indent, no timestamp, so the same export gives the same bytes):
- `metadata_version`: 1, the layout of this file;
- `schema_version`: the database layout the data came from (`mug.server.tables.SCHEMA_VERSION`);
- `experiment_ids`: the experiment ids of the exported participants, sorted;
- `experiment`: the experiment's full configuration (`Experiment.model_dump(mode="json")`: scenes, envs and
  their kwargs, policies, seeds' settings, and conditions once an experiment declares them), or null when
  the export was given no experiment, or one whose id is not the data's (the `note` says which). A game
  scene's dicts keyed by agent (`AGENT_KEYED`) are keyed by agent label (`mug.client.agents`: an int id 0
  is `"0"`, a str id "0" is `"\"0\""`), as in the rows, since JSON keys are text; `experiment_config`
  writes them, `mug.replay.data.load_experiment_config` reads them back;
- `mug_version`, `python` and `packages` (`gymnasium`, `pettingzoo`, `numpy`): the exporting Python's
  versions; the browsers ran the bundle's, whose lock file is hashed in `bundle`;
- `bundle`: `{"lock_sha256", "bundle_id"}` of the Pyodide bundle found in the bundle folder (the lock file
  lists every wheel the browser loaded, with its hash), or null when there is none.
"""

from __future__ import annotations

import hashlib
import json
import platform
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

import mug
from mug.configurations import Experiment, GameScene, Randomize, Repeat, agent_label
from mug.server.tables import SCHEMA_VERSION

METADATA_FILE = "metadata.json"
METADATA_VERSION = 1
PACKAGES = ("gymnasium", "numpy", "pettingzoo")
LOCK_FILE = "pyodide-lock.json"  # mug.bundle.constants.LOCK_FILE (not imported: the bundler's dependencies)
BUNDLE_MANIFEST = "mug-bundle.json"  # mug.bundle.constants.MANIFEST_FILE
AGENT_KEYED = ("agents", "ai_fallback")  # GameScene fields keyed by agent id (str or int)


def experiment_config(experiment: Experiment) -> dict[str, Any]:
    """The experiment as JSON data, agent-keyed dicts keyed by agent label (see the module docstring), in
    every game scene: written, in a `Repeat` or `Randomize`, in a condition's scenes and overrides."""
    config = experiment.model_dump(mode="json")
    for dumped, scene in zip(config["scenes"], experiment.scenes, strict=True):
        _relabel(dumped, scene)
    for dumped_condition, condition in zip(config.get("conditions", []), experiment.conditions, strict=True):
        for dumped, scene in zip(dumped_condition["scenes"] or [], condition.scenes or [], strict=True):
            _relabel(dumped, scene)
        for scene_id, changes in condition.overrides.items():
            out = dumped_condition["overrides"][scene_id]
            for name in AGENT_KEYED:
                if isinstance(changes.get(name), dict):
                    out[name] = dict(zip(map(agent_label, changes[name]), out[name].values(), strict=True))
    return config


def _relabel(dumped: dict[str, Any], item: Any) -> None:
    if isinstance(item, GameScene):
        for name in AGENT_KEYED:
            # model_dump keeps the dict's order: the i-th dumped value is the i-th agent's
            dumped[name] = dict(zip(map(agent_label, getattr(item, name)), dumped[name].values(), strict=True))
    elif isinstance(item, Repeat):
        _relabel(dumped["scene"], item.scene)
    elif isinstance(item, Randomize):
        for sub, scene in zip(dumped["scenes"], item.scenes, strict=True):
            _relabel(sub, scene)


def _version(package: str) -> str | None:
    try:
        return importlib_metadata.version(package)
    except importlib_metadata.PackageNotFoundError:
        return None


def bundle_info(bundle_dir: Path | None) -> dict[str, Any] | None:
    """The bundle's lock hash and id, or None when `bundle_dir` holds no bundle."""
    if bundle_dir is None or not (bundle_dir / LOCK_FILE).is_file():
        return None
    info: dict[str, Any] = {"lock_sha256": hashlib.sha256((bundle_dir / LOCK_FILE).read_bytes()).hexdigest()}
    try:
        info["bundle_id"] = json.loads((bundle_dir / BUNDLE_MANIFEST).read_text()).get("bundle_id")
    except (OSError, ValueError, AttributeError):
        info["bundle_id"] = None
    return info


def build_metadata(experiment: Experiment | None, experiment_ids: list[str], bundle_dir: Path | None) -> dict[str, Any]:
    """The metadata of an export of the participants of `experiment_ids` (see the module docstring)."""
    config: dict[str, Any] | None = None
    note = ""
    if experiment is None:
        note = "no experiment was given to the export: pass --experiment (or set MUG_EXPERIMENT)"
    elif experiment_ids and experiment_ids != [experiment.id]:
        note = f"the export was given experiment {experiment.id!r}, but the data is of {experiment_ids}"
    else:
        config = experiment_config(experiment)
    return {
        "metadata_version": METADATA_VERSION,
        "schema_version": SCHEMA_VERSION,
        "experiment_ids": experiment_ids,
        "experiment": config,
        "note": note,
        "mug_version": mug.__version__,
        "python": platform.python_version(),
        "packages": {p: _version(p) for p in PACKAGES},
        "bundle": bundle_info(bundle_dir),
    }


def metadata_bytes(data: dict[str, Any]) -> bytes:
    """The file's bytes: sorted keys, fixed indent, a final newline."""
    return (json.dumps(data, sort_keys=True, indent=2, allow_nan=False) + "\n").encode()
