"""`Experiment`: the one object a researcher writes."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from mug.configurations.remote import RemoteConfig
from mug.configurations.scenes import EndScene, GameScene, Scene


class ExperimentError(Exception):
    """An experiment could not be loaded or is configured wrongly; the message says what and how to fix it."""


class Experiment(BaseModel):
    """An experiment: scenes shown in order, the last one an `EndScene`.

    Args:
        id: names the experiment in the data (letters, digits, '-', '_').
        title: the page title participants see.
        scenes: the scenes in order.
        remote: network settings (`RemoteConfig().webrtc()` for TURN).
        assets: a folder of files (sprites for `Surface.image`, images for Markdown) every scene may use,
            served under content-versioned URLs (`mug.server.assets`); relative to the experiment file's folder.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    title: str = "Experiment"
    scenes: list[Scene]
    remote: RemoteConfig = Field(default_factory=RemoteConfig)
    assets: str | None = None

    @model_validator(mode="after")
    def _check_scenes(self) -> Self:
        if not self.scenes:
            raise ValueError("scenes: an experiment needs at least one scene (and an EndScene last)")
        ids = [s.id for s in self.scenes]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"scenes: scene ids must be unique; repeated: {dupes}")
        if not isinstance(self.scenes[-1], EndScene):
            raise ValueError("scenes: the last scene must be an EndScene (it shows the completion code)")
        ends = [s.id for s in self.scenes[:-1] if isinstance(s, EndScene)]
        if ends:
            raise ValueError(f"scenes: only the last scene may be an EndScene; found {ends} earlier")
        for scene in self.scenes:
            if isinstance(scene, GameScene) and scene.lobby.on_timeout == "scene" and scene.multiplayer:
                if scene.lobby.timeout_scene not in ids:
                    raise ValueError(
                        f"scene {scene.id!r}: lobby.timeout_scene {scene.lobby.timeout_scene!r} is not "
                        f"a scene of this experiment ({ids})"
                    )
                if ids.index(scene.lobby.timeout_scene) <= ids.index(scene.id):
                    raise ValueError(f"scene {scene.id!r}: lobby.timeout_scene must come after the game scene")
        return self

    def scene(self, scene_id: str) -> Scene:
        """Return the scene with this id (KeyError if none)."""
        for scene in self.scenes:
            if scene.id == scene_id:
                return scene
        raise KeyError(scene_id)

    def index(self, scene_id: str) -> int:
        """Return the position of the scene with this id."""
        return [s.id for s in self.scenes].index(scene_id)

    @property
    def game_scenes(self) -> list[GameScene]:
        """The game scenes, in order."""
        return [s for s in self.scenes if isinstance(s, GameScene)]

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


def _resolve_packages(experiment: Experiment, base: Path) -> Experiment:
    scenes = []
    for scene in experiment.scenes:
        if isinstance(scene, GameScene) and scene.packages:
            resolved = [
                str((base / p).resolve()) if (p.startswith(".") or "/" in p) and (base / p).exists() else p
                for p in scene.packages
            ]
            scene = scene.model_copy(update={"packages": resolved})
        if scene.assets is not None:
            scene = scene.model_copy(update={"assets": str(base / Path(scene.assets).expanduser())})
        scenes.append(scene)
    update: dict[str, object] = {"scenes": scenes}
    if experiment.assets is not None:
        update["assets"] = str(base / Path(experiment.assets).expanduser())
    return experiment.model_copy(update=update)
