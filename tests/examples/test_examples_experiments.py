"""The example experiments load, are valid, and their environments behave (CPython)."""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mug.client.checksum import checksum
from mug.client.runner import Runner
from mug.configurations import EndScene, Experiment, GameScene, StaticScene, load_experiment
from mug.rendering import Surface

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
DODGE = "dodge_env.game:make_env"
CARTPOLE = "cartpole_browser.env:make_env"

pytestmark = pytest.mark.usefixtures("example_envs")


def factory(ref: str) -> Callable[..., Any]:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


def trajectory(ref: str, seed: int, actions: list[int], **kwargs: Any) -> list[str]:
    """Checksums of the reset and of every step (reset again, with seed + episode, when an episode ends)."""
    env = factory(ref)(render_mode="rgb_array", **kwargs)
    obs, _ = env.reset(seed=seed)
    sums = [checksum(obs)]
    episode = 0
    for a in actions:
        obs, reward, term, trunc, _ = env.step(a)
        assert env.observation_space.contains(obs), obs
        sums.append(checksum((obs, float(reward), bool(term), bool(trunc))))
        if term or trunc:
            episode += 1
            obs, _ = env.reset(seed=seed + episode)
            sums.append(checksum(obs))
    env.close()
    return sums


def commands_are_json(surface: Any) -> list[dict[str, Any]]:
    assert isinstance(surface, Surface)
    commands = surface.to_commands()
    assert commands and commands[0]["op"] == "fill"
    assert json.loads(json.dumps(commands)) == commands
    return commands


# -- the experiments ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "package"),
    [("dodge/experiment.py", "dodge/dodge_env"), ("cartpole/experiment.py", "cartpole/cartpole_browser")],
)
def test_experiment_loads_and_names_its_local_package(path: str, package: str) -> None:
    experiment = load_experiment(str(EXAMPLES / path))
    assert isinstance(experiment, Experiment)
    assert isinstance(experiment.scenes[0], StaticScene) and isinstance(experiment.scenes[-1], EndScene)
    (game,) = experiment.game_scenes
    assert game.human_agents == ["player"] and not game.multiplayer
    # The relative "./folder" was resolved against the experiment file's folder, to a real project.
    assert experiment.packages == [str((EXAMPLES / package).resolve())]
    assert (Path(experiment.packages[0]) / "pyproject.toml").is_file()
    # Every bound key and the default are actions of the environment.
    env = factory(game.env)(render_mode="rgb_array", **game.env_kwargs)
    for action in [*game.key_bindings.values(), game.default_action]:
        assert env.action_space.contains(action)
    env.close()


def test_dodge_experiment_scenes() -> None:
    experiment = load_experiment(str(EXAMPLES / "dodge" / "experiment.py"))
    assert [s.id for s in experiment.default_scenes] == ["consent", "instructions", "dodge", "survey", "end"]
    game = experiment.scene("dodge")
    assert isinstance(game, GameScene) and 2 <= game.num_episodes <= 3 and game.max_steps
    survey = experiment.scene("survey")
    assert isinstance(survey, StaticScene) and len(survey.questions) >= 2
    end = experiment.scene("end")
    assert isinstance(end, EndScene) and end.completion_code


def test_cartpole_experiment_scene() -> None:
    game = load_experiment(str(EXAMPLES / "cartpole" / "experiment.py")).scene("cartpole")
    assert isinstance(game, GameScene)
    assert (game.fps, game.max_steps) == (30, 500)
    assert game.key_bindings == {"ArrowLeft": 0, "ArrowRight": 1} and game.default_action == 2


# -- determinism -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("ref", [DODGE, CARTPOLE])
def test_same_seed_and_actions_give_the_same_checksums(ref: str) -> None:
    actions = [int(a) for a in np.random.default_rng(7).integers(0, 3, size=600)]
    first = trajectory(ref, 11, actions)
    assert first == trajectory(ref, 11, actions)
    assert first != trajectory(ref, 12, actions)


@pytest.mark.parametrize("ref", [DODGE, CARTPOLE])
def test_observations_have_explicit_dtypes(ref: str) -> None:
    env = factory(ref)()
    obs, _ = env.reset(seed=0)
    assert obs.dtype == np.float32 == env.observation_space.dtype
    obs, reward, *_ = env.step(1)
    assert obs.dtype == np.float32 and isinstance(reward, float)
    env.close()


def test_runner_plays_dodge_as_the_browser_worker_does() -> None:
    # The very code the browser worker runs: the scene spec, keys held, one tick per frame.
    game = load_experiment(str(EXAMPLES / "dodge" / "experiment.py")).scene("dodge")
    spec = game.model_dump()

    def play() -> list[Any]:
        runner = Runner()
        first = runner.start(spec, seed=5)
        assert first["render"]["kind"] == "draw"
        rows = []
        for i in range(200):
            held = ["ArrowLeft"] if (i // 25) % 2 else ["d"]
            out = runner.tick(held, [], t_ms=0.0)
            rows += [(r["action"], r["reward"], r["obs_checksum"]) for r in out["rows"]]
        runner.close()
        return rows

    rows = play()
    assert len(rows) == 200 and {r[0] for r in rows} == {0, 2}
    assert rows == play()


# -- episodes end sensibly ---------------------------------------------------------------------------------
def test_dodge_terminates_when_the_ships_are_gone() -> None:
    env = factory(DODGE)(lives=2)
    env.reset(seed=3)
    info: dict[str, Any] = {}
    for _ in range(20_000):
        _, _, term, trunc, info = env.step(1)  # sit still in the middle: sooner or later a rock hits
        assert not trunc
        if term:
            break
    assert term and info["lives"] == 0 and info["dodged"] > 0
    assert any(c["op"] == "text" and c["text"] == "SHIP LOST" for c in commands_are_json(env.render()))


def test_dodge_truncates_at_max_steps_and_rejects_bad_actions() -> None:
    env = factory(DODGE)(max_steps=50, lives=99)
    env.reset(seed=0)
    results = [env.step(i % 3)[2:4] for i in range(50)]
    assert results[-1] == (False, True) and all(r == (False, False) for r in results[:-1])
    with pytest.raises(ValueError, match="action must be 0"):
        env.step(3)


def test_dodge_render_uses_many_shapes() -> None:
    env = factory(DODGE)()
    env.reset(seed=1)
    commands = commands_are_json(env.render())
    for _ in range(120):
        env.step(2)
        commands = commands_are_json(env.render())
    ops = {c["op"] for c in commands}
    assert {"fill", "rect", "circle", "ellipse", "arc", "polygon", "text"} <= ops
    assert env.render().width == 600 and env.render().height == 400


def test_cartpole_ends_when_the_pole_falls_or_at_500_steps() -> None:
    env = factory(CARTPOLE)()
    env.reset(seed=0)
    steps, term, trunc = 0, False, False
    while not (term or trunc):
        _, _, term, trunc, _ = env.step(1)  # always push right: the pole falls left quickly
        steps += 1
    assert term and not trunc and steps < 100
    texts = [c["text"] for c in commands_are_json(env.render()) if c["op"] == "text"]
    assert "The pole fell" in texts
    env.reset(seed=0)  # a fresh episode draws no end banner
    assert "The pole fell" not in [c.get("text") for c in commands_are_json(env.render())]

    short = factory(CARTPOLE)(max_episode_steps=5)
    short.reset(seed=0)
    ends = [short.step(2)[2:4] for _ in range(5)]
    assert ends[-1] == (False, True)


def test_cartpole_coast_is_no_push_and_keeps_gymnasium_physics() -> None:
    import gymnasium as gym

    wrapped = factory(CARTPOLE)()
    plain = gym.make("CartPole-v1")
    a, _ = wrapped.reset(seed=4)
    b, _ = plain.reset(seed=4)
    for action in [0, 1, 1, 0, 1]:  # pushes are exactly CartPole's
        a = wrapped.step(action)[0]
        b = plain.step(action)[0]
        assert np.array_equal(a, b)
    unwrapped: Any = wrapped.unwrapped
    force = unwrapped.force_mag
    x_dot = float(unwrapped.state[1])
    wrapped.step(2)
    assert unwrapped.force_mag == force  # restored after coasting
    # With no force the cart's acceleration comes only from the pole (a small fraction of a push).
    assert abs(float(unwrapped.state[1]) - x_dot) < 0.05
    assert not hasattr(sys.modules.get("pygame"), "display")  # pygame never imported for drawing
    plain.close()
    wrapped.close()
