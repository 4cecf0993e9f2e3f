"""``check_env``: play one seeded trajectory twice in CPython and twice in Pyodide (Node), compare checksums.

Every run is a process of its own (CPython: `mug.envcheck.child`; Pyodide: `runner.mjs` under Node), so
the checker never imports the environment, and each pair runs under PYTHONHASHSEED 0 and 1 (string
hashing is fixed when an interpreter starts). The four processes start together. What the runs play is
the browser's own code (`mug.client.trajectory`); `mug.envcheck.causes` names why runs disagree.
`check_cpython` is the cheap half, the CPython pair only, which `mug serve` runs at start-up.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mug.bundle import build_bundle, bundle_is_current, load_manifest
from mug.envcheck.causes import Run, compare
from mug.envcheck.report import CheckReport

RUNNER = Path(__file__).with_name("runner.mjs")
NODE_TIMEOUT_S = 600  # a long trajectory in wasm; the boot alone is 2-4 s (7 s on a loaded machine)
CPYTHON_TIMEOUT_S = 600
TAIL_CHARS = 300  # of the last line of a failed run's stderr, in the report
RESULT_PREFIX = "MUG-RESULT "
HASH_SEEDS = (0, 1)  # one run under each: set iteration order of str changes between them


class NodeNotFound(RuntimeError):
    """Node.js (needed to run Pyodide outside a browser) is not installed."""


@dataclass(frozen=True)
class Trajectory:
    """What to play: the factory, its kwargs, the seed, the steps and who plays (see `run_trajectory`)."""

    factory: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    steps: int = 500
    actions: Literal["random"] | list[Any] = "random"
    agents: dict[str, Any] | None = None
    max_steps: int | None = None
    pygame_stub: bool = False

    def request(self) -> dict[str, Any]:
        """The JSON request both runners read (`mug.client.trajectory.run_request`)."""
        return {
            "factory": self.factory,
            "kwargs": self.kwargs,
            "seed": self.seed,
            "steps": self.steps,
            "actions": self.actions,
            "agents": self.agents,
            "max_steps": self.max_steps,
            "pygame_stub": self.pygame_stub,
        }


def _format_error(error: dict[str, Any] | None) -> str | None:
    if not error:
        return None
    return f"{error['type']}: {error['message']}"


def _result(stdout: str) -> dict[str, Any] | None:
    for line in stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            return result
    return None


def _run(side: str, hash_seed: int, result: dict[str, Any]) -> Run:
    return Run(
        side=side,
        hash_seed=hash_seed,
        checksums=list(result.get("checksums") or []),
        dtypes=list(result.get("dtypes") or []),
        findings=list(result.get("findings") or []),
        error=_format_error(result.get("error")),
        pygame=result.get("pygame"),
        hash_bits=result.get("hash_bits"),
    )


def _search_path(packages: list[str]) -> str:
    """PYTHONPATH for a CPython run: the local project folders (plain or src layout), then this process's path,
    so the child imports what this process would (the way the bundle lets Pyodide import them)."""
    folders = [Path(p) for p in packages if Path(p).is_dir()]
    paths = [str(f / "src") if (f / "src").is_dir() else str(f) for f in folders]
    return os.pathsep.join([*paths, *(p for p in sys.path if p)])


def _start_cpython(request: dict[str, Any], hash_seed: int, packages: list[str], folder: Path) -> subprocess.Popen[str]:
    env = os.environ | {"PYTHONHASHSEED": str(hash_seed), "PYTHONPATH": _search_path(packages)}
    req_path = folder / f"cpython-request-{hash_seed}.json"
    req_path.write_text(json.dumps(request), encoding="utf-8")
    return subprocess.Popen(
        [sys.executable, "-m", "mug.envcheck.child", str(req_path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _finish(proc: subprocess.Popen[str], timeout: float) -> tuple[dict[str, Any] | None, str]:
    """Wait for a run's process; return its result (None if it printed none) and the last line of stderr."""
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None, f"no result within {timeout:.0f} s"
    tail = (stderr.strip().splitlines() or ["no output"])[-1]
    if len(tail) > TAIL_CHARS:  # e.g. node printing the minified source line it failed in
        tail = tail[:TAIL_CHARS] + " ..."
    return _result(stdout), f"exited with code {proc.returncode}: {tail}"


def _cpython_runs(procs: list[subprocess.Popen[str]]) -> list[Run]:
    runs = []
    for seed, proc in zip(HASH_SEEDS, procs, strict=True):
        result, why = _finish(proc, CPYTHON_TIMEOUT_S)
        if result is None:
            result = {"error": {"type": "RunFailed", "message": f"the CPython run {why}"}}
        runs.append(_run("CPython", seed, result))
    return runs


def check_cpython(trajectory: Trajectory, packages: list[str] | None = None) -> CheckReport:
    """The cheap half of the check: the trajectory twice in CPython (PYTHONHASHSEED 0 and 1), compared.

    It finds unseeded randomness, the wall clock and set iteration order (not what differs between CPython
    and Pyodide). Each run is a child process: the caller never imports the environment.
    """
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mug-envcheck-") as tmp:
        procs = [_start_cpython(trajectory.request(), s, list(packages or []), Path(tmp)) for s in HASH_SEEDS]
        runs = _cpython_runs(procs)
    timings = {"cpython": time.perf_counter() - t0}
    return CheckReport(
        trajectory.factory,
        trajectory.steps,
        runs,
        compare(runs, []),
        timings,
        pygame_stub=trajectory.pygame_stub,
    )


def _start_node(bundle_dir: Path, request: dict[str, Any], folder: Path, hash_seed: int) -> subprocess.Popen[str]:
    node = shutil.which("node")
    if node is None:
        raise NodeNotFound("Node.js 20 ('node') is needed to run the Pyodide side of the check; install it")
    req_path = folder / f"pyodide-request-{hash_seed}.json"
    req_path.write_text(json.dumps(request | {"hash_seed": hash_seed}), encoding="utf-8")
    return subprocess.Popen(
        [node, str(RUNNER), str(bundle_dir), str(req_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run_in_pyodide(bundle_dir: Path, request: dict[str, Any]) -> dict[str, Any]:
    """One run of a request (`Trajectory.request()` plus the manifest's "packages" and "lock_file") in
    Pyodide under Node with the bundle in `bundle_dir`; return the runner's JSON result."""
    with tempfile.TemporaryDirectory(prefix="mug-envcheck-") as tmp:
        seed = request.get("hash_seed")
        proc = _start_node(Path(bundle_dir), request, Path(tmp), HASH_SEEDS[0] if seed is None else int(seed))
        result, why = _finish(proc, NODE_TIMEOUT_S)
    return result if result is not None else {"ok": False, "stage": "node", "message": f"node {why}"}


def check_env(
    factory: str,
    kwargs: dict[str, Any] | None = None,
    *,
    seed: int,
    steps: int,
    actions: Literal["random"] | list[Any] = "random",
    bundle_dir: Path,
    packages: list[str] | None = None,
    pygame_stub: bool = False,
    agents: dict[str, Any] | None = None,
    max_steps: int | None = None,
) -> CheckReport:
    """Check that an environment, played by the browser's code, gives the same trajectory on every run
    in CPython and in Pyodide.

    Args:
        factory: ``"package.module:callable"`` returning a Gymnasium env or a PettingZoo parallel or AEC env.
        kwargs: keyword arguments for the factory (JSON-able).
        seed: the root seed (the scene's or match's; episode and action-space seeds derive from it).
        steps: the number of steps to compare (AEC: turns).
        actions: ``"random"`` (seeded samples of each agent's action space, legal under its mask) or one
            action per step (see `mug.client.trajectory.run_trajectory`).
        bundle_dir: the Pyodide bundle; (re)built with ``packages`` when missing or stale.
        packages: the experiment's own packages (local folders or requirements) that provide the env.
        pygame_stub: give `import pygame` MUG's stand-in where pygame is missing (as
            `GameScene(pygame_stub=True)` does in the browser); the report says which pygame each side got.
        agents: agent label -> "human" or a policy (`GameScene.agents_spec()`); default: all humans.
        max_steps: the scene's step limit per episode.

    Returns:
        The report; ``report.ok`` is True when every run plays every step and all agree.
    """
    trajectory = Trajectory(factory, dict(kwargs or {}), seed, steps, actions, agents, max_steps, pygame_stub)
    packages = list(packages or [])
    bundle_dir = Path(bundle_dir)
    if not bundle_is_current(bundle_dir, packages):
        build_bundle(bundle_dir, packages)
    manifest = load_manifest(bundle_dir)
    assert manifest is not None  # just built
    request = trajectory.request()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mug-envcheck-") as tmp:
        node_request = request | {"packages": manifest.packages, "lock_file": manifest.lock_file}
        nodes = [_start_node(bundle_dir, node_request, Path(tmp), seed) for seed in HASH_SEEDS]
        cpython = _cpython_runs([_start_cpython(request, seed, packages, Path(tmp)) for seed in HASH_SEEDS])
        t1 = time.perf_counter()
        pyodide: list[Run] = []
        failure: str | None = None
        timings: dict[str, float] = {"cpython": t1 - t0}
        for seed, proc in zip(HASH_SEEDS, nodes, strict=True):
            result, why = _finish(proc, NODE_TIMEOUT_S)
            if result is None:
                failure = failure or f"node {why}"
            elif not result.get("ok"):
                failure = failure or f"Pyodide {result.get('stage')} failed: {result.get('message', '')[-1500:]}"
            else:
                pyodide.append(_run("Pyodide", seed, result))
                t = result.get("timings", {})
                timings.setdefault("pyodide_load", t.get("load_s", 0.0))
                timings.setdefault("pyodide_import", t.get("import_s", 0.0))
                timings.setdefault("pyodide_run", t.get("run_s", 0.0))
        timings["pyodide_total"] = time.perf_counter() - t0
    return CheckReport(
        factory,
        steps,
        [*cpython, *pyodide],
        compare(cpython, pyodide),
        timings,
        pygame_stub=pygame_stub,
        pyodide_failure=failure,
    )
