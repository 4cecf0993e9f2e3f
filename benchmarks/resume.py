"""Resume figures: time from a page reload to playing the match again, and how long the partner waited.

Runs the browser scenario of the test suite (`tests/e2e/mp_scenario.py`: a real server, two headless
Chromium pages peer to peer inside a private network namespace) several times per case and prints the
median and range of:

- `reload`: slot 1's page is reloaded at frame 50 of a 30 fps Catch match. `resumed_s`: from `page.reload()`
  to that page playing again (Pyodide loads from the HTTP cache, the server hands back the match, the page
  reconnects to its partner and replays the frames played meanwhile). `pause_ms`: how long the partner's
  game stood still (its stall time beyond a run without a reload).
- `drop`: slot 0's data channels are closed and no WebRTC connection can be made for 5 s. `pause_ms`: the
  partner's measured time away (PeerAway to PeerBack), which includes the 2 s of silence before a peer counts
  as away.

Every run must also end with complete, identical records (the scenario's own export is checked), else it
counts as failed. Usage (root, for the network namespace):

    ../shared/tools/netns-run .venv/bin/python benchmarks/resume.py --runs 5
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "tests" / "e2e" / "mp_scenario.py"
EXPERIMENTS = ROOT / "tests" / "e2e" / "experiments.py"
CASES = {
    "baseline": [],
    "reload": ["--reload-slot", "1", "--reload-at-frame", "50"],
    "drop": ["--drop-slot", "0", "--drop-at-frame", "60", "--drop-s", "5"],
}


def run_once(case: str, bundle: Path) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cmd = [
            sys.executable,
            str(SCENARIO),
            "--experiment",
            f"{EXPERIMENTS}:mp_duo",
            "--players",
            "2",
            "--bundle",
            str(bundle),
            "--work",
            str(work),
            *CASES[case],
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if proc.returncode != 0:
            return {"ok": False, "why": proc.stderr[-500:]}
        result = json.loads((work / "result.json").read_text())
        with open(work / "export" / "participants.csv", newline="") as f:
            stored = [r["steps_stored"] for r in csv.DictReader(f)]
        with open(work / "export" / "matches.csv", newline="") as f:
            (match,) = list(csv.DictReader(f))
        ok = stored == ["180", "180"] and match["end_reason"] == "finished" and match["steps_differing"] == "0"
        by_slot = {p["status"]["match"]["slot"]: p["status"]["match"] for p in result["players"]}
        out: dict[str, Any] = {"ok": ok, "stall_ms": by_slot[0]["stall_ms"]}
        if case == "reload":
            out["resumed_s"] = result["reload"].get("resumed_s")
            out["ok"] = ok and out["resumed_s"] is not None
            out["replayed"] = by_slot[1]["replayed"]
        if case == "drop":
            out["away_ms"] = by_slot[1]["pauses"][0]["away_ms"]
        return out


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values):.2f}, range {min(values):.2f}-{max(values):.2f} (n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bundle", type=Path, default=ROOT / "pyodide_bundle")
    args = parser.parse_args()
    runs = {case: [run_once(case, args.bundle) for _ in range(args.runs)] for case in CASES}
    for case, results in runs.items():
        failed = [r for r in results if not r["ok"]]
        good = [r for r in results if r["ok"]]
        print(
            f"{case}: {len(good)} of {len(results)} runs complete and identical"
            + (f"; failed: {failed}" if failed else "")
        )
    base = statistics.median(r["stall_ms"] for r in runs["baseline"] if r["ok"])
    reload = [r for r in runs["reload"] if r["ok"]]
    drop = [r for r in runs["drop"] if r["ok"]]
    if reload:
        print("reload -> playing again, s:", summary([r["resumed_s"] for r in reload]))
        print("partner's extra stall during the reload, s:", summary([(r["stall_ms"] - base) / 1000 for r in reload]))
        print("frames replayed:", summary([float(r["replayed"]) for r in reload]))
    if drop:
        print("5 s channel loss, partner's time away, s:", summary([r["away_ms"] / 1000 for r in drop]))
        print("partner's extra stall during the loss, s:", summary([(r["stall_ms"] - base) / 1000 for r in drop]))


if __name__ == "__main__":
    main()
