"""Seeded trajectories of an environment, reduced to per-step checksums.

The very same function runs in CPython and in Pyodide (the env checker compares the two), so it imports only
the standard library, numpy and what the environment itself needs.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from typing import Any, Literal

import gymnasium
import numpy as np
import pettingzoo

from mug.client.checksum import checksum
from mug.client.seeding import derive_seed, episode_seed
from mug.refs import resolve_ref


def env_kind(env: Any) -> Literal["gymnasium", "parallel", "aec"] | None:
    """The env's API by its base class: PettingZoo ``AECEnv`` ("aec") or ``ParallelEnv`` ("parallel"),
    ``gymnasium.Env`` ("gymnasium"), else None. Wrappers of each library subclass its base class, so a
    wrapped env is recognised too (and no attribute is touched: PettingZoo's wrappers raise before reset)."""
    if isinstance(env, pettingzoo.AECEnv):
        return "aec"
    if isinstance(env, pettingzoo.ParallelEnv):
        return "parallel"
    if isinstance(env, gymnasium.Env):
        return "gymnasium"
    return None


def is_parallel_env(env: Any) -> bool:
    """True for a PettingZoo parallel env (per-agent ``action_space(agent)``, dict actions)."""
    return env_kind(env) == "parallel"


def _as_action(space: Any, value: Any) -> Any:
    dtype = getattr(space, "dtype", None)
    if isinstance(value, list) or (dtype is not None and np.issubdtype(dtype, np.floating)):
        return np.asarray(value, dtype=dtype)
    return value


def iter_trajectory(
    factory: str,
    kwargs: dict[str, Any],
    seed: int,
    steps: int,
    actions_seed: int | None = None,
    actions: str | list[Any] = "random",
) -> Iterator[str]:
    """Yield one checksum of ``(obs, reward, terminated, truncated)`` per step; see :func:`run_trajectory`."""
    env = resolve_ref(factory, "env")(**kwargs)
    actions_seed = derive_seed(seed, "actions") if actions_seed is None else actions_seed
    given = None if actions == "random" else list(actions)
    if given is not None and len(given) < steps:
        raise ValueError(f"{len(given)} actions were given for {steps} steps")
    parallel = is_parallel_env(env)
    episode = 0
    try:
        env.reset(seed=episode_seed(seed, episode))
        if parallel:
            for agent in env.possible_agents:
                env.action_space(agent).seed(derive_seed(actions_seed, agent))
        else:
            env.action_space.seed(actions_seed)
        for step in range(steps):
            if parallel:
                if given is not None:
                    action = {a: _as_action(env.action_space(a), v) for a, v in given[step].items()}
                else:
                    action = {a: env.action_space(a).sample() for a in env.agents}
                obs, reward, term, trunc, _ = env.step(action)
                yield checksum((obs, reward, term, trunc))
                done = not env.agents
            else:
                action = env.action_space.sample() if given is None else _as_action(env.action_space, given[step])
                obs, reward, term, trunc, _ = env.step(action)
                yield checksum((obs, reward, bool(term), bool(trunc)))
                done = bool(term) or bool(trunc)
            if done:
                episode += 1
                env.reset(seed=episode_seed(seed, episode))
    finally:
        env.close()


def run_trajectory(
    factory: str,
    kwargs: dict[str, Any],
    seed: int,
    steps: int,
    actions_seed: int | None = None,
    actions: str | list[Any] = "random",
) -> list[str]:
    """Run a seeded trajectory of an environment and return its per-step checksums.

    Episode ``e`` is reset with ``episode_seed(seed, e)``; a new episode starts whenever one ends.
    Random actions come from the action space(s) seeded with ``derive_seed(seed, "actions")`` (per agent of a
    PettingZoo parallel env: ``derive_seed(actions_seed, agent)``).

    Args:
        factory: ``"package.module:callable"`` returning a Gymnasium env or a PettingZoo parallel env.
        kwargs: keyword arguments for the factory.
        seed: the root seed.
        steps: the number of steps.
        actions_seed: the action sampler's seed (default: derived from ``seed``).
        actions: ``"random"``, or one action per step (a dict of agent -> action for parallel envs).

    Returns:
        ``checksum((obs, reward, terminated, truncated))`` of each step.
    """
    return list(iter_trajectory(factory, kwargs, seed, steps, actions_seed, actions))


def trajectory_report(
    factory: str,
    kwargs: dict[str, Any],
    seed: int,
    steps: int,
    actions: str | list[Any] = "random",
    pygame_stub: bool = False,
) -> dict[str, Any]:
    """Run :func:`run_trajectory` and return JSON-able data: the checksums so far, any error as data, and
    `pygame`: with `pygame_stub`, which pygame the env got ("pygame" if a real one is importable, else
    "stand-in", see `mug.client.pyodide_compat.install_pygame_stub`), else None."""
    sums: list[str] = []
    pygame = None
    if pygame_stub:
        from mug.client.pyodide_compat import install_pygame_stub

        pygame = install_pygame_stub()
    try:
        for value in iter_trajectory(factory, kwargs, seed, steps, None, actions):
            sums.append(value)
    except Exception as exc:  # reported to the checker as data, whatever the environment raised
        tb = traceback.format_exception(exc)
        return {
            "checksums": sums,
            "error": {"type": type(exc).__name__, "message": str(exc), "traceback": "".join(tb[-6:])},
            "pygame": pygame,
        }
    return {"checksums": sums, "error": None, "pygame": pygame}
