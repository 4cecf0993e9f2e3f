"""Catch: move a paddle to catch falling fruit. The embedded demo game, drawn with `mug.rendering.Surface`.

Actions: Discrete(3): 0 left, 1 stay, 2 right. Reward +1 for a catch, -1 for a miss; the episode terminates
after `max_misses` misses. Observation: float32 array `[paddle_x, x0, y0, x1, y1, x2, y2, misses_left]`: the
paddle's centre and the three lowest fruit (x, y in 0..1, y down; -1 when there is no such fruit).
Everything random comes from the generator seeded by `reset(seed=...)`, so a seed and the actions fix the
whole episode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from mug.rendering import Surface

LEFT, STAY, RIGHT = 0, 1, 2
PADDLE_Y = 0.9  # top of the paddle, as a fraction of the height
FRUIT_R = 0.025  # fruit radius, fraction of the width
OBS_FRUIT = 3
COLORS = ("#ff5c5c", "#ffb84d", "#7ed957", "#b084f5", "#4dc3ff")


@dataclass
class Fruit:
    x: float
    y: float
    speed: float
    color: int


@dataclass
class CatchGame:
    """The shared game state: fruit falling onto one or more paddles (also used by `catch_duo`)."""

    rng: np.random.Generator
    paddles: list[float]
    paddle_w: float = 0.16
    paddle_speed: float = 0.025
    fruit: list[Fruit] = field(default_factory=list)
    countdown: int = 10
    steps: int = 0
    speed_min: float = 0.006
    speed_max: float = 0.011
    spawn_min: int = 18
    spawn_max: int = 40

    def move(self, index: int, action: int) -> None:
        if action not in (LEFT, STAY, RIGHT):
            raise ValueError(f"catch: action must be 0 (left), 1 (stay) or 2 (right), got {action!r}")
        half = self.paddle_w / 2
        x = self.paddles[index] + (action - 1) * self.paddle_speed
        self.paddles[index] = float(min(1 - half, max(half, x)))

    def advance(self) -> tuple[list[int], int]:
        """Move the fruit one step; return the catches per paddle and the number of misses."""
        self.steps += 1
        self.countdown -= 1
        if self.countdown <= 0:
            # Fruit get a little faster as the game goes on.
            boost = min(1.6, 1 + self.steps / 3000)
            self.fruit.append(
                Fruit(
                    x=float(self.rng.uniform(0.06, 0.94)),
                    y=0.0,
                    speed=float(self.rng.uniform(self.speed_min, self.speed_max) * boost),
                    color=int(self.rng.integers(len(COLORS))),
                )
            )
            self.countdown = int(self.rng.integers(self.spawn_min, self.spawn_max + 1))
        catches = [0] * len(self.paddles)
        misses = 0
        kept: list[Fruit] = []
        for f in self.fruit:
            f.y += f.speed
            if f.y + FRUIT_R < PADDLE_Y:
                kept.append(f)
                continue
            catcher = next((i for i, p in enumerate(self.paddles) if abs(f.x - p) <= self.paddle_w / 2 + FRUIT_R), None)
            if catcher is None:
                misses += 1
            else:
                catches[catcher] += 1
        self.fruit = kept
        return catches, misses

    def fruit_obs(self) -> list[float]:
        lowest = sorted(self.fruit, key=lambda f: -f.y)[:OBS_FRUIT]
        out: list[float] = []
        for i in range(OBS_FRUIT):
            out += [lowest[i].x, lowest[i].y] if i < len(lowest) else [-1.0, -1.0]
        return out

    def draw(self, s: Surface, paddle_colors: list[str], lines: list[str]) -> Surface:
        s.clear()
        w, h = s.width, s.height
        s.rect(0, PADDLE_Y + 0.04, 1, 1, "#243447", relative=True)
        for f in self.fruit:
            s.circle(f.x * w, f.y * h, FRUIT_R * w, COLORS[f.color])
            s.arc(f.x * w, f.y * h, FRUIT_R * w * 0.6, 3.6, 4.6, "#ffffff", width=2)
        for p, color in zip(self.paddles, paddle_colors, strict=True):
            s.rect((p - self.paddle_w / 2) * w, PADDLE_Y * h, self.paddle_w * w, 0.035 * h, color, radius=6)
        for i, line in enumerate(lines):
            s.text(line, 10, 8 + 22 * i, "#e8eef5", size=18, bold=i == 0)
        return s


class CatchEnv(gym.Env[np.ndarray, np.int64]):
    """Catch falling fruit with a paddle (single player)."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(
        self,
        render_mode: str | None = None,
        max_misses: int = 3,
        width: int = 600,
        height: int = 400,
        paddle_width: float = 0.16,
    ) -> None:
        self.render_mode = render_mode
        self.max_misses = int(max_misses)
        self.size = (int(width), int(height))
        self.paddle_width = float(paddle_width)
        self.action_space = gym.spaces.Discrete(3)
        self.observation_space = gym.spaces.Box(-1.0, 1.0, shape=(2 + 2 * OBS_FRUIT,), dtype=np.float32)
        self._game: CatchGame | None = None
        self._misses = 0
        self._caught = 0

    def _obs(self) -> np.ndarray:
        game = self._require()
        left = 1 - self._misses / self.max_misses
        return np.array([game.paddles[0], *game.fruit_obs(), left], dtype=np.float32)

    def _require(self) -> CatchGame:
        if self._game is None:
            raise RuntimeError("call reset() before step() or render()")
        return self._game

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self._game = CatchGame(rng=self.np_random, paddles=[0.5], paddle_w=self.paddle_width)
        self._misses = 0
        self._caught = 0
        return self._obs(), {"caught": 0, "missed": 0}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        game = self._require()
        game.move(0, int(action))
        catches, misses = game.advance()
        self._caught += catches[0]
        self._misses += misses
        reward = float(catches[0] - misses)
        terminated = self._misses >= self.max_misses
        return self._obs(), reward, terminated, False, {"caught": self._caught, "missed": self._misses}

    def render(self) -> Surface:  # type: ignore[override]  # MUG draws Surfaces; Gymnasium types arrays
        game = self._require()
        hearts = "\u2665" * max(0, self.max_misses - self._misses)
        lines = [f"Caught {self._caught}", f"Lives {hearts}"]
        return game.draw(Surface(*self.size, background="#0f1b2b"), ["#f5f5f5"], lines)


def make_env(**kwargs: Any) -> CatchEnv:
    """Make the Catch environment (keyword arguments as `CatchEnv`)."""
    return CatchEnv(**kwargs)
