"""Small helpers for the browser tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

HERE_EXPERIMENTS = str(Path(__file__).resolve().parent / "experiments.py")


def phase(page: Any) -> str:
    return str(page.evaluate("document.body.dataset.mugPhase"))


def wait_phase(page: Any, name: str, timeout: float = 30_000) -> None:
    """Wait until the page's phase is `name` (fails early, with the status, if the page shows an error)."""
    page.wait_for_function(f"['{name}', 'error'].includes(document.body.dataset.mugPhase)", timeout=timeout)
    current = phase(page)
    if current != name:
        raise AssertionError(
            f"expected phase {name}, got {current}: {page.evaluate('window.mug.status()')} "
            f"{page.text_content('#mug-root')}"
        )


def export(database_url: str, out: Path) -> Path:
    """`mug export --database URL --out OUT`, as a researcher runs it (a fresh process); returns `out`."""
    command = "import sys; from mug.cli import main; sys.exit(main())"
    cmd = [sys.executable, "-c", command, "export", "--database", database_url, "--out", str(out)]
    subprocess.run(cmd, check=True)
    return out
