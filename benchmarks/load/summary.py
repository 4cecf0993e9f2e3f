"""Stages run several times (`--runs`, `--variants`): median and range of each stage's figures."""

from __future__ import annotations

import statistics
from collections import defaultdict

from .stages import Stage, pct

PHASES = {
    "connect/s": "connect",
    "hello/s": "hello",
    "matches/s": "lobby_join -> match_start",
    "signals/s": "signal (relayed)",
}


def figures(stage: Stage) -> dict[str, float]:
    """One stage's headline figures: rates of its phases, memory per held participant, probe latencies."""
    out: dict[str, float] = {}
    for name, phase in PHASES.items():
        for ph in stage.phases:
            if ph.name == phase and ph.wall_s > 0:
                out[name] = ph.ops / ph.wall_s
    n = stage.notes
    if "rss_held_kb" in n:
        out["KB/held"] = (n["rss_held_kb"] - n["rss_idle_kb"]) / max(n["held"], 1)
        out["idle CPU %"] = 100 * n["idle_cpu"]
    probe = n.get("probe")
    if probe is not None:
        out["hello p50 ms"] = 1000 * pct(probe.lat["hello"], 0.5)
        out["signal p50 ms"] = 1000 * pct(probe.lat["signal"], 0.5)
    out["errors"] = float(sum(stage.stats.errors.values()))
    return out


def report_runs(results: dict[str, list[list[Stage]]], loads: list[float]) -> None:
    """`results[variant]`: one list of stages per run."""
    print(
        f"\n== {max(len(r) for r in results.values())} runs per variant: median [min - max]; load average "
        f"(1 min) at the runs' starts {min(loads):.2f} to {max(loads):.2f} on 2 cores =="
    )
    keys = [*PHASES, "KB/held", "idle CPU %", "hello p50 ms", "signal p50 ms", "errors"]
    for variant, runs in results.items():
        by_n: dict[int, list[dict[str, float]]] = defaultdict(list)
        for stages in runs:
            for stage in stages:
                by_n[stage.n].append(figures(stage))
        print(f"\nvariant {variant}")
        print(f"{'N':>7}{'runs':>5}" + "".join(f"{k:>22}" for k in keys))
        for n in sorted(by_n):
            cells = []
            for k in keys:
                values = [f[k] for f in by_n[n] if k in f and f[k] == f[k]]
                if not values:
                    cells.append(f"{'-':>22}")
                    continue
                digits = 1 if max(values) < 100 else 0
                med = statistics.median(values)
                cells.append(f"{f'{med:.{digits}f} [{min(values):.{digits}f}-{max(values):.{digits}f}]':>22}")
            print(f"{n:>7}{len(by_n[n]):>5}" + "".join(cells))
