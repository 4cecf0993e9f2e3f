"""Stages run several times (`--runs`, `--variants`): median and range of each stage's figures."""

from __future__ import annotations

import os
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
    for ph in stage.phases:
        if ph.name in ("lobby_join -> match_start", "signal (relayed)") and ph.wall_s > 0:
            what = "join" if ph.name.startswith("lobby") else "signal"
            for k, c in ph.other_cpu_s.items():
                out[f"{k} CPU % {what}"] = 100 * c / ph.wall_s
            if ph.redis_calls and ph.ops:
                out[f"redis cmds/{'match' if what == 'join' else what}"] = ph.redis_calls / ph.ops
        if ph.name == "hello" and ph.redis_calls and ph.ops:
            out["redis cmds/hello"] = ph.redis_calls / ph.ops
    n = stage.notes
    if "rss_held_kb" in n:
        out["KB/held"] = (n["rss_held_kb"] - n["rss_idle_kb"]) / max(n["held"], 1)
        per = n.get("per_process", [])
        if len(per) > 1:  # each process's own figure (it holds about N / processes)
            out["KB/held/process"] = statistics.median((r - i) / max(h, 1) for i, r, h in per)
        for k, kb in n.get("others_kb", {}).items():
            out[f"{k} MB"] = kb / 1024
        if "spanning" in n:
            out["spanning %"] = 100 * n["spanning"]
        out["idle CPU %"] = 100 * n["idle_cpu"]
    # participants held without error: a stage with errors held none cleanly
    out["held"] = float(n.get("held", 0)) if not stage.stats.errors else 0.0
    probe = n.get("probe")
    if probe is not None:
        out["hello p50 ms"] = 1000 * pct(probe.lat["hello"], 0.5)
        out["signal p50 ms"] = 1000 * pct(probe.lat["signal"], 0.5)
    out["errors"] = float(sum(stage.stats.errors.values()))
    return out


def report_runs(results: dict[str, list[list[Stage]]], loads: list[float]) -> None:
    """`results[variant]`: one list of stages per run. Per N, a row per figure and a column per variant."""
    print(
        f"\n== {max(len(r) for r in results.values())} runs per variant: median [min - max]; load average "
        f"(1 min) at the runs' starts {min(loads):.2f} to {max(loads):.2f} on {os.cpu_count()} cores =="
    )
    base = [*PHASES, "KB/held", "KB/held/process", "idle CPU %", "hello p50 ms", "signal p50 ms"]
    extra = [*("redis CPU % join", "redis CPU % signal", "redis cmds/hello", "redis cmds/match", "redis cmds/signal")]
    extra += ["redis MB", "spanning %", "held", "errors"]
    by: dict[int, dict[str, list[dict[str, float]]]] = defaultdict(lambda: defaultdict(list))
    for variant, runs in results.items():
        for stages in runs:
            for stage in stages:
                by[stage.n][variant].append(figures(stage))
    variants = list(results)
    width = max(24, *(len(v) + 2 for v in variants))
    for n in sorted(by):
        seen = {k for figs in by[n].values() for f in figs for k in f}
        runs = "/".join(str(len(by[n][v])) for v in variants)
        print(f"\nN = {n} (runs {runs})")
        print(f"{'':<20}" + "".join(f"{v:>{width}}" for v in variants))
        for k in [k for k in [*base, *extra] if k in seen]:
            cells = []
            for v in variants:
                values = [f[k] for f in by[n][v] if k in f and f[k] == f[k]]
                if not values:
                    cells.append(f"{'-':>{width}}")
                    continue
                digits = 1 if max(values) < 100 else 0
                med = statistics.median(values)
                cells.append(f"{f'{med:.{digits}f} [{min(values):.{digits}f}-{max(values):.{digits}f}]':>{width}}")
            print(f"{k:<20}" + "".join(cells))
