"""The result of an env check: the runs, where they first disagree, the likely causes, how long each took."""

from __future__ import annotations

from dataclasses import dataclass, field

from mug.envcheck.causes import Cause, Difference, Run

PYGAME_STAND_IN_WHY = (
    "'stand-in' is MUG's importable stand-in (--pygame-stub, as GameScene(pygame_stub=True) gives the "
    "browser), used where pygame is missing: the browser bundle has no pygame unless it holds the official "
    "Pyodide build of pygame-ce, so the env must render without it (a mug.rendering.Surface or an rgb_array)"
)


@dataclass(frozen=True)
class CheckReport:
    """Outcome of :func:`mug.envcheck.check_env`.

    Attributes:
        factory: the environment factory checked.
        steps_requested: steps asked for.
        runs: every run, CPython's first (`mug.envcheck.causes.Run`).
        differences: where pairs of runs first disagree, with the likely causes (empty: all agree).
        timings: seconds: "cpython", "pyodide_total", "pyodide_load", "pyodide_import", "pyodide_run".
        pygame_stub: whether the env was given the pygame stand-in where pygame is missing.
        pyodide_failure: the Pyodide side could not run at all (loading or importing), as text, or None.
    """

    factory: str
    steps_requested: int
    runs: list[Run] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    pygame_stub: bool = False
    pyodide_failure: str | None = None

    def _side(self, side: str) -> list[Run]:
        return [r for r in self.runs if r.side == side]

    @property
    def cpython_checksums(self) -> list[str]:
        runs = self._side("CPython")
        return runs[0].checksums if runs else []

    @property
    def pyodide_checksums(self) -> list[str]:
        runs = self._side("Pyodide")
        return runs[0].checksums if runs else []

    @property
    def cpython_error(self) -> str | None:
        """The first error of a CPython run, as text, or None."""
        return next((r.error for r in self._side("CPython") if r.error), None)

    @property
    def pyodide_error(self) -> str | None:
        """The Pyodide side's failure to run, or the first error of a Pyodide run, as text, or None."""
        return self.pyodide_failure or next((r.error for r in self._side("Pyodide") if r.error), None)

    @property
    def first_mismatch(self) -> int | None:
        """The first step at which any two runs disagree, or None."""
        return min((d.step for d in self.differences), default=None)

    @property
    def steps_compared(self) -> int:
        """Steps every run reached (and that were compared)."""
        return min((len(r.checksums) for r in self.runs), default=0)

    @property
    def causes(self) -> list[Cause]:
        """The likely causes of every difference, without repeats, in the order found."""
        out: list[Cause] = []
        for d in self.differences:
            out += [c for c in d.causes if c not in out]
        return out

    @property
    def cause_names(self) -> list[str]:
        return list(dict.fromkeys(c.name for c in self.causes))

    @property
    def pygame(self) -> dict[str, str | None]:
        """With the pygame stand-in asked for: which pygame each side gave the env ("pygame" or
        "stand-in"), `{"cpython": ..., "pyodide": ...}`; else empty."""
        if not self.pygame_stub:
            return {}
        first = {side: next((r.pygame for r in self._side(side)), None) for side in ("CPython", "Pyodide")}
        return {"cpython": first["CPython"], "pyodide": first["Pyodide"]}

    @property
    def ok(self) -> bool:
        """True if every run played every step without error and all agree on every checksum."""
        return (
            not self.differences
            and self.cpython_error is None
            and self.pyodide_error is None
            and bool(self.runs)
            and self.steps_compared == self.steps_requested
        )

    @property
    def message(self) -> str:
        """A human-readable summary: the verdict, each difference with its likely causes, which pygame."""
        text = self._message()
        if self.pygame:
            sides = ", ".join(f"{side}: {self.pygame.get(side) or 'not run'}" for side in ("cpython", "pyodide"))
            text += f"\npygame ({sides}): {PYGAME_STAND_IN_WHY}"
        else:
            text += (
                "\npygame: no stand-in (--pygame-stub not given): an env whose module imports pygame fails in "
                "the browser, whose bundle has no pygame, unless its scene sets GameScene(pygame_stub=True)"
            )
        return text

    def _timing(self) -> str:
        t = self.timings
        if not self._side("Pyodide"):
            return f"(CPython {t.get('cpython', 0):.2f} s)"
        return (
            f"(CPython {t.get('cpython', 0):.2f} s; Pyodide {t.get('pyodide_total', 0):.2f} s: load "
            f"{t.get('pyodide_load', 0):.2f} s, import {t.get('pyodide_import', 0):.2f} s, run "
            f"{t.get('pyodide_run', 0):.2f} s)"
        )

    def _message(self) -> str:
        if self.cpython_error:
            return f"{self.factory}: the environment failed in CPython: {self.cpython_error}"
        if self.pyodide_error and not self.differences:
            return f"{self.factory}: the environment failed in Pyodide: {self.pyodide_error}"
        if self.differences:
            lines = [
                f"{self.factory}: NOT deterministic: first difference at step {self.first_mismatch} "
                f"({len(self.runs)} runs, {self.steps_compared} steps each) {self._timing()}"
            ]
            for d in self.differences:
                a = d.a.checksums[d.step] if d.step < len(d.a.checksums) else "(none)"
                b = d.b.checksums[d.step] if d.step < len(d.b.checksums) else "(none)"
                lines.append(f"- {d.a.name} and {d.b.name} first differ at step {d.step} ({a} vs {b})")
                lines += [f"  likely cause: {c.name}: {c.detail}" for c in d.causes]
            if self.pyodide_error:
                lines.append(f"- Pyodide error: {self.pyodide_error}")
            return "\n".join(lines)
        sides = ", ".join(r.name for r in self.runs)
        return f"{self.factory}: deterministic: {self.steps_compared} steps agree in {sides} {self._timing()}"
