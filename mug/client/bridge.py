"""The worker's door into the runner: JSON text in, JSON text (plus raw pixels) out.

Crossing the JS <-> Python boundary with one string per call is cheaper and leaks nothing, unlike
converting nested objects proxy by proxy. Errors are returned as data (`{"error": {"message", "where",
"type", "traceback"}}`) so the worker can show them and report them without parsing Python exceptions.
"""

from __future__ import annotations

import json
import traceback
from typing import Any

from mug.client.runner import Runner


def _error(exc: BaseException, where: str) -> str:
    tb = traceback.format_exception(exc)
    return json.dumps(
        {
            "error": {
                "message": f"{type(exc).__name__}: {exc}",
                "where": where,
                "type": type(exc).__name__,
                "traceback": "".join(tb[-8:]),
            }
        }
    )


class WorkerBridge:
    """One runner, driven by the worker with JSON strings."""

    def __init__(self) -> None:
        self.runner = Runner()

    def _frame(self, result: dict[str, Any]) -> tuple[str, Any]:
        pixels = result.pop("pixels")
        return json.dumps(result), pixels

    def start(self, scene_json: str, seed: int, first_episode: int) -> tuple[str, Any]:
        """`Runner.start`; returns (frame JSON, pixels or None)."""
        try:
            return self._frame(self.runner.start(json.loads(scene_json), int(seed), int(first_episode)))
        except Exception as exc:
            return _error(exc, "start"), None

    def tick(self, keys_json: str, t_ms: float) -> tuple[str, Any]:
        """`Runner.tick` with `{"held": [...], "pressed": [...]}`; returns (frame JSON, pixels or None)."""
        try:
            keys = json.loads(keys_json)
            return self._frame(self.runner.tick(keys["held"], keys["pressed"], float(t_ms)))
        except Exception as exc:
            return _error(exc, "step"), None

    def next_episode(self) -> tuple[str, Any]:
        """`Runner.next_episode`; returns (frame JSON, pixels or None)."""
        try:
            return self._frame(self.runner.next_episode())
        except Exception as exc:
            return _error(exc, "reset"), None

    def close(self) -> None:
        self.runner.close()
