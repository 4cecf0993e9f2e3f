"""What an environment reads that its seed does not control: the global generators and the clock.

The env checker runs an environment under these probes so that, when two runs disagree, it can say why.
Between two steps a `Probes` object compares the state of Python's global `random` generator and of
numpy's legacy global generator (`np.random.rand`, `np.random.randint`, ...) with their state before; a
profile hook (`sys.setprofile`, C calls only) sees calls to the wall clock (`time.time`, `datetime.now`,
...) and to the operating system's entropy (`os.urandom`, which `np.random.default_rng()` without a seed
and `random.SystemRandom` draw from). Each finding is `(step, kind, what)`, kind one of `KINDS`.

The same code runs in CPython and in Pyodide, so it imports only the standard library and numpy.
"""

from __future__ import annotations

import datetime
import os
import random
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

RANDOM = "random"  # the global `random` generator
NUMPY_RANDOM = "numpy.random"  # numpy's legacy global generator
ENTROPY = "entropy"  # os.urandom: an unseeded generator (default_rng(), SystemRandom, secrets)
CLOCK = "clock"  # the wall clock or a timer
KINDS = (RANDOM, NUMPY_RANDOM, ENTROPY, CLOCK)

MAX_FINDINGS = 20  # enough to name the causes; a long run that reads the clock every step stays small

_CLOCKS = {
    time.time: "time.time",
    time.time_ns: "time.time_ns",
    time.monotonic: "time.monotonic",
    time.monotonic_ns: "time.monotonic_ns",
    time.perf_counter: "time.perf_counter",
    time.perf_counter_ns: "time.perf_counter_ns",
    time.process_time: "time.process_time",
    time.localtime: "time.localtime",
    time.gmtime: "time.gmtime",
}
_DATETIME_CLOCKS = ("now", "utcnow", "today")


@dataclass(frozen=True)
class Finding:
    """One read of something the seed does not control, first seen during step `step` (0-based; -1: the
    first reset; a later episode's reset counts with the step that ended the previous one)."""

    step: int
    kind: str
    what: str

    def as_dict(self) -> dict[str, Any]:
        return {"step": self.step, "kind": self.kind, "what": self.what}


def _numpy_state() -> Any:
    state = np.random.get_state(legacy=False)
    return state["state"]["pos"], state["state"]["key"].tobytes()


class Probes:
    """Watches one run; `mark(step)` before each step attributes what follows to that step."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self._seen: set[tuple[str, str]] = set()
        self._step = -1
        self._random = random.getstate()
        self._numpy = _numpy_state()

    def _add(self, kind: str, what: str) -> None:
        if (kind, what) in self._seen or len(self.findings) >= MAX_FINDINGS:
            return
        self._seen.add((kind, what))
        self.findings.append(Finding(self._step, kind, what))

    def _compare_generators(self) -> None:
        now = random.getstate()
        if now != self._random:
            self._add(RANDOM, "random (the global generator)")
            self._random = now
        state = _numpy_state()
        if state[0] != self._numpy[0] or state[1] != self._numpy[1]:
            self._add(NUMPY_RANDOM, "numpy.random (the legacy global generator)")
            self._numpy = state

    def mark(self, step: int) -> None:
        """Close the previous step (compare the global generators) and attribute what follows to `step`."""
        self._compare_generators()
        self._step = step

    def _profile(self, frame: Any, event: str, arg: Any) -> None:
        if event != "c_call":
            return
        try:
            name = _CLOCKS.get(arg)
        except TypeError:  # an unhashable callable: not a clock
            name = None
        if name is not None:
            self._add(CLOCK, name)
        elif arg is os.urandom:
            self._add(ENTROPY, "os.urandom")
        else:
            owner = getattr(arg, "__self__", None)
            if (owner is datetime.datetime or owner is datetime.date) and arg.__name__ in _DATETIME_CLOCKS:
                self._add(CLOCK, f"datetime.{owner.__name__}.{arg.__name__}")

    @contextmanager
    def watching(self) -> Iterator[Probes]:
        """Install the profile hook for the duration (restoring any previous one)."""
        previous = sys.getprofile()
        sys.setprofile(self._profile)
        try:
            yield self
        finally:
            sys.setprofile(previous)
            self._compare_generators()
