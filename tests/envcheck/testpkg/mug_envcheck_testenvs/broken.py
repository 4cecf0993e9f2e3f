"""Small environments broken on purpose, one per cause the env checker names (see `mug.envcheck.causes`).

Each is deterministic for its first three steps, so the first difference is at step 3.
"""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

FIRST_DIFFERENT_STEP = 3


class _Counter(gym.Env):  # type: ignore[misc]
    """Counts steps; subclasses compute the observation after the first three."""

    observation_space = spaces.Box(-1e9, 1e9, shape=(2,), dtype=np.float64)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(2), {}

    def value(self) -> float:
        raise NotImplementedError

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        self.t += 1
        noise = self.value() if self.t > FIRST_DIFFERENT_STEP else 0.0
        return np.array([float(self.t), noise]), 0.0, False, self.t >= 200, {}


class NumpyGlobalRandomEnv(_Counter):
    """Draws from numpy's global generator (`np.random.rand`), which reset(seed=...) never seeds."""

    def value(self) -> float:
        return float(np.random.rand())


class UnseededGeneratorEnv(_Counter):
    """Makes a generator without a seed (`np.random.default_rng()`: fresh entropy from the system)."""

    def value(self) -> float:
        return float(np.random.default_rng().random())


class ClockEnv(_Counter):
    """Reads the wall clock."""

    def value(self) -> float:
        return float(time.time_ns() % 1_000_003)


class SetOrderEnv(_Counter):
    """Spawns pickups in the order a set of names iterates: the order of str hashes (PYTHONHASHSEED)."""

    NAMES = frozenset({"apple", "banana", "cherry", "damson", "elder", "fig", "grape", "hazel"})

    def value(self) -> float:
        order = list(self.NAMES)
        return float(order.index("apple") * 10 + order.index("fig"))


class IntDtypeEnv(gym.Env):  # type: ignore[misc]
    """Builds its observation with numpy's default integer: int64 in CPython, int32 in Pyodide (wasm32).

    The values are the same everywhere; only the dtype (and so the bytes the browser records) differs.
    """

    observation_space = spaces.Box(0, 10_000, shape=(2,), dtype=np.int64)
    action_space = spaces.Discrete(3)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        super().reset(seed=seed)
        self.pos = int(self.np_random.integers(0, 10))
        self.t = 0
        return np.array([self.pos, self.t]), {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        self.t += 1
        self.pos += int(action) - 1
        return np.array([self.pos, self.t]), 0.0, False, self.t >= 200, {}
