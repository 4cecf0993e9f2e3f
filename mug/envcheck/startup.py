"""The start-up check `mug serve` runs: each game scene's env played twice in CPython, briefly, and compared.

Why at start-up and in `mug serve` only: a server for an env that is not deterministic must not start
silently (its matches would desync and its records could not be replayed), but the server never runs an
environment, in a request or anywhere else. So the check runs before the server is created, once per
distinct env of the experiment, and each run is a child process (`mug.envcheck.check.check_cpython`):
nothing of the env is imported into the server. `uvicorn mug.app:app` does not run it (a deployment that
starts workers directly checks its env with `mug check-env` beforehand).

The cheap half only: two runs of `STARTUP_STEPS` steps under PYTHONHASHSEED 0 and 1 find unseeded
randomness, the wall clock and set iteration order; differences between CPython and the browser's
Pyodide (integer dtypes, platform maths) need `mug check-env`, which boots Pyodide.

An env that cannot be imported here (its package is a requirement installed only into the bundle) is
reported as not checked, a warning: the browser has its own copy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from mug.configurations import Experiment, GameScene
from mug.envcheck.check import Trajectory, check_cpython
from mug.envcheck.report import CheckReport

STARTUP_STEPS = 120  # a few seconds of play at 30 fps; the pair takes about a second per env
Verdict = Literal["ok", "not deterministic", "failed", "not checked"]


def onnx_notes(agents: Mapping[str, Any] | None) -> list[str]:
    """One line per ONNX agent: CPython has no onnxruntime, so the trajectory plays it with seeded legal
    actions at its `act_every` (`mug.client.trajectory.make_seeded_legal`)."""
    return [
        f"ONNX agent {a!r}: played with seeded legal actions, the model runs only in the browser"
        for a, c in (agents or {}).items()
        if isinstance(c, Mapping) and c.get("kind") == "onnx"
    ]


@dataclass(frozen=True)
class SceneCheck:
    """The start-up check of one env, for the scenes that play it."""

    scenes: list[str]
    trajectory: Trajectory
    report: CheckReport

    @property
    def verdict(self) -> Verdict:
        if self.report.ok:
            return "ok"
        if self.report.differences:
            return "not deterministic"
        error = self.report.cpython_error or ""
        if "cannot import" in error:
            return "not checked"
        return "failed"

    @property
    def line(self) -> str:
        """One line for the console (several for a difference: the report's causes; one more per ONNX agent,
        saying how the check played it)."""
        notes = "".join(f"\n  {n}" for n in onnx_notes(self.trajectory.agents))
        return self._verdict_line + notes

    @property
    def _verdict_line(self) -> str:
        names = ", ".join(repr(s) for s in self.scenes)
        head = f"mug: env check of scene {names} ({self.trajectory.factory})"
        if self.verdict == "ok":
            return f"{head}: ok, {self.report.steps_compared} steps agree in two CPython runs"
        if self.verdict == "not checked":
            return f"{head}: not checked, it cannot be imported here: {self.report.cpython_error}"
        body = self.report.message.split("\npygame:")[0]
        both = f"check both CPython and Pyodide with `mug check-env {self.trajectory.factory}`"
        return f"{head}: {self.verdict}:\n{body}\n({both})"


def _trajectory(scene: GameScene, steps: int) -> Trajectory:
    return Trajectory(
        scene.env,
        dict(scene.env_kwargs),
        seed=scene.seed if scene.seed is not None else 0,
        steps=steps,
        agents=scene.agents_spec(),
        max_steps=scene.max_steps,
        pygame_stub=scene.pygame_stub,
    )


def check_scenes(experiment: Experiment, steps: int = STARTUP_STEPS) -> list[SceneCheck]:
    """Check each distinct env (factory, kwargs, agents, limits) of the experiment's game scenes once."""
    groups: dict[str, tuple[list[str], Trajectory]] = {}
    for scene in experiment.game_scenes:
        trajectory = _trajectory(scene, steps)
        key = json.dumps(trajectory.request(), sort_keys=True, default=str)
        groups.setdefault(key, ([], trajectory))[0].append(scene.id)
    return [
        SceneCheck(list(dict.fromkeys(ids)), t, check_cpython(t, experiment.packages)) for ids, t in groups.values()
    ]
