"""Seeded trajectories of an environment played by the browser's own code, reduced to per-step checksums.

The env checker runs this in CPython and in Pyodide and compares the two, so it plays the environment
exactly as the browser worker does: `EnvHost` builds and steps it (Gymnasium, PettingZoo parallel or AEC,
with the same action conversion), `EpisodeCore` resets each episode with `episode_seed(seed, e)`, seeds
every agent's action space with `derive_seed(seed, "action_space", label, e)` and calls the scene's
policies with their seeded generators; a turn-based (AEC) env plays one turn per step, honouring the
action mask. A human agent's action is a sample of its seeded action space (a legal one under a mask),
converted to JSON first, as a key binding's action arrives from the page. Controllers are read by
`mug.client.episode.Controllers`, as the worker reads them (`act_every` included). CPython has no
onnxruntime, so an ONNX agent is played by `make_seeded_legal` with the policy's seeded generator and its
`act_every`: the env's side of the trajectory is checked, the model runs only in the browser
(the start-up check's report says so).

Each step yields `checksum((obs, rewards, terminated, truncated))` (dicts by agent label) and the dtypes of
the observation's arrays, which say where CPython and Pyodide (wasm32, 32-bit C long) disagree on a
dtype. `mug.client.probes` watches the global generators and the clock meanwhile.

It imports only the standard library, numpy, gymnasium, pettingzoo and what the environment itself needs.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import traceback
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium
import numpy as np

from mug.client.agents import AgentId, by_label, from_label, label, ordered
from mug.client.checksum import checksum
from mug.client.episode import Controllers, EpisodeCore
from mug.client.host import EnvError, EnvHost, env_kind
from mug.client.probes import Probes
from mug.client.spec import HUMAN, GameSpec

__all__ = [
    "env_kind",
    "dtypes_of",
    "iter_trajectory",
    "make_seeded_legal",
    "run_request",
    "run_trajectory",
    "trajectory_report",
]

SEEDED_LEGAL = "mug.client.trajectory:make_seeded_legal"


@dataclass(frozen=True)
class TrajectoryStep:
    """One step's checksum and the dtype of each array in its observation (path -> numpy dtype text)."""

    checksum: str
    dtypes: dict[str, str]


def dtypes_of(value: Any, path: str = "obs") -> dict[str, str]:
    """Path -> dtype name of every numpy array or scalar inside `value` (dicts by key, sequences by index)."""
    if isinstance(value, np.ndarray | np.generic):
        return {path: str(np.asarray(value).dtype)}
    out: dict[str, str] = {}
    if isinstance(value, Mapping):
        for key in sorted(value, key=str):
            out |= dtypes_of(value[key], f"{path}[{key!r}]")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            out |= dtypes_of(item, f"{path}[{i}]")
    return out


def _json_action(value: Any) -> Any:
    """A sampled action as JSON carries it (numpy scalars and arrays become Python numbers and lists)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _json_action(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_json_action(v) for v in value)
    return value


def _sample(space: Any, mask: np.ndarray | None) -> Any:
    if mask is not None and isinstance(space, gymnasium.spaces.Discrete):
        return _json_action(space.sample(mask=np.asarray(mask, dtype=np.int8)))
    return _json_action(space.sample())


def make_seeded_legal(agent: AgentId, action_space: Any) -> Any:
    """The stand-in for an ONNX policy here: a legal action drawn with the policy's seeded generator (a
    Discrete space, under the agent's mask), else a sample of the agent's seeded action space."""

    def act(observation: Any, rng: np.random.Generator, action_mask: np.ndarray | None = None) -> Any:
        if isinstance(action_space, gymnasium.spaces.Discrete):
            n = int(action_space.n)
            legal = np.arange(n) if action_mask is None else np.flatnonzero(np.asarray(action_mask)[:n])
            if legal.size == 0:
                legal = np.arange(n)  # the env left no legal move; the step reports what follows
            return int(action_space.start) + int(legal[int(rng.integers(legal.size))])
        return _json_action(action_space.sample())

    return act


def _stand_ins(agents: Mapping[str, Any]) -> dict[str, Any]:
    """The agents with each ONNX controller replaced by `make_seeded_legal` at the same `act_every`."""
    return {
        a: (
            {"ref": SEEDED_LEGAL, "kwargs": {}, "act_every": c.get("act_every", 1)}
            if isinstance(c, Mapping) and c.get("kind") == "onnx"
            else c
        )
        for a, c in agents.items()
    }


def iter_trajectory(
    factory: str,
    kwargs: dict[str, Any],
    seed: int,
    steps: int,
    actions: str | list[Any] = "random",
    agents: Mapping[str, Any] | None = None,
    max_steps: int | None = None,
    probes: Probes | None = None,
) -> Iterator[TrajectoryStep]:
    """Yield one `TrajectoryStep` per step; see :func:`run_trajectory` for the arguments."""
    given = None if actions == "random" else list(actions)
    if given is not None and len(given) < steps:
        raise ValueError(f"{len(given)} actions were given for {steps} steps")
    named = {from_label(a): c for a, c in _stand_ins(agents or {}).items()}
    host = EnvHost(factory, dict(kwargs), ordered(named) if named else None)
    try:
        parsed = Controllers.parse({a: named.get(a, HUMAN) for a in host.agents})
        spec = GameSpec(env=factory, env_kwargs=dict(kwargs), max_steps=max_steps)
        core = EpisodeCore(host, spec, int(seed), parsed.humans, parsed.policies, act_every=parsed.act_every)
        if probes is not None:
            probes.mark(-1)
        core.reset(0)

        def human(agent: AgentId, step: int) -> Any:
            if given is None:
                return _sample(host.action_space(agent), host.mask(agent))
            value = given[step]
            if host.single or core.turns is not None:
                return value
            if not isinstance(value, Mapping) or label(agent) not in value:
                raise ValueError(f"action {step} must be an object with an action for agent {label(agent)!r}")
            return value[label(agent)]

        for step in range(steps):
            if probes is not None:
                probes.mark(step)
            if core.turns is not None:
                actor = host.acting()
                if actor is None:
                    raise EnvError(f"step {step}: the AEC env has no live agent but did not end the episode")
                played = core.step_turn(actor, functools.partial(human, actor, step))
                if played is None:
                    raise EnvError(
                        f"step {step}: agent {label(actor)!r} has no legal action (its action mask allows none, "
                        "or the given action is masked): a turn-based game must leave its player a move"
                    )
                acts, out = played
            else:
                acts = {
                    a: (human(a, step) if a in core.humans else core.policy_action(a))
                    for a in host.agents
                    if core.live(a)
                }
                out = core.step_joint(acts)
            core.record(acts, out, step + 1, 0.0)
            outcome = (by_label(out.obs), by_label(out.rewards), by_label(out.terminated), by_label(out.truncated))
            yield TrajectoryStep(checksum(outcome), dtypes_of(outcome[0]))
            if core.done:
                core.reset(core.episode + 1)
    finally:
        host.close()


def run_trajectory(
    factory: str,
    kwargs: dict[str, Any],
    seed: int,
    steps: int,
    actions: str | list[Any] = "random",
    agents: Mapping[str, Any] | None = None,
    max_steps: int | None = None,
) -> list[str]:
    """Play a seeded trajectory as the browser does and return its per-step checksums.

    Args:
        factory: ``"package.module:callable"`` returning a Gymnasium env or a PettingZoo parallel or AEC env.
        kwargs: keyword arguments for the factory.
        seed: the root seed (the scene's seed, or a match's).
        steps: the number of steps (AEC: turns); a new episode starts whenever one ends.
        actions: ``"random"``, or one action per step: the action (Gymnasium), an object of agent label ->
            action (parallel), the acting agent's action (AEC).
        agents: agent label -> "human", a policy ``{"ref", "kwargs", "act_every"}`` or an ONNX policy
            ``{"kind": "onnx", ...}`` (`GameScene.agents_spec()`; ONNX: see the module docstring);
            default: every agent of the env, played as a human.
        max_steps: the scene's step limit per episode (None: the env's own end).

    Returns:
        ``checksum((obs, rewards, terminated, truncated))`` of each step, dicts keyed by agent label.
    """
    return [s.checksum for s in iter_trajectory(factory, kwargs, seed, steps, actions, agents, max_steps)]


def trajectory_report(
    factory: str,
    kwargs: dict[str, Any],
    seed: int,
    steps: int,
    actions: str | list[Any] = "random",
    pygame_stub: bool = False,
    agents: Mapping[str, Any] | None = None,
    max_steps: int | None = None,
    probe: bool = True,
) -> dict[str, Any]:
    """Play :func:`iter_trajectory` under `mug.client.probes` (unless `probe` is False: a benchmark's
    timing) and return JSON-able data.

    Returns:
        ``{"checksums", "dtypes", "findings", "error", "pygame", "hash_seed"}``: the checksums so far;
        `dtypes` as ``[step index, {path: dtype}]`` for the first step and each step whose dtypes changed;
        the probes' findings (``{"step", "kind", "what"}``, step -1 being the first reset); any error as data;
        with `pygame_stub`, which pygame the env got ("pygame" if a real one is importable, else
        "stand-in", see `mug.client.pyodide_compat.install_pygame_stub`), else None; `hash_seed` the
        process's PYTHONHASHSEED (None: random) and `hash_bits` the width of its hashes.
    """
    sums: list[str] = []
    dtypes: list[list[Any]] = []
    pygame = None
    if pygame_stub:
        from mug.client.pyodide_compat import install_pygame_stub

        pygame = install_pygame_stub()
    probes = Probes()
    watched = probes if probe else None
    error = None
    try:
        with probes.watching() if probe else contextlib.nullcontext(probes):
            played = iter_trajectory(factory, kwargs, seed, steps, actions, agents, max_steps, watched)
            for i, step in enumerate(played):
                sums.append(step.checksum)
                if not dtypes or dtypes[-1][1] != step.dtypes:
                    dtypes.append([i, step.dtypes])
    except Exception as exc:  # reported to the checker as data, whatever the environment raised
        tb = traceback.format_exception(exc)
        error = {"type": type(exc).__name__, "message": str(exc), "traceback": "".join(tb[-6:])}
    return {
        "checksums": sums,
        "dtypes": dtypes,
        "findings": [f.as_dict() for f in probes.findings],
        "error": error,
        "pygame": pygame,
        "hash_seed": os.environ.get("PYTHONHASHSEED"),
        "hash_bits": sys.hash_info.width,
    }


def run_request(request: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`trajectory_report` for the env checker's JSON request (the same in CPython and Pyodide):
    ``{"factory", "kwargs", "seed", "steps", "actions", "pygame_stub", "agents", "max_steps", "probe"}``."""
    return trajectory_report(
        str(request["factory"]),
        dict(request.get("kwargs") or {}),
        int(request["seed"]),
        int(request["steps"]),
        request.get("actions", "random"),
        pygame_stub=bool(request.get("pygame_stub", False)),
        agents=request.get("agents"),
        max_steps=request.get("max_steps"),
        probe=bool(request.get("probe", True)),
    )
