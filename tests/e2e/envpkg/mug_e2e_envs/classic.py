"""PettingZoo's own tic-tac-toe (`pettingzoo.classic.tictactoe_v3`, which imports pygame), unchanged, drawn
with a `mug.rendering.Surface` by a wrapper: played with `GameScene(pygame_stub=True)`, since the browser
bundle has no pygame.

tictactoe_v3 numbers its squares column by column (0 3 6 / 1 4 7 / 2 5 8): `KEYS` maps the keys "1".."9",
row by row as on a keypad read left to right, top to bottom, to those actions.
"""

from __future__ import annotations

from pettingzoo.classic.tictactoe import tictactoe as tictactoe_v3  # tictactoe_v3 without its deprecation warning
from pettingzoo.utils.wrappers import BaseWrapper

from mug.rendering import Surface

KEYS = {str(3 * row + col + 1): 3 * col + row for row in range(3) for col in range(3)}
CELL = 90
COLORS = {1: "#e4572e", 2: "#29a8ab"}


class SurfaceBoard(BaseWrapper):  # type: ignore[misc]
    """Draws the board with a Surface instead of tictactoe_v3's pygame renderer."""

    def render(self) -> Surface:
        s = Surface(3 * CELL, 3 * CELL, background="#f0f0f0")
        s.clear()
        for i in (1, 2):
            s.line(i * CELL, 0, i * CELL, 3 * CELL, "#333333", width=3)
            s.line(0, i * CELL, 3 * CELL, i * CELL, "#333333", width=3)
        for square, mark in enumerate(self.unwrapped.board.squares):
            col, row = divmod(square, 3)
            if mark:
                s.circle(col * CELL + CELL / 2, row * CELL + CELL / 2, CELL / 3, COLORS[mark])
        return s


def make_env(render_mode: str | None = None) -> SurfaceBoard:
    return SurfaceBoard(tictactoe_v3.env())  # no render_mode: its pygame renderer is never called
