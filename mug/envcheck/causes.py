"""Why two runs of an environment disagree: the likely cause, named from what the runs recorded.

The checker plays the same seeded trajectory four times: twice in CPython and twice in Pyodide, each pair
under PYTHONHASHSEED 0 and 1. Three comparisons follow, each with its own suspects:

- the two CPython runs, then the two Pyodide runs (same code, same platform): a difference is
  *unseeded randomness* (the global `random` or `np.random` generator, or an unseeded generator such as
  `np.random.default_rng()`, which `mug.client.probes` saw) or *the wall clock* (`time.time`, ...); with
  neither seen, *set iteration order*: the runs differ only in string hashing, which orders sets of str;
- CPython against Pyodide (each side repeatable): *integer dtypes* when an observation array's dtype
  differs (numpy's default integer is int64 on 64-bit CPython and int32 in Pyodide's wasm32), else
  *platform maths*.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

UNSEEDED_RANDOMNESS = "unseeded randomness"
WALL_CLOCK = "the wall clock"
SET_ORDER = "set iteration order"
INTEGER_DTYPES = "integer dtypes"
DTYPES = "dtypes"
PLATFORM_MATHS = "platform maths"
CAUSES = (UNSEEDED_RANDOMNESS, WALL_CLOCK, SET_ORDER, INTEGER_DTYPES, DTYPES, PLATFORM_MATHS)


@dataclass(frozen=True)
class Run:
    """One run's result: `mug.client.trajectory.trajectory_report` plus where it ran.

    Attributes:
        side: "CPython" or "Pyodide".
        hash_seed: the PYTHONHASHSEED it ran under.
        checksums: one per step.
        dtypes: `[step, {path: dtype}]` for the first step and each step whose dtypes changed.
        findings: what the probes saw, `{"step", "kind", "what"}`.
        error: the error that stopped it, as text, or None.
        pygame: which pygame the env got ("pygame", "stand-in") with the stand-in asked for, else None.
        hash_bits: the width of the process's hashes (64 in CPython, 32 in Pyodide).
    """

    side: str
    hash_seed: int
    checksums: list[str] = field(default_factory=list)
    dtypes: list[list[Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    pygame: str | None = None
    hash_bits: int | None = None

    @property
    def name(self) -> str:
        return f"{self.side} (PYTHONHASHSEED={self.hash_seed})"

    def dtypes_at(self, step: int) -> dict[str, str]:
        """The observation's dtypes at `step`."""
        current: dict[str, str] = {}
        for first, mapping in self.dtypes:
            if first > step:
                break
            current = mapping
        return current


@dataclass(frozen=True)
class Cause:
    """A likely cause of a difference: `name` (one of `CAUSES`) and what was seen, with the fix."""

    name: str
    detail: str


@dataclass(frozen=True)
class Difference:
    """Runs `a` and `b` first disagree at step `step` (0-based; one stopping early counts)."""

    a: Run
    b: Run
    step: int
    causes: list[Cause]


def first_difference(a: Sequence[str], b: Sequence[str]) -> int | None:
    """The first index where the checksum lists differ, or where the shorter one ends; None if equal."""
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def _integer(dtype: str) -> bool:
    try:
        return bool(np.issubdtype(np.dtype(dtype), np.integer))
    except TypeError:
        return False


def repeat_causes(a: Run, b: Run, step: int) -> list[Cause]:
    """Causes of a difference between two runs on one platform, first differing at `step`."""
    causes: list[Cause] = []
    seen = [f for f in [*a.findings, *b.findings] if f["step"] <= step]
    randomness = sorted({f["what"] for f in seen if f["kind"] != "clock"})
    clocks = sorted({f["what"] for f in seen if f["kind"] == "clock"})
    if randomness:
        causes.append(
            Cause(
                UNSEEDED_RANDOMNESS,
                f"the env draws from {', '.join(randomness)}, which reset(seed=...) does not seed: draw from "
                "self.np_random (Gymnasium's, seeded by reset(seed=...)) or a generator seeded from the reset's seed",
            )
        )
    if clocks:
        causes.append(
            Cause(
                WALL_CLOCK,
                f"the env reads {', '.join(clocks)}, which differs on every run and every machine: count steps "
                "(one step is one frame at the scene's fps) instead of reading the time",
            )
        )
    if not causes and a.hash_seed != b.hash_seed:
        causes.append(
            Cause(
                SET_ORDER,
                f"the runs differ only in string hashing (PYTHONHASHSEED={a.hash_seed} and {b.hash_seed}) and "
                "no global generator or clock was read: iterating a set (or a dict or list built from one) of "
                "str or bytes follows their hashes; iterate sorted(the_set) or keep an ordered list",
            )
        )
    return causes


def platform_causes(a: Run, b: Run, step: int) -> list[Cause]:
    """Causes of a difference between CPython and Pyodide, first differing at `step`."""
    da, db = a.dtypes_at(step), b.dtypes_at(step)
    differing = [path for path in sorted(set(da) | set(db)) if da.get(path) != db.get(path)]
    if differing:
        shown = "; ".join(
            f"{p}: {da.get(p, 'absent')} in {a.side}, {db.get(p, 'absent')} in {b.side}" for p in differing
        )
        integer = all(_integer(da.get(p, "")) and _integer(db.get(p, "")) for p in differing)
        why = (
            "numpy's default integer (np.array([1, 2]), np.arange, np.zeros(..., dtype=int)) is int64 in "
            "CPython on 64-bit Linux and macOS but int32 in Pyodide (wasm32, a 32-bit C long); give the "
            "dtype explicitly, e.g. np.array(values, dtype=np.int64), as the observation space declares it"
            if integer
            else "give every observation array an explicit dtype, the one its observation space declares"
        )
        return [Cause(INTEGER_DTYPES if integer else DTYPES, f"{shown}: {why}")]
    return [
        Cause(
            PLATFORM_MATHS,
            "the dtypes agree but the values do not: look for maths whose result depends on the platform "
            "(np.exp, np.sin and other libm functions in the step logic, float32 sums of many terms, "
            "integer overflow of a 32-bit C long, hash() of str or bytes, which is 32 bits wide in Pyodide)",
        )
    ]


def compare(cpython: Sequence[Run], pyodide: Sequence[Run]) -> list[Difference]:
    """Compare the runs: each side's pair, then the first run of each side; return every difference found.

    A side whose own runs disagree before the platforms do is not compared across platforms at that step:
    its difference explains the cross-platform one.
    """
    out: list[Difference] = []
    repeat_steps: list[int] = []
    for pair in (cpython, pyodide):
        if len(pair) >= 2 and pair[0].error is None and pair[1].error is None:
            step = first_difference(pair[0].checksums, pair[1].checksums)
            if step is not None:
                out.append(Difference(pair[0], pair[1], step, repeat_causes(pair[0], pair[1], step)))
                repeat_steps.append(step)
    if cpython and pyodide:
        a, b = cpython[0], pyodide[0]
        step = first_difference(a.checksums, b.checksums)
        if step is not None and (a.error is None and b.error is None or step < min(len(a.checksums), len(b.checksums))):
            if not repeat_steps or step < min(repeat_steps):
                out.append(Difference(a, b, step, platform_causes(a, b, step)))
    return out
