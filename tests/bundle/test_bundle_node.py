"""Real bundles: loading in Node with one loadPyodide call, reproducibility, rebuild in place."""

import filecmp
import json
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from mug.bundle import build_bundle, bundle_is_current
from mug.testing.bundle import BuiltBundle

pytestmark = pytest.mark.node

LOAD_SCRIPT = """
import path from "node:path";
import { pathToFileURL } from "node:url";
const dir = path.resolve(process.argv[2]);
const manifest = JSON.parse(process.argv[3]);
const t0 = performance.now();
const { loadPyodide } = await import(pathToFileURL(path.join(dir, "pyodide.mjs")).href);
const py = await loadPyodide({ indexURL: dir + path.sep, lockFileURL: path.join(dir, manifest.lock_file),
                               packages: manifest.packages, messageCallback: () => {} });
const t1 = performance.now();
const out = py.runPython(`
import sys, types
mp = types.ModuleType("_multiprocessing")
class SemLock:
    SEM_VALUE_MAX = 2147483647
mp.SemLock, mp.sem_unlink = SemLock, None
sys.modules["_multiprocessing"] = mp
import numpy, gymnasium, pettingzoo, mug_envcheck_testenvs
from mug.client.checksum import checksum
v = (numpy.__version__, gymnasium.__version__, pettingzoo.__version__)
" ".join([*v, checksum(numpy.arange(3, dtype=numpy.int64))])
`);
const t2 = performance.now();
console.log(JSON.stringify({ out, load_s: (t1 - t0) / 1000, import_s: (t2 - t1) / 1000 }));
"""


def test_one_load_call_imports_everything(bundle: BuiltBundle, tmp_path: Path) -> None:
    out, manifest = bundle.path, bundle.manifest
    script = tmp_path / "load.mjs"
    script.write_text(LOAD_SCRIPT)
    start = time.perf_counter()
    proc = subprocess.run(
        ["node", str(script), str(out), manifest.to_json()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    import numpy as np

    from mug.client.checksum import checksum

    numpy_v, gym_v, pz_v, digest = result["out"].split()
    assert (numpy_v, gym_v, pz_v) == ("2.0.2", "1.4.0", "1.27.0")
    assert digest == checksum(np.arange(3, dtype=np.int64))  # default ints are 32-bit in wasm32
    print(
        f"node: load {result['load_s']:.2f} s, import {result['import_s']:.2f} s, "
        f"process {time.perf_counter() - start:.2f} s"
    )


def test_manifest_lists_everything(bundle: BuiltBundle) -> None:
    out, manifest = bundle.path, bundle.manifest
    local = [
        "mug-envcheck-testenvs",
        "mug-e2e-envs",
        "mug-example-dodge",
        "mug-example-cartpole-browser",
        "mug-example-connect-four",
        "mug-example-gather",
    ]
    assert manifest.packages == ["numpy", "gymnasium", "pettingzoo", "mug-client", *local, "minigrid"]
    lock = json.loads((out / "pyodide-lock.json").read_text())
    # minigrid's pygame-ce: bundled when its official file is found (online), else left out of every depends
    assert manifest.left_out == {"pygame-ce": "minigrid"} or manifest.sources["pygame-ce"].endswith("official")
    assert ("pygame-ce" in lock["packages"]["minigrid"]["depends"]) == ("pygame-ce" not in manifest.left_out)
    assert lock["info"]["version"] == "0.27.7" and len(lock["packages"]) >= 351
    assert lock["packages"]["numpy"]["sha256"] == "ebb61241d962b98b21597d7ce43b67668a6d5bab3acec4fbe958657320d7cd08"
    assert lock["packages"]["mug-client"]["imports"] == ["mug"]
    for name in manifest.files:
        assert (out / name).is_file()
    assert bundle_is_current(out, bundle.packages)


def _same_dirs(a: Path, b: Path) -> None:
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    match, mismatch, errors = filecmp.cmpfiles(a, b, names, shallow=False)
    assert mismatch == [] and errors == []


def test_rebuild_is_byte_identical(bundle: BuiltBundle, tmp_path: Path) -> None:
    out, manifest = bundle.path, bundle.manifest
    again = build_bundle(tmp_path / "again", packages=bundle.packages)
    if again.inputs != manifest.inputs:  # someone edited mug/client meanwhile: compare two fresh builds
        out = tmp_path / "third"
        build_bundle(out, packages=bundle.packages)
    _same_dirs(out, tmp_path / "again")


def test_rebuild_in_place_replaces_stale_and_removes_extra(bundle: BuiltBundle, tmp_path: Path) -> None:
    out = bundle.path
    work = tmp_path / "work"
    shutil.copytree(out, work)
    (work / "stale-1.0-py3-none-any.whl").write_bytes(b"old")
    (work / "pyodide.mjs").write_bytes(b"damaged")
    manifest = build_bundle(work, packages=[])
    assert not (work / "stale-1.0-py3-none-any.whl").exists()
    assert (work / "pyodide.mjs").read_bytes() == (out / "pyodide.mjs").read_bytes()
    assert "mug-envcheck-testenvs" not in manifest.packages
    assert not any(p.name.startswith("mug_envcheck_testenvs") for p in work.iterdir())
    assert sorted(p.name for p in work.iterdir()) == sorted([*manifest.files, "mug-bundle.json"])
