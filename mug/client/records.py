"""Step rows as the server stores them (`mug.server.wire.StepRow`), made JSON-safe in the browser.

The worker sends rows through `JSON.stringify`-compatible JSON, so every value must be plain: numpy arrays
and scalars become lists and numbers, tuples become lists, dict keys become text, non-finite floats become
the strings "nan", "inf" and "-inf" (JSON has no such numbers), and anything else becomes its `repr`.
A field that would still be too long for the server is replaced by a note saying so.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from mug.client.checksum import checksum

MAX_JSON_FIELD_CHARS = 16_000  # mug.server.wire.MAX_JSON_FIELD_CHARS (not imported: client never imports server)
_MAX_DEPTH = 20


def json_safe(value: Any, depth: int = 0) -> Any:
    """Return `value` converted to plain JSON types (see the module docstring)."""
    if depth > _MAX_DEPTH:
        return repr(value)[:200]
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, np.generic):
        return json_safe(value.item(), depth + 1)
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist(), depth + 1)
    if isinstance(value, dict):
        return {str(k): json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v, depth + 1) for v in value]
    return repr(value)


def bounded(value: Any) -> Any:
    """Return `json_safe(value)`, or a short note if its JSON is longer than the server accepts."""
    safe = json_safe(value)
    if safe is None or isinstance(safe, bool | int | float):
        return safe
    text = json.dumps(safe)
    if len(text) > MAX_JSON_FIELD_CHARS:
        return {"truncated": True, "chars": len(text), "head": text[:200]}
    return safe


def step_row(
    *,
    episode: int,
    step: int,
    agent: str,
    action: Any,
    reward: Any,
    terminated: bool,
    truncated: bool,
    info: Any,
    obs: Any,
    episode_seed: int | None,
    t_ms: float,
    frame: int | None = None,
    turn_fallback: bool = False,
) -> dict[str, Any]:
    """Build one StepRow dict (JSON-safe), with `obs_checksum` = `checksum(obs)`.

    Args:
        episode: 0-based episode number in the scene.
        step: 1-based count of steps in the episode.
        agent: "" for a single-agent env (or a row that holds all agents' values in dicts).
        obs: the observation after the step (only its checksum is stored).
        t_ms: the browser's wall clock (ms since the epoch) when the step was taken.
        turn_fallback: a turn-based human's time ran out and the scene's `turn_fallback` chose this
            step's move (`mug.client.turns`).
    """
    return {
        "episode": int(episode),
        "step": int(step),
        "agent": agent,
        "action": bounded(action),
        "reward": bounded(reward),
        "terminated": bool(terminated),
        "truncated": bool(truncated),
        "info": bounded(info),
        "obs_checksum": checksum(obs),
        "episode_seed": episode_seed,
        "t_ms": float(t_ms),
        "frame": frame,
        "turn_fallback": bool(turn_fallback),
    }
