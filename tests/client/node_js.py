"""Run a page module's test harness in Node (the page's JavaScript, with stand-ins for what it touches)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

STATIC = Path(__file__).resolve().parents[2] / "mug" / "client" / "static"


def run_harness(harness: str, *args: str) -> Any:
    """Run `harness` (an ES module's source) with `args` as process.argv[1:]; return the JSON it prints.
    Skips the test without Node.js."""
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed")
    cmd = [node, "--no-warnings", "--input-type=module", "-e", harness, *args]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout)
