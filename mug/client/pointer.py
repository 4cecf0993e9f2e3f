"""Clicks and taps on the canvas -> an action, for a human agent.

The page reports every pointerdown on the game canvas (a mouse button, a finger, a pen) in the env's
surface coordinates: `(x, y, width, height)`, origin top left, y down, where `width` x `height` is the size
of the frame the env rendered last (a `Surface`'s size, an `rgb_array`'s pixels) however large the canvas is
shown (the page takes CSS scaling and devicePixelRatio out). A click is a press: it counts once, for the
next frame. A click outside `[0, width) x [0, height)` does nothing.

The scene's `pointer` spec (`GameScene.pointer_spec`) is one of:

- `{"kind": "grid", "rows", "cols", "actions"}`: the cell under the click, `actions[row * cols + col]`
  with `col = floor(x * cols / width)` and `row = floor(y * rows / height)`; a `None` cell does nothing.
- `{"kind": "function", "ref"}`: the researcher's `f(x, y, width, height) -> action | None`, imported and
  called in the worker of the participant who clicked. Its action, not the click, goes through the
  lockstep, so peers never call it and need not agree on it.

A click whose action the agent's action mask forbids does nothing, like a masked key. An action outside the
agent's action space, or a function that raises or returns something that is not an action, is an error
(`PointerError`) that names the reference or the cell and the click.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from mug.client.host import as_action
from mug.refs import RefError, resolve_ref

Click = Sequence[float]  # (x, y, width, height) in surface coordinates
Legal = Callable[[Any], bool]


class PointerError(ValueError):
    """A pointer spec is malformed, or a click mapped to something that is not an action of the agent."""


def _plain(value: Any) -> Any:
    """A JSON-able copy of an action (numpy scalars and arrays become Python numbers and lists), or raise
    TypeError for a value that is not one."""
    if isinstance(value, np.generic):
        value = value.item()
    elif isinstance(value, np.ndarray):
        value = value.tolist()
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"{value} is not a finite number")
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    raise TypeError(f"a {type(value).__name__} is not an action")


class PointerMapper:
    """Maps the clicks of one frame to a move.

    Args:
        spec: the scene's pointer spec (see the module docstring).

    Raises:
        PointerError: the spec is malformed, or the function cannot be imported.
    """

    def __init__(self, spec: Mapping[str, Any]) -> None:
        kind = spec.get("kind") if isinstance(spec, Mapping) else None
        self.kind = kind
        self.ref = ""
        self._fn: Callable[..., Any] | None = None
        if kind == "grid":
            rows, cols, actions = spec.get("rows"), spec.get("cols"), spec.get("actions")
            if not (isinstance(rows, int) and isinstance(cols, int) and rows >= 1 and cols >= 1):
                raise PointerError(f"pointer grid: rows and cols must be whole numbers >= 1, not {rows!r}, {cols!r}")
            if not isinstance(actions, list) or len(actions) != rows * cols:
                raise PointerError(f"pointer grid: {rows} x {cols} cells need {rows * cols} actions, row by row")
            self.rows, self.cols, self.actions = rows, cols, list(actions)
        elif kind == "function":
            self.ref = str(spec.get("ref"))
            try:
                self._fn = resolve_ref(self.ref, "pointer")
            except RefError as exc:
                raise PointerError(str(exc)) from exc
        else:
            raise PointerError(f"pointer: {spec!r} is neither a grid nor a function (kind 'grid' or 'function')")

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any] | None) -> PointerMapper | None:
        """The mapper of a scene's pointer spec, or None for a scene without pointer input."""
        return None if spec is None else cls(spec)

    def map(self, click: Click, space: Any = None) -> tuple[bool, Any]:
        """Map one click to (True, action), or (False, None) when it does nothing (outside the surface, a
        `None` cell or a `None` return).

        Args:
            click: (x, y, width, height) in surface coordinates.
            space: the agent's action space; an action outside it is an error.

        Raises:
            PointerError: the function raised or returned something that is not an action of `space`.
        """
        try:
            x, y, width, height = (float(v) for v in click)
        except (TypeError, ValueError):
            return False, None  # not a click the page makes: ignore it rather than stop the game
        if not (width > 0 and height > 0 and 0 <= x < width and 0 <= y < height):
            return False, None
        where = f"a click at ({x:g}, {y:g}) on the {width:g} x {height:g} surface"
        if self._fn is None:
            row, col = min(int(y * self.rows / height), self.rows - 1), min(int(x * self.cols / width), self.cols - 1)
            action = self.actions[row * self.cols + col]
            what = f"pointer grid cell (row {row}, col {col})"
        else:
            what = f"pointer {self.ref!r}"
            try:
                raw = self._fn(x, y, width, height)
            except Exception as exc:
                raise PointerError(f"{what} raised {type(exc).__name__}: {exc} for {where}") from exc
            try:
                action = _plain(raw)
            except TypeError as exc:
                raise PointerError(
                    f"{what} returned {raw!r} for {where} ({exc}): return an action (e.g. an int for a Discrete "
                    "space) or None for no action"
                ) from None
        if action is None:
            return False, None
        if space is not None and not _contains(space, action):
            raise PointerError(f"{what} gave action {action!r} for {where}, which is not in the action space {space}")
        return True, action

    def move(self, clicks: Sequence[Click], legal: Legal | None = None, space: Any = None) -> tuple[bool, Any]:
        """The move of this frame's clicks: the most recent one whose action the mask allows, or (False, None)."""
        for click in reversed(clicks):
            found, action = self.map(click, space)
            if found and (legal is None or legal(action)):
                return True, action
        return False, None


def _contains(space: Any, action: Any) -> bool:
    try:
        return bool(space.contains(as_action(space, action)))
    except (TypeError, ValueError):
        return False
