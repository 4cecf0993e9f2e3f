"""The game scene's SceneSpec as the worker's Python sees it: parsed once, at the bridge, into `GameSpec`.

The server's `scene_spec` (`mug.server.scenes`) sends every field of a game scene; the page hands the dict
to the worker unchanged. `GameSpec.parse` reads the fields the runners use, checks each one's type and
names the field in its error. A field the dict leaves out takes the `GameScene` model's default, written
here once (the client never imports `mug.configurations`); tests/client/test_client_spec.py pins these
defaults to the model's, so they cannot drift. `env` has no default: a spec without it is an error.
`agents` may be null (a match takes its agents from `match_start`), which counts as not given.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mug.client.keys import InputMode

HUMAN = "human"


class SpecError(ValueError):
    """A SceneSpec (or match_start) field is missing or has the wrong type; the message names it."""


def _default_agents() -> dict[str, Any]:
    return {"player": HUMAN}


@dataclass(frozen=True)
class GameSpec:
    """The game scene fields the runners use (see `mug.configurations.GameScene` for their meaning).

    Attributes:
        agents: agent label -> "human" or `{"ref", "kwargs"}` (single player; a match takes its agents
            from `match_start`).
        turn: `{"time_limit_s", "fallback"}` or None (`GameScene.turn_spec`).
        pointer: the pointer mapping (`GameScene.pointer_spec`, `mug.client.pointer`) or None.
    """

    env: str
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    agents: dict[str, Any] = field(default_factory=_default_agents)
    key_bindings: dict[str, Any] = field(default_factory=dict)
    pointer: dict[str, Any] | None = None
    default_action: Any = 0
    input_mode: InputMode = "held"
    fps: int = 30
    num_episodes: int = 1
    max_steps: int | None = None
    turn: dict[str, Any] | None = None
    pygame_stub: bool = False
    reconnect_grace_s: float = 20.0

    @classmethod
    def parse(cls, spec: Mapping[str, Any]) -> GameSpec:
        """Read a game scene's SceneSpec dict (other scene fields, such as `title`, are ignored).

        Raises:
            SpecError: `env` is missing, or a field has the wrong type (the message names it).
        """
        if not isinstance(spec, Mapping):
            raise SpecError(f"a SceneSpec is a JSON object, not {type(spec).__name__}")
        where = f"scene {spec.get('id', '?')!r}"
        if "env" not in spec:
            raise SpecError(f"{where}: the SceneSpec has no 'env' (the environment factory 'package.module:callable')")
        kw: dict[str, Any] = {}
        for name, check, what in _FIELDS:
            if name in spec and not (name == "agents" and spec[name] is None):  # null agents: as if not given
                value = spec[name]
                if not check(value):
                    raise SpecError(f"{where}: SceneSpec field {name!r} must be {what}, not {value!r}")
                kw[name] = dict(value) if isinstance(value, Mapping) else value
        return cls(**kw)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


_FIELDS: tuple[tuple[str, Any, str], ...] = (
    ("env", lambda v: isinstance(v, str) and ":" in v, "a 'package.module:callable' text"),
    ("env_kwargs", lambda v: isinstance(v, Mapping), "an object"),
    ("agents", lambda v: isinstance(v, Mapping) and len(v) > 0, "a non-empty object of agent -> controller"),
    ("key_bindings", lambda v: isinstance(v, Mapping), "an object of key -> action"),
    (
        "pointer",
        lambda v: v is None or (isinstance(v, Mapping) and v.get("kind") in ("grid", "function")),
        "null or {kind: 'grid' | 'function', ...}",
    ),
    ("default_action", lambda v: True, "any action"),
    ("input_mode", lambda v: v in ("held", "press"), "'held' or 'press'"),
    ("fps", lambda v: _is_int(v) and v >= 1, "a whole number of frames per second (1 or more)"),
    ("num_episodes", lambda v: _is_int(v) and v >= 1, "a whole number (1 or more)"),
    ("max_steps", lambda v: v is None or (_is_int(v) and v >= 1), "null or a whole number (1 or more)"),
    ("turn", lambda v: v is None or (isinstance(v, Mapping) and "time_limit_s" in v), "null or {time_limit_s, ...}"),
    ("pygame_stub", lambda v: isinstance(v, bool), "true or false"),
    (
        "reconnect_grace_s",
        lambda v: isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 600,
        "seconds, 0 to 600",
    ),
)
