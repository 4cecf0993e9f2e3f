"""``check_env``: run one seeded trajectory in CPython and in Pyodide (Node) and compare checksums."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from mug.bundle import build_bundle, bundle_is_current, load_manifest
from mug.client.trajectory import trajectory_report
from mug.envcheck.report import CheckReport

RUNNER = Path(__file__).with_name("runner.mjs")
NODE_TIMEOUT_S = 600  # a long trajectory in wasm; the boot alone is 2-4 s
RESULT_PREFIX = "MUG-RESULT "


class NodeNotFound(RuntimeError):
    """Node.js (needed to run Pyodide outside a browser) is not installed."""


def _format_error(error: dict[str, Any] | None) -> str | None:
    if not error:
        return None
    return f"{error['type']}: {error['message']}"


def run_in_pyodide(bundle_dir: Path, request: dict[str, Any]) -> dict[str, Any]:
    """Run a trajectory request in Pyodide under Node with the bundle in ``bundle_dir``; return its JSON."""
    node = shutil.which("node")
    if node is None:
        raise NodeNotFound("Node.js 20 ('node') is needed to run the Pyodide side of the check; install it")
    with tempfile.TemporaryDirectory(prefix="mug-envcheck-") as tmp:
        req_path = Path(tmp) / "request.json"
        req_path.write_text(json.dumps(request), encoding="utf-8")
        proc = subprocess.run(
            [node, str(RUNNER), str(bundle_dir), str(req_path)],
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT_S,
            check=False,
        )
    for line in proc.stdout.splitlines():
        if line.startswith(RESULT_PREFIX):
            result: dict[str, Any] = json.loads(line[len(RESULT_PREFIX) :])
            return result
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"ok": False, "stage": "node", "message": f"node exited with code {proc.returncode}: {tail}"}


@contextlib.contextmanager
def _importable(packages: list[str]) -> Iterator[None]:
    """Let CPython import local project folders (plain or src layout) the way the bundle lets Pyodide."""
    folders = [Path(p) for p in packages if Path(p).is_dir()]
    paths = [str(f / "src") if (f / "src").is_dir() else str(f) for f in folders]
    sys.path[:0] = paths
    try:
        yield
    finally:
        for path in paths:
            sys.path.remove(path)


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
) -> CheckReport:
    """Check that an environment gives the same trajectory in CPython and in Pyodide.

    Args:
        factory: ``"package.module:callable"`` returning a Gymnasium env or a PettingZoo parallel env.
        kwargs: keyword arguments for the factory (JSON-able).
        seed: the root seed (episode seeds and the action sampler's seed derive from it).
        steps: the number of steps to compare.
        actions: ``"random"`` (seeded samples of the action space) or one action per step.
        bundle_dir: the Pyodide bundle; (re)built with ``packages`` when missing or stale.
        packages: the experiment's own packages (local folders or requirements) that provide the env.
        pygame_stub: give `import pygame` MUG's stand-in where pygame is missing (as
            `GameScene(pygame_stub=True)` does in the browser); the report says which pygame each side got.

    Returns:
        The report; ``report.ok`` is True when every step agrees.
    """
    kwargs = dict(kwargs or {})
    packages = list(packages or [])
    bundle_dir = Path(bundle_dir)
    if not bundle_is_current(bundle_dir, packages):
        build_bundle(bundle_dir, packages)
    manifest = load_manifest(bundle_dir)
    assert manifest is not None  # just built

    t0 = time.perf_counter()
    with _importable(packages):
        local = trajectory_report(factory, kwargs, seed, steps, actions, pygame_stub=pygame_stub)
    t1 = time.perf_counter()
    request = {
        "packages": manifest.packages,
        "lock_file": manifest.lock_file,
        "factory": factory,
        "kwargs": kwargs,
        "seed": seed,
        "steps": steps,
        "actions": actions,
        "pygame_stub": pygame_stub,
    }
    remote = run_in_pyodide(bundle_dir, request)
    t2 = time.perf_counter()

    timings = {"cpython": t1 - t0, "pyodide_total": t2 - t1}
    pyodide_error: str | None
    if not remote.get("ok"):
        pyodide_error = f"Pyodide {remote.get('stage')} failed: {remote.get('message', '')[-1500:]}"
        remote_sums: list[str] = []
    else:
        pyodide_error = _format_error(remote.get("error"))
        remote_sums = remote["checksums"]
        t = remote.get("timings", {})
        timings |= {
            "pyodide_load": t.get("load_s", 0.0),
            "pyodide_import": t.get("import_s", 0.0),
            "pyodide_run": t.get("run_s", 0.0),
        }
    local_sums: list[str] = local["checksums"]
    compared = min(len(local_sums), len(remote_sums))
    mismatch = next((i for i in range(compared) if local_sums[i] != remote_sums[i]), None)
    if mismatch is None and len(local_sums) != len(remote_sums) and local["error"] is None and remote.get("ok"):
        mismatch = compared  # one side stopped early with an error
    return CheckReport(
        factory=factory,
        steps_requested=steps,
        steps_compared=compared,
        first_mismatch=mismatch,
        cpython_error=_format_error(local["error"]),
        pyodide_error=pyodide_error,
        timings=timings,
        cpython_checksums=local_sums,
        pyodide_checksums=remote_sums,
        pygame={"cpython": local.get("pygame"), "pyodide": remote.get("pygame")} if pygame_stub else {},
    )
