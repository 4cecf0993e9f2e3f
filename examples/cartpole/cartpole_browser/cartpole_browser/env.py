"""Gymnasium's own `CartPole-v1`, made playable in the browser without touching the environment.

Gymnasium's classic-control environments draw with pygame, which does not exist in Pyodide, so their
`render_mode="rgb_array"` cannot work in a participant's browser. Two small wrappers fix that:

- `SurfaceCartPole` replaces `render()`: it reads the simulation state (`env.unwrapped.state`) and draws cart,
  pole and track on a `mug.rendering.Surface`. The same pattern works for any classic-control environment
  (MountainCar: `state` is (position, velocity); Acrobot: two link angles; Pendulum: the angle): draw the
  state, never call the wrapped env's own `render()`.
- `CoastAction` adds a third action, "no push", for human players. CartPole-v1 only has "push left" and
  "push right", so a participant who lets go of the keys would still push the cart. Coasting runs one step
  with `force_mag` set to 0 and then restores it; the physics are Gymnasium's, unchanged.

The underlying environment is created without a render mode, so pygame is never imported.
"""

from __future__ import annotations

import math
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from mug.rendering import Surface

PUSH_LEFT, PUSH_RIGHT, COAST = 0, 1, 2
WIDTH, HEIGHT = 600, 400
SCALE = 100.0  # pixels per metre: the track (+-2.4 m) spans x = 60..540
RAIL_Y = 300.0
CART_W, CART_H = 64.0, 28.0
POLE_W = 10.0


class CoastAction(gym.Wrapper[np.ndarray, Any, np.ndarray, Any], gym.utils.RecordConstructorArgs):
    """Add action 2, "no push", to CartPole's two actions (0 push left, 1 push right).

    Args:
        env: a CartPole environment (possibly wrapped, as `gymnasium.make` returns it).
    """

    def __init__(self, env: gym.Env[np.ndarray, Any]) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)  # so the wrapped env can be recreated from its spec
        gym.Wrapper.__init__(self, env)
        self.action_space = gym.spaces.Discrete(3)

    def step(self, action: Any) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        a = int(action)
        if a not in (PUSH_LEFT, PUSH_RIGHT, COAST):
            raise ValueError(f"cartpole: action must be 0 (push left), 1 (push right) or 2 (coast), got {action!r}")
        if a != COAST:
            return self.env.step(a)
        cartpole: Any = self.env.unwrapped
        saved = cartpole.force_mag
        cartpole.force_mag = 0.0
        try:
            return self.env.step(PUSH_LEFT)
        finally:
            cartpole.force_mag = saved


class SurfaceCartPole(gym.Wrapper[np.ndarray, Any, np.ndarray, Any], gym.utils.RecordConstructorArgs):
    """Draw CartPole on a `mug.rendering.Surface` instead of with pygame.

    Args:
        env: a CartPole environment (possibly wrapped). Its own `render()` is never called.
    """

    def __init__(self, env: gym.Env[np.ndarray, Any]) -> None:
        gym.utils.RecordConstructorArgs.__init__(self)
        gym.Wrapper.__init__(self, env)
        # It draws a Surface whatever the render mode, which is none of Gymnasium's modes; the wrapped
        # CartPole is made without a render mode, so pygame is never needed
        self.metadata = {**env.metadata, "render_modes": []}
        self._steps = 0
        self._last_action: int | None = None
        self._ended: str | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        self._steps, self._last_action, self._ended = 0, None, None
        return self.env.reset(seed=seed, options=options)

    def step(self, action: Any) -> tuple[np.ndarray, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._steps += 1
        self._last_action = int(action)
        if terminated:
            off_track = abs(float(obs[0])) > self._cartpole.x_threshold
            self._ended = "The cart left the track" if off_track else "The pole fell"
        elif truncated:
            self._ended = f"Balanced for {self._steps} steps!"
        return obs, reward, terminated, truncated, info

    @property
    def _cartpole(self) -> Any:
        return self.env.unwrapped

    def render(self) -> Surface:  # type: ignore[override]
        """Draw track, cart and pole from the simulation state on a 600 x 400 Surface."""
        cp = self._cartpole
        if cp.state is None:
            raise RuntimeError("cartpole: call reset() before render()")
        x, _, theta, _ = (float(v) for v in cp.state)
        limit_x, limit_theta = float(cp.x_threshold), float(cp.theta_threshold_radians)
        s = Surface(WIDTH, HEIGHT, background="#0f172a")
        s.clear()

        # Sky and floor.
        for i in range(8):
            shade = 23 + 4 * i
            s.rect(0, i * 40, WIDTH, 40, (shade, shade + 10, shade + 30))
        s.rect(0, RAIL_Y + 24, WIDTH, HEIGHT, "#1e293b")
        s.line(0, RAIL_Y + 24, WIDTH, RAIL_Y + 24, "#334155", width=2)

        # The track: danger zones near the ends, distance marks every half metre, end stops.
        left, right = WIDTH / 2 - limit_x * SCALE, WIDTH / 2 + limit_x * SCALE
        s.rect(left, RAIL_Y - 5, 0.5 * SCALE, 10, "#ef444480")
        s.rect(right - 0.5 * SCALE, RAIL_Y - 5, 0.5 * SCALE, 10, "#ef444480")
        s.line(left, RAIL_Y, right, RAIL_Y, "#94a3b8", width=4)
        for k in range(-4, 5):
            mx = WIDTH / 2 + k * 0.5 * SCALE
            s.line(mx, RAIL_Y + 26, mx, RAIL_Y + (36 if k % 2 == 0 else 31), "#64748b", width=2)
            if k % 2 == 0:
                s.text(f"{k * 0.5:+.0f} m" if k else "0", mx, RAIL_Y + 40, "#64748b", size=12, align="center")
        for end in (left, right):
            s.rect(end - 4, RAIL_Y - 22, 8, 30, "#ef4444", radius=2)

        # The cart, its wheels, and the allowed lean (a green wedge the pole must stay inside).
        cx, cy = WIDTH / 2 + x * SCALE, RAIL_Y - CART_H / 2 - 8
        hinge_y = cy - CART_H / 2 + 4
        up = -math.pi / 2
        s.arc(
            cx, hinge_y, 2 * float(cp.length) * SCALE + 14, up - limit_theta, up + limit_theta, "#22c55e30", fill=True
        )
        for wx in (cx - CART_W / 3, cx + CART_W / 3):
            s.circle(wx, RAIL_Y - 6, 8, "#0f172a")
            s.circle(wx, RAIL_Y - 6, 3, "#cbd5e1")
        s.rect(cx - CART_W / 2, cy - CART_H / 2, CART_W, CART_H, "#f59e0b", radius=6)
        s.rect(cx - CART_W / 2, cy - CART_H / 2, CART_W, CART_H, "#b45309", fill=False, width=2, radius=6)

        # The push: an arrow on the side the force comes from.
        if self._last_action in (PUSH_LEFT, PUSH_RIGHT) and self._ended is None:
            d = 1 if self._last_action == PUSH_RIGHT else -1
            bx = cx - d * (CART_W / 2 + 6)
            s.polygon([(bx, cy), (bx - d * 14, cy - 9), (bx - d * 14, cy + 9)], "#fde68a")

        # The pole: a rotated bar from the hinge; theta > 0 leans right.
        length = 2 * float(cp.length) * SCALE
        ux, uy = math.sin(theta), -math.cos(theta)  # along the pole
        px, py = -uy * POLE_W / 2, ux * POLE_W / 2  # across it
        tip = (cx + ux * length, hinge_y + uy * length)
        s.polygon(
            [(cx + px, hinge_y + py), (tip[0] + px, tip[1] + py), (tip[0] - px, tip[1] - py), (cx - px, hinge_y - py)],
            "#e2e8f0",
        )
        s.circle(tip[0], tip[1], POLE_W / 2, "#e2e8f0")
        s.circle(cx, hinge_y, 6, "#475569")
        s.circle(cx, hinge_y, 2.5, "#cbd5e1")

        # Heads-up display: steps and a lean gauge.
        limit = self.spec_limit
        steps = f"Step {self._steps}" + (f" / {limit}" if limit else "")
        s.text(steps, 14, 12, "#e2e8f0", size=18, bold=True)
        s.text("\u2190 \u2192 push the cart, keep the pole up", 14, 36, "#94a3b8", size=13)
        gx, gy, gr = WIDTH - 70, 58, 40
        s.arc(gx, gy, gr, up - limit_theta * 4, up + limit_theta * 4, "#334155", width=8)
        s.arc(gx, gy, gr, up - limit_theta, up + limit_theta, "#22c55e", width=8)
        needle = up + max(-1.0, min(1.0, theta / (4 * limit_theta))) * 4 * limit_theta
        s.line(gx, gy, gx + math.cos(needle) * (gr + 6), gy + math.sin(needle) * (gr + 6), "#f8fafc", width=2)
        s.text(f"lean {math.degrees(theta):+.1f}\u00b0", gx, gy + 8, "#94a3b8", size=12, align="center")

        if self._ended is not None:
            s.rect(0, 84, WIDTH, 56, "#0f172acc")
            color = "#4ade80" if self._ended.startswith("Balanced") else "#f87171"
            s.text(self._ended, WIDTH / 2, 112, color, size=30, bold=True, align="center", baseline="middle")
        return s

    @property
    def spec_limit(self) -> int | None:
        """The episode step limit of the wrapped env (500 for CartPole-v1), if it has one."""
        spec = self.env.spec
        return None if spec is None else spec.max_episode_steps


def make_env(render_mode: str | None = None, coast: bool = True, **kwargs: Any) -> gym.Env[np.ndarray, Any]:
    """Make `CartPole-v1` with browser rendering.

    Args:
        render_mode: ignored (MUG passes "rgb_array"); frames are always `Surface`s.
        coast: add action 2, "no push" (see `CoastAction`); False keeps CartPole's two actions.
        kwargs: passed to `gymnasium.make("CartPole-v1", ...)`, e.g. `max_episode_steps`.

    Returns:
        The wrapped environment: actions 0 push left, 1 push right (and 2 coast).
    """
    env: gym.Env[np.ndarray, Any] = gym.make("CartPole-v1", **kwargs)
    if coast:
        env = CoastAction(env)
    return SurfaceCartPole(env)
