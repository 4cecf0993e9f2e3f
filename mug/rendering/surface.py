"""`Surface`: a draw list an environment returns from `render()`, drawn on the participant's canvas.

The environment calls drawing methods on a `Surface` of `width` x `height` pixels; `to_commands()` gives the
JSON-able list the browser's `renderer.js` draws, in order, scaled to the scene's canvas. Nothing is
rasterised in Python, so a frame costs a few hundred bytes instead of a full image.

Coordinates are pixels of the surface, origin top left, y down. Any call takes `relative=True` to give
coordinates as fractions of the surface instead (x and widths times `width`, y and heights times `height`,
radii and text sizes times `min(width, height)`); they are converted to pixels when the call is made, so the
commands are always in pixels. Line widths (`width`) are always pixels.

Colors are `"#rrggbb"`, `"#rrggbbaa"` or an `(r, g, b)` / `(r, g, b, a)` tuple of 0-255 ints; commands
always carry them as lowercase `"#rrggbb"` or `"#rrggbbaa"`.

Command format (`to_commands()`; every command is a dict with `op`; numbers are floats or ints in pixels,
angles in radians, clockwise from the positive x axis as on a canvas):

- `{"op": "fill", "color"}`: paint the whole surface (the background). `clear()` is `fill` with the
  surface's background color.
- `{"op": "rect", "x", "y", "w", "h", "color", "fill": bool, "width", "radius"}`: a rectangle with its top
  left corner at (x, y); `fill` false draws the outline `width` px wide; `radius` > 0 rounds the corners.
- `{"op": "circle", "x", "y", "r", "color", "fill", "width"}`: a circle centred at (x, y).
- `{"op": "ellipse", "x", "y", "rx", "ry", "rotation", "color", "fill", "width"}`: centred at (x, y).
- `{"op": "arc", "x", "y", "r", "start", "end", "color", "fill", "width"}`: an arc of the circle at (x, y)
  from angle `start` to `end`; with `fill` a pie slice.
- `{"op": "line", "points": [[x, y], ...], "color", "width"}`: a polyline through two or more points.
- `{"op": "polygon", "points": [[x, y], ...], "color", "fill", "width"}`: a closed polygon.
- `{"op": "text", "x", "y", "text", "color", "size", "font", "align", "baseline", "bold"}`: `size` px,
  `font` a CSS family, `align` "left" | "center" | "right" (relative to x), `baseline` "top" | "middle" |
  "alphabetic" | "bottom" (relative to y).
- `{"op": "image", "src", "x", "y", "w", "h", "frame": [sx, sy, sw, sh] | null}`: the image `src` drawn into
  the box; `frame` crops a sprite-sheet cell first. `src` names a file of the scene's `assets` folder by
  its path in it (`"cat.png"`, `"sprites/cat.png"`; an `"assets/"` prefix may be written too), which the
  page resolves to its content-versioned URL and preloads before the game starts (`mug.server.assets`);
  any other `src` is a URL (relative URLs resolve against the page). An image that is still loading is
  skipped for that frame.

The browser receives a frame as `{"kind": "draw", "width", "height", "commands"}` (see `payload()`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Color = str | Sequence[int]
Point = tuple[float, float]


@dataclass(frozen=True)
class SpriteSheet:
    """A sprite sheet: an image cut into equal cells, numbered row by row from 0."""

    src: str
    frame_width: int
    frame_height: int
    columns: int

    def frame(self, index: int) -> list[int]:
        """Return `[sx, sy, sw, sh]` of cell `index`."""
        if index < 0:
            raise ValueError(f"sprite frame index must be >= 0, got {index}")
        row, col = divmod(index, self.columns)
        return [col * self.frame_width, row * self.frame_height, self.frame_width, self.frame_height]


def _paint(color: Color, fill: bool, width: float) -> dict[str, Any]:
    """The fields every shape command carries: its color, whether it is filled, the outline width."""
    return {"color": color_hex(color), "fill": bool(fill), "width": float(width)}


def color_hex(color: Color) -> str:
    """Return a color as lowercase `#rrggbb` or `#rrggbbaa`, or raise ValueError saying what is wrong."""
    if isinstance(color, str):
        text = color.lower()
        if text.startswith("#") and len(text) in (7, 9) and all(c in "0123456789abcdef" for c in text[1:]):
            return text
        raise ValueError(f"color {color!r}: use '#rrggbb', '#rrggbbaa' or an (r, g, b) tuple of 0-255")
    parts = [int(c) for c in color]
    if len(parts) not in (3, 4) or not all(0 <= c <= 255 for c in parts):
        raise ValueError(f"color {tuple(color)!r}: use an (r, g, b) or (r, g, b, a) tuple of 0-255 ints")
    return "#" + "".join(f"{c:02x}" for c in parts)


class Surface:
    """A `width` x `height` pixel drawing surface recorded as a list of commands.

    Args:
        width: surface width in pixels (the browser scales it to the canvas).
        height: surface height in pixels.
        background: color used by `clear()`.

    Example:
        >>> s = Surface(200, 100)
        >>> s.clear()
        >>> s.circle(0.5, 0.5, 0.1, "#ff0000", relative=True)
        >>> s.to_commands()[1]["op"]
        'circle'
    """

    def __init__(self, width: int, height: int, background: Color = "#000000") -> None:
        if width <= 0 or height <= 0:
            raise ValueError(f"Surface size must be positive, got {width} x {height}")
        self.width = int(width)
        self.height = int(height)
        self.background = color_hex(background)
        self._commands: list[dict[str, Any]] = []
        self._sheets: dict[str, SpriteSheet] = {}

    # -- coordinate helpers
    def _x(self, v: float, rel: bool) -> float:
        return float(v) * self.width if rel else float(v)

    def _y(self, v: float, rel: bool) -> float:
        return float(v) * self.height if rel else float(v)

    def _len(self, v: float, rel: bool) -> float:
        return float(v) * min(self.width, self.height) if rel else float(v)

    def _points(self, points: Sequence[Sequence[float]], rel: bool, least: int) -> list[list[float]]:
        pts = [[self._x(p[0], rel), self._y(p[1], rel)] for p in points]
        if len(pts) < least:
            raise ValueError(f"need at least {least} points, got {len(pts)}")
        return pts

    def _add(self, op: str, **fields: Any) -> None:
        self._commands.append({"op": op, **fields})

    # -- drawing
    def clear(self) -> None:
        """Forget earlier commands and paint the background."""
        self._commands.clear()
        self.fill(self.background)

    def fill(self, color: Color) -> None:
        """Paint the whole surface with `color`."""
        self._add("fill", color=color_hex(color))

    def rect(
        self,
        x: float,
        y: float,
        w: float,
        h: float,
        color: Color,
        *,
        fill: bool = True,
        width: float = 1,
        radius: float = 0,
        relative: bool = False,
    ) -> None:
        """A rectangle with its top left corner at (x, y)."""
        r = relative
        self._add(
            "rect",
            x=self._x(x, r),
            y=self._y(y, r),
            w=self._x(w, r),
            h=self._y(h, r),
            color=color_hex(color),
            fill=bool(fill),
            width=float(width),
            radius=self._len(radius, r),
        )

    def circle(
        self,
        x: float,
        y: float,
        radius: float,
        color: Color,
        *,
        fill: bool = True,
        width: float = 1,
        relative: bool = False,
    ) -> None:
        """A circle centred at (x, y)."""
        r = relative
        self._add(
            "circle",
            x=self._x(x, r),
            y=self._y(y, r),
            r=self._len(radius, r),
            **_paint(color, fill, width),
        )

    def ellipse(
        self,
        x: float,
        y: float,
        rx: float,
        ry: float,
        color: Color,
        *,
        rotation: float = 0.0,
        fill: bool = True,
        width: float = 1,
        relative: bool = False,
    ) -> None:
        """An ellipse centred at (x, y) with radii rx, ry, rotated by `rotation` radians."""
        r = relative
        self._add(
            "ellipse",
            x=self._x(x, r),
            y=self._y(y, r),
            rx=self._x(rx, r),
            ry=self._y(ry, r),
            rotation=float(rotation),
            **_paint(color, fill, width),
        )

    def arc(
        self,
        x: float,
        y: float,
        radius: float,
        start: float,
        end: float,
        color: Color,
        *,
        fill: bool = False,
        width: float = 1,
        relative: bool = False,
    ) -> None:
        """An arc from angle `start` to `end` (radians); with `fill=True` a pie slice."""
        r = relative
        self._add(
            "arc",
            x=self._x(x, r),
            y=self._y(y, r),
            r=self._len(radius, r),
            start=float(start),
            end=float(end),
            **_paint(color, fill, width),
        )

    def line(
        self,
        x1: float,
        y1: float,
        x2: float,
        y2: float,
        color: Color,
        *,
        width: float = 1,
        relative: bool = False,
    ) -> None:
        """A straight line from (x1, y1) to (x2, y2)."""
        self.polyline([(x1, y1), (x2, y2)], color, width=width, relative=relative)

    def polyline(
        self, points: Sequence[Sequence[float]], color: Color, *, width: float = 1, relative: bool = False
    ) -> None:
        """A line through two or more points."""
        self._add("line", points=self._points(points, relative, 2), color=color_hex(color), width=float(width))

    def polygon(
        self,
        points: Sequence[Sequence[float]],
        color: Color,
        *,
        fill: bool = True,
        width: float = 1,
        relative: bool = False,
    ) -> None:
        """A closed polygon through three or more points."""
        self._add(
            "polygon",
            points=self._points(points, relative, 3),
            **_paint(color, fill, width),
        )

    def text(
        self,
        text: str,
        x: float,
        y: float,
        color: Color = "#ffffff",
        *,
        size: float = 16,
        font: str = "sans-serif",
        align: str = "left",
        baseline: str = "top",
        bold: bool = False,
        relative: bool = False,
    ) -> None:
        """Text anchored at (x, y) according to `align` and `baseline`."""
        if align not in ("left", "center", "right"):
            raise ValueError(f"text align {align!r}: use 'left', 'center' or 'right'")
        if baseline not in ("top", "middle", "alphabetic", "bottom"):
            raise ValueError(f"text baseline {baseline!r}: use 'top', 'middle', 'alphabetic' or 'bottom'")
        r = relative
        self._add(
            "text",
            x=self._x(x, r),
            y=self._y(y, r),
            text=str(text),
            color=color_hex(color),
            size=self._len(size, r),
            font=str(font),
            align=align,
            baseline=baseline,
            bold=bool(bold),
        )

    def register_sheet(self, name: str, src: str, frame_width: int, frame_height: int, columns: int) -> None:
        """Name a sprite sheet so `image(name, ..., frame=index)` picks cell `index` of it."""
        if frame_width <= 0 or frame_height <= 0 or columns <= 0:
            raise ValueError("sprite sheet frame_width, frame_height and columns must be positive")
        self._sheets[name] = SpriteSheet(src, int(frame_width), int(frame_height), int(columns))

    def image(
        self,
        name: str,
        x: float,
        y: float,
        w: float,
        h: float,
        *,
        frame: int | Sequence[int] | None = None,
        relative: bool = False,
    ) -> None:
        """Draw an image (an asset, a URL, or a sheet registered with `register_sheet`) into the box at (x, y).

        Args:
            name: a registered sheet name, a file of the scene's `assets` folder (its path in the folder), or
                an image URL.
            frame: a cell index of a registered sheet, or an explicit `(sx, sy, sw, sh)` crop in image pixels.
        """
        sheet = self._sheets.get(name)
        src = sheet.src if sheet else name
        crop: list[int] | None
        if frame is None:
            crop = None
        elif isinstance(frame, int):
            if sheet is None:
                raise ValueError(f"image {name!r}: a frame index needs a sheet registered with register_sheet")
            crop = sheet.frame(frame)
        else:
            crop = [int(v) for v in frame]
            if len(crop) != 4:
                raise ValueError(f"image frame {tuple(frame)!r}: use (sx, sy, sw, sh)")
        r = relative
        self._add("image", src=src, x=self._x(x, r), y=self._y(y, r), w=self._x(w, r), h=self._y(h, r), frame=crop)

    # -- output
    def to_commands(self) -> list[dict[str, Any]]:
        """Return the commands drawn so far (copies, JSON-able), in drawing order."""
        return [dict(c) for c in self._commands]

    def payload(self) -> dict[str, Any]:
        """Return the frame as the browser receives it: `{"kind": "draw", "width", "height", "commands"}`."""
        return {"kind": "draw", "width": self.width, "height": self.height, "commands": self.to_commands()}
