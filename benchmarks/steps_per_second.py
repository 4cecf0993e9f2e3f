"""Environment steps per second in Pyodide (Node 20, the bundle) versus CPython, side by side in one run.

Both sides run the same seeded trajectory code (`mug.client.trajectory`: step, reset on episode end,
checksum each step), so the ratio compares the runtimes, not the harnesses.

    .venv/bin/python benchmarks/steps_per_second.py [--steps 3000] [--bundle-dir pyodide_bundle]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from mug.bundle import build_bundle, bundle_is_current, load_manifest
from mug.client.trajectory import trajectory_report
from mug.envcheck.check import run_in_pyodide

ROOT = Path(__file__).resolve().parent.parent
ENVS = [
    ("CartPole (Gymnasium built-in)", "gymnasium.envs.classic_control.cartpole:CartPoleEnv", {}, []),
    ("Catch (embedded demo, Surface)", "mug.demos.catch:make_env", {}, []),
    ("Dodge (examples/dodge)", "dodge_env.game:make_env", {}, [str(ROOT / "examples/dodge/dodge_env")]),
    (
        "CartPole browser wrapper (examples/cartpole)",
        "cartpole_browser:make_env",
        {},
        [str(ROOT / "examples/cartpole/cartpole_browser")],
    ),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3, help="runs per side; the fastest counts")
    parser.add_argument("--bundle-dir", type=Path, default=Path("/tmp/mug-bench-bundle"))
    args = parser.parse_args()
    envs = [e for e in ENVS if all(Path(p).exists() for p in e[3])]
    packages = sorted({p for e in envs for p in e[3]})
    if not bundle_is_current(args.bundle_dir, packages):
        build_bundle(args.bundle_dir, packages=packages)
    manifest = load_manifest(args.bundle_dir)
    assert manifest is not None
    for _, _, _, pkgs in envs:
        for p in pkgs:
            sys.path.insert(0, p)
    print(f"{'environment':46} {'CPython steps/s':>16} {'Pyodide steps/s':>16} {'ratio':>7}")
    for name, factory, kwargs, _ in envs:
        cpy_times, pyo_times = [], []
        request = {
            "packages": list(manifest.packages),
            "factory": factory,
            "kwargs": kwargs,
            "seed": 1,
            "steps": args.steps,
            "actions": "random",
            "probe": False,
        }
        for _ in range(args.repeat):  # alternate the sides, so both see the same machine state
            t0 = time.perf_counter()
            cpy = trajectory_report(factory, kwargs, 1, args.steps, "random", probe=False)
            cpy_times.append(time.perf_counter() - t0)
            pyo = run_in_pyodide(args.bundle_dir, request)
            if not pyo.get("ok") or pyo.get("error") or cpy.get("error"):
                break
            pyo_times.append(pyo["timings"]["run_s"])
        if not pyo.get("ok") or pyo.get("error") or cpy.get("error"):
            print(f"{name:46} failed: {pyo.get('message') or pyo.get('error') or cpy.get('error')}")
            continue
        same = pyo["checksums"] == cpy["checksums"]
        cpy_rate = args.steps / min(cpy_times)
        pyo_rate = args.steps / min(pyo_times)
        print(
            f"{name:46} {cpy_rate:16,.0f} {pyo_rate:16,.0f} {cpy_rate / pyo_rate:6.1f}x"
            f"{'' if same else '  (trajectories differ!)'}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
