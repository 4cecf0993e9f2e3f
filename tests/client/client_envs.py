"""Tiny environments for the client tests (importable as `client_envs`, on sys.path via conftest.py)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv, ParallelEnv


class Opaque:
    """An info value that is not JSON (recorded by its repr), equal to every other Opaque (for check_env)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Opaque)

    def __hash__(self) -> int:
        return 0

    def __repr__(self) -> str:
        return "<Opaque>"


class Counter(gym.Env[np.ndarray, np.int64]):
    """Moves a counter by the action (0: -1, 1: 0, 2: +1); random start; terminates at |x| >= 5."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(self, render_mode: str | None = None) -> None:
        self.render_mode = render_mode
        self.action_space = spaces.Discrete(3)
        self.observation_space = spaces.Box(-10, 10, shape=(1,), dtype=np.float32)
        self.x = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.x = int(self.np_random.integers(-2, 3))
        return np.array([self.x], dtype=np.float32), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self.x += int(action) - 1
        return (
            np.array([self.x], dtype=np.float32),
            float(self.x),
            abs(self.x) >= 5,
            False,
            {"x": np.int64(self.x), "arr": np.arange(2), "obj": Opaque()},
        )

    def render(self) -> np.ndarray:
        frame = np.zeros((4, 6, 3), dtype=np.uint8)
        frame[:, :, 0] = 200
        return frame


def make_counter(**kwargs: Any) -> Counter:
    return Counter(**kwargs)


def make_counter_no_render_mode() -> Counter:
    return Counter()


class Pair(ParallelEnv[str, np.ndarray, int]):
    """Two agents add their actions to a shared total; done after 4 steps."""

    metadata = {"name": "pair_v0"}

    def __init__(self) -> None:
        self.possible_agents = ["a", "b"]
        self.agents: list[str] = []
        self.t = 0
        self.total = 0
        self._obs_spaces = {a: spaces.Box(0, 100, shape=(2,), dtype=np.int64) for a in self.possible_agents}
        self._act_spaces = {a: spaces.Discrete(3) for a in self.possible_agents}

    def observation_space(self, agent: str) -> spaces.Box:
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> spaces.Discrete:
        return self._act_spaces[agent]

    def _obs(self) -> dict[str, np.ndarray]:
        return {a: np.array([self.t, self.total]) for a in self.possible_agents}

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        self.agents = list(self.possible_agents)
        self.t = 0
        self.total = int(np.random.default_rng(seed).integers(10))
        return self._obs(), {a: {} for a in self.agents}

    def step(self, actions: dict[str, int]) -> tuple[Any, Any, Any, Any, Any]:
        self.t += 1
        self.total += sum(int(v) for v in actions.values())
        done = self.t >= 4
        obs = self._obs()
        rewards = {a: float(actions[a]) for a in self.agents}
        terms = dict.fromkeys(self.agents, done)
        truncs = dict.fromkeys(self.agents, False)
        infos: dict[str, dict[str, Any]] = {a: {} for a in self.agents}
        if done:
            self.agents = []
        return obs, rewards, terms, truncs, infos

    def render(self) -> list[dict[str, Any]]:
        return [{"op": "fill", "color": "#000000"}]


def make_pair() -> Pair:
    return Pair()


def broken(**kwargs: Any) -> Counter:
    raise RuntimeError("this factory is broken on purpose")


def make_policy(agent: str, action_space: Any, bias: int = 2) -> Any:
    def act(obs: Any, rng: np.random.Generator) -> int:
        return int(rng.integers(3)) if bias < 0 else bias

    return act


def make_random_policy(agent: str, action_space: Any) -> Any:
    return lambda obs, rng: int(rng.integers(3))


not_callable = 3


def returns_nothing(agent: str, action_space: Any) -> None:
    return None


class Turns(AECEnv):  # type: ignore[misc]
    """Three agents take turns adding their action (0 or 1) to a tally; done after 12 turns."""

    metadata = {"name": "turns_v0"}

    def __init__(self) -> None:
        super().__init__()
        self.possible_agents = ["first", "second", "bot"]
        self.agents: list[str] = []
        self.turn = 0
        self.tally = 0
        self.agent_selection = "first"
        self._obs_spaces = {a: spaces.Box(0, 100, shape=(2,), dtype=np.int64) for a in self.possible_agents}
        self._act_spaces = {a: spaces.Discrete(2) for a in self.possible_agents}

    def observation_space(self, agent: str) -> spaces.Box:
        return self._obs_spaces[agent]

    def action_space(self, agent: str) -> spaces.Discrete:
        return self._act_spaces[agent]

    def observe(self, agent: str) -> np.ndarray:
        return np.array([self.turn, self.tally])

    def reset(self, seed: int | None = None, options: dict[str, Any] | None = None) -> None:
        self.agents = list(self.possible_agents)
        self.turn = 0
        self.tally = int(np.random.default_rng(seed).integers(10))
        self.rewards = dict.fromkeys(self.agents, 0.0)
        self._cumulative_rewards = dict.fromkeys(self.agents, 0.0)
        self.terminations = dict.fromkeys(self.agents, False)
        self.truncations = dict.fromkeys(self.agents, False)
        self.infos: dict[str, dict[str, Any]] = {a: {} for a in self.agents}
        self.agent_selection = self.agents[0]

    def step(self, action: Any) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        self._cumulative_rewards[agent] = 0.0
        self.tally += int(action) * (self.agents.index(agent) + 1)
        self.turn += 1
        self.rewards = {a: float(a == agent) * int(action) for a in self.agents}
        self._accumulate_rewards()
        if self.turn >= 12:
            self.terminations = dict.fromkeys(self.agents, True)
        self.agent_selection = self.agents[self.turn % len(self.agents)]

    def render(self) -> list[dict[str, Any]]:
        return [{"op": "fill", "color": "#000000"}]

    def close(self) -> None:
        pass


def make_turns() -> Turns:
    return Turns()


def make_turn_policy(agent: str, action_space: Any) -> Any:
    return lambda obs, rng: int(rng.integers(2))


class Joint(gym.Env[np.ndarray, Any]):
    """Two players' actions as one Tuple (or Dict, keyed "a" and "b") action; observes the last one. Draws nothing."""

    def __init__(self, keyed: bool = False) -> None:
        one = spaces.Discrete(3)
        self.action_space = spaces.Dict({"a": one, "b": one}) if keyed else spaces.Tuple((one, one))
        self.observation_space = spaces.Box(0, 2, shape=(2,), dtype=np.int64)
        self.last: Any = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        return np.zeros(2, dtype=np.int64), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self.last = action
        a, b = (action["a"], action["b"]) if isinstance(action, dict) else action
        return np.array([a, b], dtype=np.int64), float(a - b), False, False, {}


def make_joint(**kwargs: Any) -> Joint:
    return Joint(**kwargs)


class Masked(gym.Env[np.ndarray, np.int64]):
    """A walker whose `info["action_mask"]` forbids moving right (action 2) from x >= 1 (as Taxi's does)."""

    def __init__(self, render_mode: str | None = None) -> None:
        self.render_mode = render_mode
        self.action_space = spaces.Discrete(3)
        self.observation_space = spaces.Box(-100, 100, shape=(1,), dtype=np.int64)
        self.x = 0

    def _info(self) -> dict[str, Any]:
        return {"action_mask": np.array([1, 1, int(self.x < 1)], dtype=np.int8)}

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.x = 0
        return np.array([self.x], dtype=np.int64), self._info()

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        self.x += int(action) - 1
        return np.array([self.x], dtype=np.int64), 0.0, False, False, self._info()

    def render(self) -> list[dict[str, Any]]:  # type: ignore[override]  # a MUG draw list
        return [{"op": "fill", "color": "#000000"}]


def make_masked(**kwargs: Any) -> Masked:
    return Masked(**kwargs)


class NotAnEnv:
    """Has the attributes of a PettingZoo env but none of its base classes."""

    possible_agents = ["a"]

    def __init__(self, render_mode: str | None = None) -> None:
        self.agent_selection = "a"


def make_not_an_env(**kwargs: Any) -> NotAnEnv:
    return NotAnEnv(**kwargs)


def make_walkers_aec(**kwargs: Any) -> Any:
    """The e2e walkers parallel env (integer agent ids) turned into an AEC env by PettingZoo's conversion."""
    from mug_e2e_envs.walkers import parallel_env
    from pettingzoo.utils.conversions import parallel_to_aec

    return parallel_to_aec(parallel_env(**kwargs))


def make_timelimit_counter(**kwargs: Any) -> Any:
    return gym.wrappers.TimeLimit(Counter(**kwargs), max_episode_steps=5)


# pointer functions (tests/client/test_client_pointer.py): f(x, y, width, height) -> action
def click_left_right(x: float, y: float, width: float, height: float) -> int:
    return 0 if x < width / 2 else 2


def click_returns_object(x: float, y: float, width: float, height: float) -> object:
    return object()


def click_returns_numpy(x: float, y: float, width: float, height: float) -> Any:
    return np.int64(2)


def click_raises(x: float, y: float, width: float, height: float) -> int:
    raise KeyError("no such cell")


def click_out_of_space(x: float, y: float, width: float, height: float) -> int:
    return 7
