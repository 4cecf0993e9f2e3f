import numpy as np
from pettingzoo.test import parallel_api_test

from mug.client.checksum import checksum
from mug.demos.catch import make_env
from mug.demos.catch_duo import make_env as make_duo
from mug.demos.policies import make_catcher
from mug.rendering import Surface


def trajectory(seed: int, actions: list[int]) -> list[str]:
    env = make_env()
    obs, _ = env.reset(seed=seed)
    sums = [checksum(obs)]
    for a in actions:
        obs, reward, term, trunc, _ = env.step(a)
        sums.append(checksum((obs, reward, term, trunc)))
        if term:
            break
    return sums


def test_catch_is_deterministic_under_seed() -> None:
    actions = [i % 3 for i in range(300)]
    assert trajectory(4, actions) == trajectory(4, actions)
    assert trajectory(4, actions) != trajectory(5, actions)


def test_catch_terminates_after_misses_and_renders() -> None:
    env = make_env(max_misses=2)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    total = 0.0
    for _ in range(5000):
        obs, reward, term, trunc, info = env.step(0)
        total += reward
        if term:
            break
    assert term and info["missed"] == 2
    surface = env.render()
    assert isinstance(surface, Surface) and surface.to_commands()[0]["op"] == "fill"


def test_heuristic_policy_catches_more_than_it_misses() -> None:
    env = make_env(max_misses=3)
    act = make_catcher("player", env.action_space, epsilon=0.0)
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=1)
    for _ in range(1500):
        obs, _, term, _, info = env.step(act(obs, rng))
        if term:
            break
    assert info["caught"] > info["missed"]


def test_catch_duo_follows_the_parallel_api() -> None:
    parallel_api_test(make_duo(), num_cycles=200)


def test_catch_duo_is_deterministic() -> None:
    def run() -> list[str]:
        env = make_duo()
        obs, _ = env.reset(seed=3)
        out = [checksum(obs)]
        for i in range(200):
            obs, rewards, terms, truncs, _ = env.step({"left": i % 3, "right": (i + 1) % 3})
            out.append(checksum((obs, rewards, terms, truncs)))
            if not env.agents:
                break
        return out

    assert run() == run()
