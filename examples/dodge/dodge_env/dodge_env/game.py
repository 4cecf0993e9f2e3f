"""Dodge: steer a little ship left and right through a shower of falling asteroids.

A single-player Gymnasium environment written for the browser: `render()` returns a `mug.rendering.Surface`
(a list of draw commands the participant's canvas draws), so it needs neither pygame nor image files.

- Actions: `Discrete(3)`: 0 thrust left, 1 coast, 2 thrust right. The ship has a little inertia.
- Rewards: +1 for every asteroid that falls past the ship, +5 for an energy crystal caught, -5 for a hit.
- Episode: a hit costs one of `lives` ships (then a short invulnerability); the episode terminates when none
  is left, and is truncated after `max_steps` steps if given (a MUG scene usually sets its own limit).
- Observation: float32 `Box(-2, 2, (27,))`: ship x (0..1), ship speed (-1..1), lives left (0..1),
  invulnerability left (0..1), then the `OBS_ROCKS` lowest asteroids as (x, y, radius, fall speed) (x, y,
  radius as fractions of the width/height; -1, -1, 0, 0 when there is no such asteroid), then the crystal
  as (x, y, present).

Determinism: everything random comes from the generator seeded by `reset(seed=...)`, and the game state only
uses +, -, *, / and comparisons on floats, which give the same bits in CPython and in Pyodide. The sines and
cosines (rotating asteroids, tilting the ship) are only used to draw, never in the observation, because
libm implementations may differ in the last bit between platforms.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from mug.rendering import Surface

LEFT, COAST, RIGHT = 0, 1, 2
WIDTH, HEIGHT = 600, 400  # the game world, in surface pixels
SHIP_Y = HEIGHT - 52.0  # centre of the ship
SHIP_HALF = 17.0  # half the wing span: how close the ship gets to the walls
SHIP_HIT_R = 13.0  # the ship's hit circle (a little smaller than it looks: near misses feel fair)
ACCEL = 1.5  # px/step^2 of thrust
FRICTION = 0.85  # speed kept per step: top speed ACCEL * FRICTION / (1 - FRICTION), about 8.5 px/step
MAX_SPEED = ACCEL * FRICTION / (1 - FRICTION)
INVULNERABLE_STEPS = 60
OBS_ROCKS = 5
CRYSTAL_R = 11.0
REWARD_DODGE, REWARD_CRYSTAL, REWARD_HIT = 1.0, 5.0, -5.0

ROCK_COLORS = (("#8d8478", "#5b534b", "#b9afa2"), ("#7d6a5c", "#4d3f35", "#a8927f"), ("#6f7682", "#454b55", "#9ea5b1"))
DEBRIS = [(math.cos(2 * math.pi * k / 9), math.sin(2 * math.pi * k / 9)) for k in range(9)]


@dataclass
class Rock:
    x: float
    y: float
    r: float
    vx: float
    vy: float
    spin: float  # radians per step, drawing only
    shape: list[float]  # radius factor of each polygon corner
    craters: list[tuple[float, float, float]]  # (angle, distance, size) as fractions of r
    color: int


@dataclass
class Star:
    x: float
    y: float
    size: float
    phase: int


@dataclass
class Burst:
    x: float
    y: float
    age: int = 0
    color: str = "#ffb347"


@dataclass
class State:
    x: float = WIDTH / 2
    vx: float = 0.0
    lives: int = 3
    invulnerable: int = 0
    steps: int = 0
    score: float = 0.0
    dodged: int = 0
    crystals: int = 0
    rock_timer: int = 30
    crystal_timer: int = 200
    rocks: list[Rock] = field(default_factory=list)
    crystal: tuple[float, float] | None = None
    stars: list[Star] = field(default_factory=list)
    bursts: list[Burst] = field(default_factory=list)


class DodgeEnv(gym.Env[np.ndarray, np.int64]):
    """Dodge falling asteroids, catch energy crystals.

    Args:
        render_mode: accepted for Gymnasium compatibility; `render()` always returns a `Surface`.
        lives: ships per episode.
        max_steps: truncate the episode after this many steps (None: only the scene's limit applies).
        difficulty: scales how often asteroids come and how fast they fall (1.0 normal).
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(
        self, render_mode: str | None = None, lives: int = 3, max_steps: int | None = None, difficulty: float = 1.0
    ) -> None:
        if lives < 1:
            raise ValueError(f"lives must be at least 1, got {lives}")
        if difficulty <= 0:
            raise ValueError(f"difficulty must be positive, got {difficulty}")
        self.render_mode = render_mode
        self.lives = int(lives)
        self.max_steps = None if max_steps is None else int(max_steps)
        self.difficulty = float(difficulty)
        self.action_space = gym.spaces.Discrete(3)
        self.observation_space = gym.spaces.Box(-2.0, 2.0, shape=(4 + 4 * OBS_ROCKS + 3,), dtype=np.float32)
        self._s: State | None = None

    # -- Gymnasium API ---------------------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        rng = self.np_random
        stars = [
            Star(
                float(rng.uniform(0, WIDTH)),
                float(rng.uniform(0, HEIGHT)),
                float(rng.choice([0.7, 1.0, 1.4, 2.0])),
                int(rng.integers(0, 60)),
            )
            for _ in range(55)
        ]
        self._s = State(lives=self.lives, stars=stars)
        return self._obs(), self._info()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        s = self._require()
        a = int(action)
        if a not in (LEFT, COAST, RIGHT):
            raise ValueError(f"dodge: action must be 0 (left), 1 (coast) or 2 (right), got {action!r}")
        s.steps += 1
        reward = 0.0

        # The ship: thrust, friction, walls.
        s.vx = (s.vx + (a - 1) * ACCEL) * FRICTION
        s.x += s.vx
        if s.x < SHIP_HALF or s.x > WIDTH - SHIP_HALF:
            s.x = min(WIDTH - SHIP_HALF, max(SHIP_HALF, s.x))
            s.vx = 0.0
        if s.invulnerable > 0:
            s.invulnerable -= 1

        self._spawn(s)

        # Asteroids fall; those past the bottom count as dodged.
        kept: list[Rock] = []
        for rock in s.rocks:
            rock.x += rock.vx
            rock.y += rock.vy
            if rock.x < rock.r or rock.x > WIDTH - rock.r:  # bounce off the side walls
                rock.vx = -rock.vx
            if rock.y - rock.r > HEIGHT:
                s.dodged += 1
                reward += REWARD_DODGE
                continue
            reach = rock.r * 0.85 + SHIP_HIT_R
            dx, dy = rock.x - s.x, rock.y - SHIP_Y
            if dx * dx + dy * dy < reach * reach:
                s.bursts.append(Burst(rock.x, rock.y))
                if s.invulnerable == 0:
                    s.lives -= 1
                    s.invulnerable = INVULNERABLE_STEPS
                    reward += REWARD_HIT
                    s.bursts.append(Burst(s.x, SHIP_Y, color="#ff5d5d"))
                continue
            kept.append(rock)
        s.rocks = kept

        # The crystal drifts down; catch it for a bonus.
        if s.crystal is not None:
            cx, cy = s.crystal[0], s.crystal[1] + 1.6
            dx, dy = cx - s.x, cy - SHIP_Y
            reach = CRYSTAL_R + SHIP_HIT_R + 4
            if dx * dx + dy * dy < reach * reach:
                s.crystals += 1
                reward += REWARD_CRYSTAL
                s.bursts.append(Burst(cx, cy, color="#5ef2ff"))
                s.crystal = None
            else:
                s.crystal = (cx, cy) if cy - CRYSTAL_R < HEIGHT else None

        # Decorations (drawn only, but part of the seeded state like everything else).
        for star in s.stars:
            star.y += 0.15 * star.size
            if star.y > HEIGHT:
                star.y -= HEIGHT
        for burst in s.bursts:
            burst.age += 1
        s.bursts = [b for b in s.bursts if b.age < 24]

        s.score += reward
        terminated = s.lives <= 0
        truncated = not terminated and self.max_steps is not None and s.steps >= self.max_steps
        return self._obs(), reward, terminated, truncated, self._info()

    def render(self) -> Surface:  # type: ignore[override]  # MUG draws Surfaces, not only arrays
        """Draw the current state on a 600 x 400 `Surface`."""
        s = self._require()
        surf = Surface(WIDTH, HEIGHT, background="#060a1c")
        surf.clear()
        self._draw_sky(surf, s)
        if s.crystal is not None:
            self._draw_crystal(surf, s.crystal[0], s.crystal[1], s.steps)
        for rock in s.rocks:
            self._draw_rock(surf, rock, s.steps)
        for burst in s.bursts:
            self._draw_burst(surf, burst)
        if s.lives > 0 and not (s.invulnerable > 0 and (s.invulnerable // 4) % 2 == 1):
            self._draw_ship(surf, s.x, SHIP_Y, s.vx, s.steps, s.invulnerable > 0)
        self._draw_hud(surf, s)
        return surf

    def close(self) -> None:
        self._s = None

    # -- game logic -----------------------------------------------------------------------------------------
    def _require(self) -> State:
        if self._s is None:
            raise RuntimeError("dodge: call reset() before step() or render()")
        return self._s

    def level(self) -> float:
        """How far the difficulty has ramped up: 1.0 at the start, 2.0 after 1500 steps (50 s at 30 fps)."""
        s = self._require()
        return 1.0 + min(1.0, s.steps / 1500)

    def _spawn(self, s: State) -> None:
        rng = self.np_random
        level = self.level() * self.difficulty
        s.rock_timer -= 1
        if s.rock_timer <= 0:
            r = float(rng.uniform(12.0, 30.0))
            corners = int(rng.integers(7, 11))
            s.rocks.append(
                Rock(
                    x=float(rng.uniform(r, WIDTH - r)),
                    y=-r,
                    r=r,
                    vx=float(rng.uniform(-0.6, 0.6)),
                    vy=float(rng.uniform(2.0, 3.6)) * level,
                    spin=float(rng.uniform(-0.05, 0.05)),
                    shape=[float(v) for v in rng.uniform(0.78, 1.08, size=corners)],
                    craters=[
                        (float(rng.uniform(0, 6.283)), float(rng.uniform(0.1, 0.5)), float(rng.uniform(0.12, 0.22)))
                        for _ in range(int(rng.integers(1, 4)))
                    ],
                    color=int(rng.integers(len(ROCK_COLORS))),
                )
            )
            gap = rng.integers(14, 31)
            s.rock_timer = max(5, int(gap / level))
        s.crystal_timer -= 1
        if s.crystal_timer <= 0:
            if s.crystal is None:
                s.crystal = (float(rng.uniform(40.0, WIDTH - 40.0)), -CRYSTAL_R)
            s.crystal_timer = int(rng.integers(180, 330))

    def _obs(self) -> np.ndarray:
        s = self._require()
        values = [s.x / WIDTH, s.vx / MAX_SPEED, s.lives / self.lives, s.invulnerable / INVULNERABLE_STEPS]
        lowest = sorted(s.rocks, key=lambda r: -r.y)[:OBS_ROCKS]
        for i in range(OBS_ROCKS):
            if i < len(lowest):
                rock = lowest[i]
                values += [rock.x / WIDTH, rock.y / HEIGHT, rock.r / WIDTH, rock.vy / 10.0]
            else:
                values += [-1.0, -1.0, 0.0, 0.0]
        if s.crystal is None:
            values += [-1.0, -1.0, 0.0]
        else:
            values += [s.crystal[0] / WIDTH, s.crystal[1] / HEIGHT, 1.0]
        return np.array(values, dtype=np.float32)

    def _info(self) -> dict[str, Any]:
        s = self._require()
        return {"lives": s.lives, "dodged": s.dodged, "crystals": s.crystals, "score": s.score}

    # -- drawing --------------------------------------------------------------------------------------------
    @staticmethod
    def _draw_sky(surf: Surface, s: State) -> None:
        # A soft nebula and a ringed planet behind the stars.
        surf.ellipse(140, 120, 220, 70, "#3b1f6e30", rotation=-0.35)
        surf.ellipse(170, 140, 120, 40, "#7b3fa030", rotation=-0.35)
        surf.ellipse(470, 300, 200, 60, "#1f4b7a28", rotation=0.25)
        for star in s.stars:
            twinkle = (s.steps + star.phase) % 60
            alpha = 255 if twinkle > 8 else 110
            surf.circle(star.x, star.y, star.size, (220, 230, 255, alpha))
        surf.circle(515, 78, 36, "#c46f4a")
        surf.arc(515, 78, 36, math.pi * 0.55, math.pi * 1.45, "#8e4a32", fill=True)
        surf.ellipse(515, 70, 30, 6, "#e0a06f80", rotation=-0.2)
        surf.ellipse(515, 88, 26, 4, "#a65a3a90", rotation=-0.2)
        surf.circle(503, 64, 9, "#ffd2b040")
        surf.ellipse(515, 80, 64, 13, "#f1d3a8", rotation=-0.2, fill=False, width=3)

    @staticmethod
    def _draw_rock(surf: Surface, rock: Rock, steps: int) -> None:
        fill, dark, light = ROCK_COLORS[rock.color]
        turn = rock.spin * steps
        n = len(rock.shape)
        points = []
        for i, k in enumerate(rock.shape):
            ang = turn + 2 * math.pi * i / n
            points.append((rock.x + math.cos(ang) * rock.r * k, rock.y + math.sin(ang) * rock.r * k))
        surf.polygon(points, fill)
        for ang, dist, size in rock.craters:
            a = ang + turn
            surf.circle(rock.x + math.cos(a) * rock.r * dist, rock.y + math.sin(a) * rock.r * dist, rock.r * size, dark)
        surf.arc(rock.x, rock.y, rock.r * 0.7, math.pi * 1.05, math.pi * 1.5, light, width=2)
        surf.polygon(points, dark, fill=False, width=2)

    @staticmethod
    def _draw_crystal(surf: Surface, x: float, y: float, steps: int) -> None:
        pulse = 4 * abs((steps % 30) - 15) / 15
        surf.circle(x, y, CRYSTAL_R + 6 + pulse, "#5ef2ff26")
        surf.polygon(
            [(x, y - CRYSTAL_R * 1.3), (x + CRYSTAL_R * 0.8, y), (x, y + CRYSTAL_R * 1.3), (x - CRYSTAL_R * 0.8, y)],
            "#38d9f5",
        )
        surf.polygon([(x, y - CRYSTAL_R * 1.3), (x + CRYSTAL_R * 0.8, y), (x, y)], "#c9fbff")
        surf.polygon(
            [(x, y - CRYSTAL_R * 1.3), (x + CRYSTAL_R * 0.8, y), (x, y + CRYSTAL_R * 1.3), (x - CRYSTAL_R * 0.8, y)],
            "#e8feff",
            fill=False,
            width=1.5,
        )

    @staticmethod
    def _ship_points(
        x: float, y: float, tilt: float, scale: float, outline: Sequence[tuple[float, float]]
    ) -> list[tuple[float, float]]:
        c, s = math.cos(tilt), math.sin(tilt)
        return [(x + (px * c - py * s) * scale, y + (px * s + py * c) * scale) for px, py in outline]

    def _draw_ship(self, surf: Surface, x: float, y: float, vx: float, steps: int, shielded: bool) -> None:
        tilt = 0.35 * vx / MAX_SPEED
        flame = 9 + 5 * ((steps // 2) % 3)
        pts = self._ship_points
        surf.polygon(pts(x, y, tilt, 1, [(-5, 9), (5, 9), (0, 9 + flame)]), "#ff8c1a")
        surf.polygon(pts(x, y, tilt, 1, [(-3, 9), (3, 9), (0, 5 + flame * 0.7)]), "#ffe066")
        hull = [(0, -22), (6, -8), (17, 8), (17, 12), (6, 9), (0, 12), (-6, 9), (-17, 12), (-17, 8), (-6, -8)]
        surf.polygon(pts(x, y, tilt, 1, hull), "#e4e9f2")
        surf.polygon(pts(x, y, tilt, 1, [(6, -8), (17, 8), (17, 12), (6, 9)]), "#5b7bd5")
        surf.polygon(pts(x, y, tilt, 1, [(-6, -8), (-17, 8), (-17, 12), (-6, 9)]), "#5b7bd5")
        surf.polygon(pts(x, y, tilt, 1, hull), "#9fb4e8", fill=False, width=1.5)
        cx, cy = pts(x, y, tilt, 1, [(0, -6)])[0]
        surf.ellipse(cx, cy, 3.5, 7, "#38bdf8", rotation=tilt)
        surf.ellipse(cx - 1, cy - 2, 1.2, 3, "#e0f7ff", rotation=tilt)
        if shielded:
            surf.circle(x, y, 27, "#7aa2ff", fill=False, width=2)
            surf.circle(x, y, 27, "#7aa2ff22")

    @staticmethod
    def _draw_burst(surf: Surface, b: Burst) -> None:
        fade = max(0, 255 - b.age * 10)
        rgb = tuple(int(b.color[i : i + 2], 16) for i in (1, 3, 5))
        surf.circle(b.x, b.y, 6 + b.age * 2.2, (*rgb, fade), fill=False, width=3)
        if b.age < 8:
            surf.circle(b.x, b.y, 14 - b.age, (255, 245, 220, 230))
        for dx, dy in DEBRIS:
            d = 4 + b.age * 2.8
            surf.circle(b.x + dx * d, b.y + dy * d, max(1.0, 3.5 - b.age * 0.12), (*rgb, fade))

    def _draw_hud(self, surf: Surface, s: State) -> None:
        surf.rect(0, 0, WIDTH, 34, "#03061299")
        surf.text(f"SCORE {s.score:g}", 12, 8, "#f8fafc", size=18, bold=True, font="monospace")
        surf.text(f"dodged {s.dodged}  crystals {s.crystals}", 160, 10, "#9fb4e8", size=14, font="monospace")
        for i in range(self.lives):
            color = "#e4e9f2" if i < s.lives else "#39415a"
            cx = WIDTH - 20 - 26 * i
            surf.polygon([(cx, 8), (cx + 9, 26), (cx, 22), (cx - 9, 26)], color)
        speed = self.level() * self.difficulty
        surf.text(
            f"speed x{speed:.1f}", WIDTH - 20 - 26 * self.lives, 10, "#9fb4e8", size=14, align="right", font="monospace"
        )
        if s.lives <= 0:
            surf.rect(0, 0, WIDTH, HEIGHT, "#00000099")
            surf.text(
                "SHIP LOST",
                WIDTH / 2,
                HEIGHT / 2 - 18,
                "#ff6b6b",
                size=40,
                bold=True,
                align="center",
                baseline="middle",
            )
            surf.text(
                f"final score {s.score:g}",
                WIDTH / 2,
                HEIGHT / 2 + 24,
                "#f8fafc",
                size=20,
                align="center",
                baseline="middle",
            )


def make_env(**kwargs: Any) -> DodgeEnv:
    """Make the Dodge environment (keyword arguments as `DodgeEnv`)."""
    return DodgeEnv(**kwargs)
