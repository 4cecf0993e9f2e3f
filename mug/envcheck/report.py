"""The result of an env check: where CPython and Pyodide first disagree, and how long each took."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class CheckReport:
    """Outcome of :func:`mug.envcheck.check_env`.

    Attributes:
        factory: the environment factory checked.
        steps_requested: steps asked for.
        steps_compared: steps whose checksums exist on both sides and were compared.
        first_mismatch: index of the first step whose checksums differ (or where one side stopped early),
            None if all agree.
        cpython_error: an error raised by the environment in CPython, as text, or None.
        pyodide_error: an error raised in Pyodide (loading, import or the environment), as text, or None.
        timings: seconds: "cpython", "pyodide_total", "pyodide_load", "pyodide_import", "pyodide_run".
        cpython_checksums / pyodide_checksums: the per-step checksums.
        pygame: with `--pygame-stub`, which pygame each side gave the env: {"cpython": ..., "pyodide": ...},
            each "pygame" (a real one) or "stand-in" (MUG's, pygame being missing there); else empty.
    """

    factory: str
    steps_requested: int
    steps_compared: int
    first_mismatch: int | None
    cpython_error: str | None = None
    pyodide_error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)
    cpython_checksums: list[str] = field(default_factory=list)
    pyodide_checksums: list[str] = field(default_factory=list)
    pygame: dict[str, str | None] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True if both sides ran every step without error and agree on every checksum."""
        return (
            self.first_mismatch is None
            and self.cpython_error is None
            and self.pyodide_error is None
            and self.steps_compared == self.steps_requested
        )

    @property
    def message(self) -> str:
        """A human-readable summary naming the first differing step or the error (and, with `--pygame-stub`,
        which pygame each side used)."""
        text = self._message()
        if self.pygame:
            sides = ", ".join(f"{side}: {self.pygame.get(side) or 'not run'}" for side in ("cpython", "pyodide"))
            text += (
                f"\npygame ({sides}): 'stand-in' is MUG's importable stand-in (--pygame-stub), used where "
                "pygame is missing, as in the browser, which has no Pyodide build of pygame; the env must "
                "render without it"
            )
        return text

    def _message(self) -> str:
        t = self.timings
        timing = (
            f"(CPython {t.get('cpython', 0):.2f} s; Pyodide {t.get('pyodide_total', 0):.2f} s: load "
            f"{t.get('pyodide_load', 0):.2f} s, import {t.get('pyodide_import', 0):.2f} s, run "
            f"{t.get('pyodide_run', 0):.2f} s)"
        )
        if self.cpython_error:
            return f"{self.factory}: the environment failed in CPython: {self.cpython_error}"
        if self.pyodide_error and self.first_mismatch is None:
            return f"{self.factory}: the environment failed in Pyodide: {self.pyodide_error}"
        if self.first_mismatch is not None:
            i = self.first_mismatch
            a = self.cpython_checksums[i] if i < len(self.cpython_checksums) else "(none)"
            b = self.pyodide_checksums[i] if i < len(self.pyodide_checksums) else "(none)"
            extra = f"; Pyodide error: {self.pyodide_error}" if self.pyodide_error else ""
            return (
                f"{self.factory}: NOT deterministic across CPython and Pyodide: first difference at step {i} "
                f"(CPython {a}, Pyodide {b}); {self.steps_compared} steps compared{extra} {timing}. Look for "
                "unseeded randomness (random, time, os.urandom, set/dict order of objects) or platform-"
                "dependent maths in the step logic."
            )
        return f"{self.factory}: deterministic: {self.steps_compared} steps agree {timing}"
