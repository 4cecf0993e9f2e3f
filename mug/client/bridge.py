"""The worker's door into the runner: JSON text in, JSON text (plus raw pixels) out.

Crossing the JS <-> Python boundary with one string per call is cheaper and leaks nothing, unlike
converting nested objects proxy by proxy. Errors are returned as data (`{"error": {"message", "where",
"type", "traceback"}}`) so the worker can show them and report them without parsing Python exceptions.

The page's SceneSpec and `match_start` are parsed here, once, into `GameSpec` and `MatchPlan`
(`mug.client.spec`, `mug.client.match_plan`); a missing or ill-typed field is an error naming it.
"""

from __future__ import annotations

import json
import traceback
from typing import Any

from mug.client.match import MatchRunner
from mug.client.match_plan import MatchPlan
from mug.client.runner import Runner
from mug.client.spec import GameSpec


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
    """One runner (or one match runner), driven by the worker with JSON strings."""

    def __init__(self) -> None:
        self.runner = Runner()
        self.match: MatchRunner | None = None

    def _frame(self, result: dict[str, Any]) -> tuple[str, Any]:
        pixels = result.pop("pixels")
        return json.dumps(result), pixels

    def start(self, scene_json: str, seed: int, first_episode: int) -> tuple[str, Any]:
        """`Runner.start`; returns (frame JSON, pixels or None)."""
        try:
            spec = GameSpec.parse(json.loads(scene_json))
            return self._frame(self.runner.start(spec, int(seed), int(first_episode)))
        except Exception as exc:
            return _error(exc, "start"), None

    def tick(self, keys_json: str, t_ms: float) -> tuple[str, Any]:
        """`Runner.tick` with `{"held": [...], "pressed": [...], "clicks": [[x, y, width, height], ...],
        "outputs": {agent label: {output name: {"type", "dims", "data"}}}}` (`clicks` and `outputs`
        optional); returns (frame JSON, pixels or None)."""
        try:
            keys = json.loads(keys_json)
            clicks = keys.get("clicks") or []
            outputs = keys.get("outputs") or None
            return self._frame(self.runner.tick(keys["held"], keys["pressed"], float(t_ms), clicks, outputs))
        except Exception as exc:
            return _error(exc, "step"), None

    def inference(self) -> str:
        """`Runner.inference` (single player) or `MatchRunner.inference` (a match): JSON
        `[{"agent", "model", "sha256", "feeds"}]` (or `{"error"}`), the ONNX runs the worker owes."""
        try:
            if self.match is not None:
                return json.dumps(self.match.inference())
            return json.dumps(self.runner.inference())
        except Exception as exc:
            return _error(exc, "inference")

    def match_outputs(self, outputs_json: str) -> str:
        """`MatchRunner.take_outputs` with `{agent label: outputs}`; returns "{}" or `{"error"}`."""
        try:
            if self.match is None:
                raise RuntimeError("start_match first")
            self.match.take_outputs(json.loads(outputs_json))
            return "{}"
        except Exception as exc:
            return _error(exc, "inference")

    def next_episode(self) -> tuple[str, Any]:
        """`Runner.next_episode`; returns (frame JSON, pixels or None)."""
        try:
            return self._frame(self.runner.next_episode())
        except Exception as exc:
            return _error(exc, "reset"), None

    def close(self) -> None:
        self.runner.close()
        self.match_stop()

    # -- multiplayer: see mug.client.match and worker_protocol.js ("start_match", "net", "peer_left")
    def start_match(self, scene_json: str, start_json: str) -> tuple[str, Any]:
        """Build a `MatchRunner` from a SceneSpec and a `match_start`; returns (first frame JSON, pixels)."""
        try:
            self.match_stop()
            spec, plan = GameSpec.parse(json.loads(scene_json)), MatchPlan.from_start(json.loads(start_json))
            self.match = MatchRunner(spec, plan)
            return self._frame(self.match.frame_info([]))
        except Exception as exc:
            return _error(exc, "start"), None

    def match_receive(self, peer: str, data: Any, now_ms: float | None = None) -> None:
        """Bytes from a peer: `bytes`, or a JS Uint8Array proxy (converted with `to_bytes()`), that reached
        the worker at `now_ms` (its `performance.now()`)."""
        if self.match is not None:
            raw = data.to_bytes() if hasattr(data, "to_bytes") else bytes(data)
            self.match.receive(str(peer), raw, None if now_ms is None else float(now_ms))

    def match_peer_left(self, peer: str) -> None:
        """The page's transport lost `peer`."""
        if self.match is not None:
            self.match.peer_left(str(peer))

    def match_exchange(self, now_ms: float, keys_json: str) -> tuple[str, bytes]:
        """`MatchRunner.exchange`: returns (JSON `[[peer, nbytes, reliable], ...]` or `{"error"}`, sends
        blob); the blob is the sends' bytes back to back, in that order (one crossing, not one per message);
        `reliable` (0/1): over the peer's reliable channel. The page sends them before `match_advance`."""
        try:
            if self.match is None:
                raise RuntimeError("start_match first")
            keys = json.loads(keys_json)
            clicks = keys.get("clicks") or []
            sends = self.match.exchange(float(now_ms), keys["held"], keys["pressed"], clicks)
            meta = [[peer, len(data), int(reliable)] for peer, data, reliable in sends]
            return json.dumps(meta), b"".join(data for _, data, _ in sends)
        except Exception as exc:
            return _error(exc, "step"), b""

    def match_advance(self, now_ms: float, t_ms: float, with_status: bool = True) -> tuple[str, Any]:
        """`MatchRunner.advance`; returns (JSON, pixels or None).

        JSON: `{"frame": FrameInfo|null, "events": [...], "status": {...}|null}` or `{"error"}`."""
        try:
            if self.match is None:
                raise RuntimeError("start_match first")
            out = self.match.advance(float(now_ms), float(t_ms))
            pixels = None
            frame = out["frame"]
            if frame is not None:
                pixels = frame.pop("pixels")
            result = {
                "frame": frame,
                "events": out["events"],
                "status": self.match.status() if with_status or out["events"] else None,
            }
            return json.dumps(result), pixels
        except Exception as exc:
            return _error(exc, "step"), None

    def match_stop(self) -> None:
        if self.match is not None:
            self.match.close()
            self.match = None
