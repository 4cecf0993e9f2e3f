"""Between-subjects conditions and per-participant scene orders: `Condition`, `Randomize`, `Repeat`.

An experiment's scene list may hold `Randomize` (its scenes in a random order, optionally only `keep` of them)
and `Repeat` (one scene `n` times) besides plain scenes. A `Condition` may replace the scene list and change
fields of named scenes (`env_kwargs`, `agents`, `input_delay`, ...).

Each participant gets one resolved list of plain scenes: their condition applied, blocks drawn with a seed of
their own. The server stores the resolved scene ids (and the seed), so a reload resumes the same order and
`scene_index` always points into that list.

Scene ids in a resolved list are unique:

- a repeated scene's visits are `<id>-1`, `<id>-2`, ... (the repetition index is in the data too);
- a scene that a condition changes is `<id>--<condition>`, and so is every multiplayer game scene of an
  experiment with conditions: lobbies are per condition, so the members of one match share their condition.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from mug.configurations.scenes import _ID, EndScene, GameScene, Scene, StaticScene

Single = Annotated[StaticScene | GameScene, Field(discriminator="kind")]


class Repeat(BaseModel):
    """One scene shown `n` times in a row; visit k (1-based) has the id `<scene id>-<k>`.

    Args:
        scene: a static or game scene.
        n: how many times.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["repeat"] = "repeat"
    scene: Single
    n: int = Field(ge=1, le=1000)

    def __init__(self, scene: Any = None, n: Any = None, /, **data: Any) -> None:
        if scene is not None:
            data["scene"] = scene
        if n is not None:
            data["n"] = n
        super().__init__(**data)


Item = Annotated[StaticScene | GameScene | Repeat, Field(discriminator="kind")]


class Randomize(BaseModel):
    """Scenes in a random order per participant (seeded and recorded), optionally only the first `keep`.

    Args:
        scenes: static or game scenes, or `Repeat`s of one.
        keep: how many of them each participant sees (default: all).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["randomize"] = "randomize"
    scenes: list[Item]
    keep: int | None = Field(default=None, ge=1)

    def __init__(self, scenes: Any = None, /, **data: Any) -> None:
        if scenes is not None:
            data["scenes"] = scenes
        super().__init__(**data)

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.scenes:
            raise ValueError("Randomize: give it at least one scene")
        if self.keep is not None and self.keep > len(self.scenes):
            raise ValueError(f"Randomize: keep={self.keep} is more than its {len(self.scenes)} scenes")
        return self


Step = Annotated[StaticScene | GameScene | EndScene | Randomize | Repeat, Field(discriminator="kind")]


class Condition(BaseModel):
    """A between-subjects condition.

    Args:
        id: names the condition in the data (letters, digits, '-', '_').
        scenes: this condition's own scene list (default: the experiment's).
        overrides: scene id -> fields to set on that scene in this condition, e.g.
            `{"game": {"env_kwargs": {"speed": 2}, "input_delay": 3}}` (a field given replaces it whole).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    scenes: Sequence[Step] | None = None
    overrides: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"condition id {value!r}: use 1-64 letters, digits, '-' or '_'")
        return value


class Placed(BaseModel):
    """One entry of a resolved scene list: the scene as shown, its id in the experiment, its repetition."""

    model_config = ConfigDict(frozen=True)

    scene: Any  # a Scene (Any: pydantic would re-validate it into a copy)
    base_id: str
    repeat: int | None = None  # 1-based visit of a `Repeat`, else None

    def entry(self) -> dict[str, Any]:
        """The JSON stored per participant and exported (`scene_order`)."""
        return {"id": self.scene.id, "scene": self.base_id, "repeat": self.repeat}


def _variant(scene: Scene, condition: Condition | None, rename_multiplayer: bool) -> Scene:
    if condition is None:
        return scene
    changes = condition.overrides.get(scene.id)
    multiplayer = isinstance(scene, GameScene) and scene.multiplayer and rename_multiplayer
    if not changes and not multiplayer:
        return scene
    new_id = f"{scene.id}--{condition.id}"
    if len(new_id) > 64:
        raise ValueError(
            f"condition {condition.id!r}: scene {scene.id!r} becomes {new_id!r} in it, longer than 64 characters; "
            "use shorter ids"
        )
    bad = sorted({"id", "kind"} & set(changes or {}))
    if bad:
        raise ValueError(f"condition {condition.id!r}: overrides of scene {scene.id!r} cannot change {bad}")
    try:
        return type(scene).model_validate({**scene.model_dump(), **(changes or {}), "id": new_id})
    except ValueError as exc:
        raise ValueError(f"condition {condition.id!r}: overrides of scene {scene.id!r}: {exc}") from None


def _repeat(item: Repeat, condition: Condition | None, rename: bool) -> list[Placed]:
    scene = _variant(item.scene, condition, rename)
    out = []
    for k in range(1, item.n + 1):
        rid = f"{scene.id}-{k}"
        if len(rid) > 64:
            raise ValueError(f"Repeat: scene id {rid!r} is longer than 64 characters; use a shorter id")
        out.append(Placed(scene=scene.model_copy(update={"id": rid}), base_id=item.scene.id, repeat=k))
    return out


def resolve(
    steps: Sequence[Any], condition: Condition | None, rng: random.Random | None, *, rename_multiplayer: bool
) -> list[Placed]:
    """A resolved scene list: `rng` draws each `Randomize` (None: every scene, in the written order)."""
    out: list[Placed] = []

    def place(item: Any) -> None:
        if isinstance(item, Repeat):
            out.extend(_repeat(item, condition, rename_multiplayer))
        else:
            out.append(Placed(scene=_variant(item, condition, rename_multiplayer), base_id=item.id))

    for step in steps:
        if isinstance(step, Randomize):
            items = list(step.scenes)
            if rng is not None:
                rng.shuffle(items)
                items = items[: step.keep or len(items)]
            for item in items:
                place(item)
        else:
            place(step)
    return out
