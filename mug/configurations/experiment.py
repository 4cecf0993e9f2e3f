"""`Experiment`: the one object a researcher writes."""

from __future__ import annotations

import importlib
import importlib.util
import random
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from mug.configurations.conditions import Condition, Placed, Randomize, Repeat, Step, resolve
from mug.configurations.entry import Entry
from mug.configurations.remote import RemoteConfig
from mug.configurations.scenes import EndScene, GameScene, OnnxPolicy, Outcome, Scene


class ExperimentError(Exception):
    """An experiment could not be loaded or is configured wrongly; the message says what and how to fix it."""


class Experiment(BaseModel):
    """An experiment: scenes shown in order, the last one an `EndScene`.

    Args:
        id: names the experiment in the data (letters, digits, '-', '_').
        title: the page title participants see.
        scenes: the scenes in order; `Randomize(scenes, keep=k)` and `Repeat(scene, n)` draw or repeat scenes
            per participant (see `mug.configurations.conditions`).
        conditions: between-subjects conditions; each participant is assigned one, balanced by counts.
        balance: what the assignment balances: the participants `"assigned"` to each condition so far, or those
            who `"completed"` it (reached the end scene; ties broken by assigned).
        entry: entry and exclusion rules the server enforces.
        remote: network settings (`RemoteConfig().webrtc()` for TURN).
        assets: a folder of files (sprites for `Surface.image`, images for Markdown) every scene may use,
            served under content-versioned URLs (`mug.server.assets`); relative to the experiment file's folder.
        excluded: the page of a participant the researchers excluded from the admin view (`/admin`), wherever
            they were; their data so far is kept.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    title: str = "Experiment"
    scenes: Sequence[Step]
    conditions: list[Condition] = Field(default_factory=list)
    balance: Literal["assigned", "completed"] = "assigned"
    entry: Entry = Field(default_factory=Entry)
    remote: RemoteConfig = Field(default_factory=RemoteConfig)
    assets: str | None = None
    excluded: Outcome = Field(
        default_factory=lambda: Outcome(
            title="Your participation has ended",
            body="The researchers ended your participation in this study. Thank you for your time.",
        )
    )

    # every scene any participant may be shown, by resolved id; and each condition's full (undrawn) list
    _pool: dict[str, Placed] = PrivateAttr(default_factory=dict)
    _written: dict[str | None, list[Placed]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _check_scenes(self) -> Self:
        cids = [c.id for c in self.conditions]
        if len(set(cids)) != len(cids):
            raise ValueError(f"conditions: condition ids must be unique, got {cids}")
        variants: list[tuple[str, Condition | None, Sequence[Any]]] = [("scenes", None, self.scenes)]
        if self.conditions:
            variants = [
                (f"condition {c.id!r}", c, c.scenes if c.scenes is not None else self.scenes) for c in self.conditions
            ]
        pool: dict[str, Placed] = {}
        written: dict[str | None, list[Placed]] = {}
        for where, condition, steps in variants:
            self._check_list(where, steps)
            if condition is not None:
                known = {p.base_id for p in resolve(steps, None, None, rename_multiplayer=False)}
                unknown = sorted(set(condition.overrides) - known)
                if unknown:
                    raise ValueError(f"{where}: overrides name scenes {unknown} that are not in its scene list")
            placed = resolve(steps, condition, None, rename_multiplayer=bool(self.conditions))
            ids = [p.scene.id for p in placed]
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"{where}: scene ids must be unique; repeated: {dupes}")
            self._check_timeouts(where, placed)
            for p in placed:
                seen = pool.setdefault(p.scene.id, p)
                if seen.scene != p.scene:
                    raise ValueError(
                        f"{where}: scene id {p.scene.id!r} names a different scene in another condition; "
                        "give one of them another id"
                    )
            written[None if condition is None else condition.id] = placed
        self._pool = pool
        self._written = written
        return self

    @staticmethod
    def _check_list(where: str, steps: Sequence[Any]) -> None:
        if not steps:
            raise ValueError(f"{where}: an experiment needs at least one scene (and an EndScene last)")
        if not isinstance(steps[-1], EndScene):
            raise ValueError(f"{where}: the last scene must be an EndScene (it shows the completion code)")
        ends = [s.id for s in steps[:-1] if isinstance(s, EndScene)]
        if ends:
            raise ValueError(f"{where}: only the last scene may be an EndScene; found {ends} earlier")

    @staticmethod
    def _check_timeouts(where: str, placed: list[Placed]) -> None:
        ids = [p.base_id for p in placed]
        for i, p in enumerate(placed):
            scene = p.scene
            if isinstance(scene, GameScene) and scene.lobby.on_timeout == "scene" and scene.multiplayer:
                target = scene.lobby.timeout_scene
                if target not in ids:
                    raise ValueError(
                        f"scene {p.base_id!r}: lobby.timeout_scene {target!r} is not a scene of this experiment ({ids})"
                    )
                if target not in ids[i + 1 :]:
                    raise ValueError(f"scene {p.base_id!r}: lobby.timeout_scene must come after the game scene")

    @property
    def condition_ids(self) -> list[str]:
        """The conditions' ids, in the order written."""
        return [c.id for c in self.conditions]

    @property
    def personal(self) -> bool:
        """Whether participants may see different scene lists (conditions, or `Randomize` blocks)."""
        return bool(self.conditions) or any(isinstance(s, Randomize) for s in self.scenes)

    def plan(self, condition: str | None, seed: int) -> list[Placed]:
        """The scene list of a participant in `condition`, its `Randomize` blocks drawn with `seed`."""
        cond = next((c for c in self.conditions if c.id == condition), None)
        if self.conditions and cond is None:
            raise KeyError(condition)
        steps = self.scenes if cond is None or cond.scenes is None else cond.scenes
        rng = random.Random(seed)
        return [self._pool[p.scene.id] for p in resolve(steps, cond, rng, rename_multiplayer=bool(self.conditions))]

    def placed(self, scene_id: str) -> Placed:
        """Where a resolved scene id comes from (KeyError if none)."""
        return self._pool[scene_id]

    def scene(self, scene_id: str) -> Scene:
        """Return the scene with this (resolved) id, in any condition (KeyError if none)."""
        scene: Scene = self._pool[scene_id].scene
        return scene

    @property
    def default_scenes(self) -> list[Scene]:
        """The scene list as written (the first condition's, with every `Randomize` scene, in order)."""
        first = next(iter(self._written.values()))
        return [p.scene for p in first]

    def index(self, scene_id: str) -> int:
        """Return the position of the scene with this id in `default_scenes`."""
        return [s.id for s in self.default_scenes].index(scene_id)

    @property
    def all_scenes(self) -> list[Scene]:
        """Every scene any participant may be shown (each condition's variant and repetition once)."""
        return [p.scene for p in self._pool.values()]

    @property
    def game_scenes(self) -> list[GameScene]:
        """Every game scene any participant may play (each condition's variant once), in order."""
        return [p.scene for p in self._pool.values() if isinstance(p.scene, GameScene)]

    @property
    def packages(self) -> list[str]:
        """Every package the game scenes need in the browser, in first-seen order."""
        seen: dict[str, None] = {}
        for scene in self.game_scenes:
            for package in scene.packages:
                seen.setdefault(package, None)
        return list(seen)


def load_experiment(spec: str) -> Experiment:
    """Load an experiment from `"module:attribute"` or `"path/to/file.py[:attribute]"`.

    The attribute defaults to `experiment`. A relative package path in a game scene's `packages`, and a
    relative `assets` folder, are resolved against the experiment file's folder.

    Raises:
        ExperimentError: the file or attribute is missing, or the configuration is invalid.
    """
    target, _, attr = spec.partition(":") if not spec.endswith(".py") else (spec, "", "")
    if ":" in spec and spec.split(":", 1)[0].endswith(".py"):
        target, attr = spec.split(":", 1)
    attr = attr or "experiment"
    base: Path | None = None
    try:
        if target.endswith(".py"):
            path = Path(target).resolve()
            if not path.is_file():
                raise ExperimentError(f"experiment file {target!r} does not exist")
            base = path.parent
            name = f"mug_experiment_{path.stem}"
            loader_spec = importlib.util.spec_from_file_location(name, path)
            if loader_spec is None or loader_spec.loader is None:
                raise ExperimentError(f"cannot import {target!r} as a Python file")
            module = importlib.util.module_from_spec(loader_spec)
            sys.modules[name] = module
            sys.path.insert(0, str(base))
            loader_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(target)
            if module.__file__:
                base = Path(module.__file__).resolve().parent
    except ExperimentError:
        raise
    except ValidationError as exc:
        raise ExperimentError(f"experiment {spec!r} is configured wrongly:\n{exc}") from exc
    except Exception as exc:
        raise ExperimentError(f"cannot load experiment {spec!r}: {type(exc).__name__}: {exc}") from exc
    value = getattr(module, attr, None)
    if value is None:
        raise ExperimentError(f"{target!r} has no attribute {attr!r}; define `{attr} = Experiment(...)` in it")
    if not isinstance(value, Experiment):
        raise ExperimentError(f"{spec!r} is a {type(value).__name__}, not a mug.configurations.Experiment")
    if base is not None:
        value = _resolve_packages(value, base)
    return value


def _resolve_models(controllers: dict[Any, Any], base: Path) -> dict[Any, Any]:
    """OnnxPolicy models given by relative paths -> paths from the experiment file's folder."""
    return {
        a: c.model_copy(update={"model": str(base / Path(c.model).expanduser())}) if isinstance(c, OnnxPolicy) else c
        for a, c in controllers.items()
    }


def _resolve_packages(experiment: Experiment, base: Path) -> Experiment:
    def fix(item: Any) -> Any:
        if isinstance(item, Repeat):
            return item.model_copy(update={"scene": fix(item.scene)})
        if isinstance(item, Randomize):
            return item.model_copy(update={"scenes": [fix(s) for s in item.scenes]})
        if isinstance(item, GameScene) and item.packages:
            resolved = [
                str((base / p).resolve()) if (p.startswith(".") or "/" in p) and (base / p).exists() else p
                for p in item.packages
            ]
            item = item.model_copy(update={"packages": resolved})
        if isinstance(item, GameScene) and item.onnx_models():
            item = item.model_copy(
                update={
                    "agents": _resolve_models(item.agents, base),
                    "ai_fallback": _resolve_models(item.ai_fallback, base),
                }
            )
        if item.assets is not None:
            item = item.model_copy(update={"assets": str(base / Path(item.assets).expanduser())})
        return item

    conditions = [
        c.model_copy(update={"scenes": [fix(s) for s in c.scenes]}) if c.scenes is not None else c
        for c in experiment.conditions
    ]
    fields = {name: getattr(experiment, name) for name in type(experiment).model_fields}
    update: dict[str, Any] = {"scenes": [fix(s) for s in experiment.scenes], "conditions": conditions}
    if experiment.assets is not None:
        update["assets"] = str(base / Path(experiment.assets).expanduser())
    # built anew (not model_copy): the resolved scene pool is computed from the fixed scenes
    return type(experiment)(**fields | update)
