"""The episode core shared by the single-player and match runners, driven directly."""

from __future__ import annotations

from typing import Any

import numpy as np

from mug.client.agents import AgentId
from mug.client.episode import EpisodeCore, PolicySpec
from mug.client.host import EnvHost
from mug.client.seeding import derive_seed, episode_seed
from mug.client.spec import GameSpec

TTT = "mug_e2e_envs.tictactoe:make_env"
FIRST_LEGAL: PolicySpec = ("mug_e2e_envs.tictactoe:make_first_legal", {})


def pair_core(seed: int = 3, **spec: Any) -> EpisodeCore:
    host = EnvHost("client_envs:make_pair", {}, ["a", "b"])
    policies: dict[AgentId, PolicySpec] = {"b": ("client_envs:make_policy", {"bias": -1})}
    return EpisodeCore(host, GameSpec(env="client_envs:make_pair", **spec), seed, ["a"], policies)


def play(core: EpisodeCore, steps: int) -> list[dict[str, Any]]:
    rows = []
    for t in range(steps):
        actions: dict[AgentId, Any] = {"a": 2, "b": core.policy_action("b")}
        rows.append(core.record(actions, core.step_joint(actions), frame=t, t_ms=0.0))
        if core.done:
            break
    return rows


def test_reset_seeds_the_env_the_spaces_and_the_policies_from_the_root_seed() -> None:
    core = pair_core(seed=3)
    core.reset(2)
    assert core.episode == 2 and core.episode_seed == episode_seed(3, 2) and core.step == 0
    total = int(np.random.default_rng(episode_seed(3, 2)).integers(10))
    assert core.obs["a"].tolist() == [0, total]
    expected = int(np.random.default_rng(derive_seed(3, "policy", "b", 2)).integers(3))
    assert core.policy_action("b") == expected
    space = core.host.action_space("a")
    probe = type(space)(space.n)
    probe.seed(derive_seed(3, "action_space", "a", 2))
    assert space.sample() == probe.sample()


def test_the_same_episode_replays_identically_and_another_differs() -> None:
    core = pair_core()
    core.reset(0)
    first = play(core, 10)
    core.reset(0)
    assert play(core, 10) == first
    core.reset(1)
    assert play(core, 10) != first


def test_rows_score_and_episode_end() -> None:
    core = pair_core()
    core.reset(0)
    rows = play(core, 10)
    assert [r["step"] for r in rows] == [1, 2, 3, 4] and core.done
    assert rows[-1]["terminated"] and not rows[-1]["truncated"]
    assert all(set(r["action"]) == {"a", "b"} for r in rows)  # several agents: dicts by label in one row
    assert core.score == 2.0 * 4  # only the human's rewards count
    assert [r["frame"] for r in rows] == [0, 1, 2, 3]


def test_max_steps_truncates() -> None:
    core = pair_core(max_steps=2)
    core.reset(0)
    rows = play(core, 10)
    assert len(rows) == 2 and rows[-1]["truncated"] and not rows[-1]["terminated"]


def test_scored_agents_choose_whose_rewards_count() -> None:
    host = EnvHost("client_envs:make_pair", {}, ["a", "b"])
    core = EpisodeCore(host, GameSpec(env="client_envs:make_pair"), 1, ["a", "b"], {}, scored=["b"])
    core.reset(0)
    actions: dict[AgentId, Any] = {"a": 2, "b": 1}
    core.record(actions, core.step_joint(actions), frame=0, t_ms=0.0)
    assert core.score == 1.0


def test_one_gymnasium_agent_gets_plain_values() -> None:
    host = EnvHost("client_envs:make_counter", {}, ["player"])
    core = EpisodeCore(host, GameSpec(env="client_envs:make_counter"), 1, ["player"], {})
    core.reset(0)
    actions: dict[AgentId, Any] = {"player": 2}
    row = core.record(actions, core.step_joint(actions), frame=1, t_ms=5.0)
    assert row["action"] == 2 and isinstance(row["reward"], float) and row["t_ms"] == 5.0


def test_turns_wait_for_a_human_and_play_policies_at_once() -> None:
    host = EnvHost(TTT, {}, ["player_1", "player_2"])
    core = EpisodeCore(host, GameSpec(env=TTT), 7, ["player_1"], {"player_2": FIRST_LEGAL})
    core.reset(0)
    assert core.turns is not None
    assert core.step_turn("player_1", lambda: None) is None  # no move: nothing stepped
    assert host.acting() == "player_1"
    played = core.step_turn("player_1", lambda: 4)
    assert played is not None and played[0] == {"player_1": 4}
    row = core.record(*played, frame=3, t_ms=0.0)
    assert row["action"] == {"player_1": 4} and core.step == 1
    assert core.turn_info() == {"agent": "player_2", "yours": False, "human": False, "seconds_left": None}
    played = core.step_turn("player_2", lambda: 99)  # a policy's turn: the move is not asked for
    assert played is not None and played[0] == {"player_2": 0}
    core.record(*played, frame=4, t_ms=0.0)
    info = core.turn_info(local="player_2")
    assert info is not None and info["agent"] == "player_1" and info["human"] and not info["yours"]


def test_a_simultaneous_env_has_no_turns() -> None:
    core = pair_core()
    core.reset(0)
    assert core.turns is None and core.turn_info() is None
