"""Turn-based games, action masks and integer agent ids, in the single-player runner and in lockstep matches.

The envs are the browser tests' own (`tests/e2e/envpkg`): a tic-tac-toe written the way PettingZoo's docs
write an AEC env (Dict observation with `action_mask`, no no-op, PettingZoo's wrappers) and a parallel env
whose agents are the integers 0 and 1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mug.client.host import EnvError, EnvHost
from mug.client.match import MatchRunner
from mug.client.runner import Runner
from mug.testing.lockstep.network import LinkProfile, SimNetwork

TTT = "mug_e2e_envs.tictactoe:make_env"
CELLS = {str(i + 1): i for i in range(9)}  # keys "1".."9" mark cells 0..8
FIRST_LEGAL = {"ref": "mug_e2e_envs.tictactoe:make_first_legal", "kwargs": {}}
RANDOM_LEGAL = {"ref": "mug_e2e_envs.tictactoe:make_random_legal", "kwargs": {}}


def ttt_scene(**kw: Any) -> dict[str, Any]:
    return {
        "id": "ttt",
        "env": TTT,
        "agents": {"player_1": "human", "player_2": FIRST_LEGAL},
        "key_bindings": CELLS,
        "default_action": 0,
        "input_mode": "press",
        "fps": 30,
        "num_episodes": 1,
        "max_steps": None,
    } | kw


# ---------------------------------------------------------------- the env's kind, by its base class


def test_aec_env_behind_pettingzoo_wrappers_is_detected_without_touching_attributes() -> None:
    host = EnvHost(TTT, {}, ["player_1", "player_2"])
    with pytest.raises(AttributeError, match="before reset"):
        _ = host.env.agent_selection  # OrderEnforcingWrapper: what attribute probing used to trip on
    assert host.kind == "aec"
    host.reset(1)
    assert host.acting() == "player_1" and host.mask("player_1") is not None


@pytest.mark.parametrize(
    ("ref", "agents", "kind"),
    [
        ("mug_e2e_envs.walkers:make_env", [0, 1], "parallel"),
        ("client_envs:make_walkers_aec", [0, 1], "aec"),
        ("client_envs:make_timelimit_counter", ["player"], "gymnasium"),
        ("client_envs:make_turns", ["first", "second", "bot"], "aec"),
    ],
)
def test_kind_comes_from_the_base_classes_through_wrappers(ref: str, agents: list[Any], kind: str) -> None:
    host = EnvHost(ref, {}, agents)
    assert host.kind == kind and host.agents == agents


def test_an_object_of_no_known_base_class_is_refused_by_name() -> None:
    with pytest.raises(EnvError, match="neither a gymnasium.Env nor a PettingZoo AECEnv or ParallelEnv"):
        EnvHost("client_envs:make_not_an_env", {}, ["a"])


def test_string_names_for_integer_agents_are_refused_with_the_fix() -> None:
    with pytest.raises(EnvError, match=r"has agents \[0, 1\].*name them as ints, e.g. agents=\{0: 'human'"):
        EnvHost("mug_e2e_envs.walkers:make_env", {}, ["0", "1"])


# ---------------------------------------------------------------- single player: a human against a policy


def tick(runner: Runner, *pressed: str) -> dict[str, Any]:
    return runner.tick([], list(pressed), 0.0)


def test_a_human_turn_waits_for_a_legal_key_and_masked_keys_do_nothing() -> None:
    runner = Runner()
    first = runner.start(ttt_scene(), 7)
    assert first["turn"] == {"agent": "player_1", "yours": True, "human": True, "seconds_left": None}
    for _ in range(20):  # nobody presses: no default action, no row, nothing redrawn
        out = tick(runner)
        assert out["rows"] == [] and out["step"] == 0 and out["render"] == {"kind": "none"}
    assert tick(runner, "5")["rows"][0]["action"] == {"player_1": 4}
    policy = tick(runner)  # the policy's turn is played at once: the lowest free cell
    assert policy["rows"][0]["action"] == {"player_2": 0} and policy["turn"]["yours"] is True
    masked = tick(runner, "1", "5")  # both cells are taken: the keys do nothing
    assert masked["rows"] == [] and masked["step"] == 2
    rows = [tick(runner, "3")["rows"][0], tick(runner)["rows"][0], tick(runner, "7")["rows"][0]]
    assert [r["action"] for r in rows] == [{"player_1": 2}, {"player_2": 1}, {"player_1": 6}]  # 2-4-6 wins
    assert rows[-1]["reward"] == {"player_1": 1.0, "player_2": -1.0}
    dead = [tick(runner), tick(runner)]  # the finished agents' dead steps end the episode
    assert [d["rows"][0]["action"] for d in dead] == [{"player_2": None}, {"player_1": None}]
    assert dead[-1]["episode_done"] and dead[-1]["rows"][0]["terminated"] and dead[-1]["turn"] is None
    assert runner.score == 1.0


def test_rows_of_a_waiting_game_keep_counting_frames() -> None:
    runner = Runner()
    runner.start(ttt_scene(), 7)
    for _ in range(9):
        tick(runner)
    assert tick(runner, "5")["rows"][0]["frame"] == 10


def test_turn_time_limit_plays_the_default_action_or_the_lowest_legal_one() -> None:
    runner = Runner()
    scene = ttt_scene(turn={"time_limit_s": 0.2, "fallback": "default_action"})  # 6 frames at 30 fps
    first = runner.start(scene, 7)
    assert first["turn"]["seconds_left"] == pytest.approx(0.2)
    outs = [tick(runner) for _ in range(6)]
    assert [len(o["rows"]) for o in outs] == [0] * 5 + [1]
    assert outs[4]["turn"]["seconds_left"] == pytest.approx(1 / 30)
    assert outs[-1]["rows"][0]["action"] == {"player_1": 0}  # the default action, legal
    assert outs[-1]["rows"][0]["turn_fallback"] is True  # the row says the time limit chose it
    policy = tick(runner)["rows"][0]
    assert policy["action"] == {"player_2": 1} and policy["turn_fallback"] is False
    outs = [tick(runner) for _ in range(6)]
    assert outs[-1]["rows"][0]["action"] == {"player_1": 2}  # cell 0 is taken: the lowest legal cell
    assert outs[-1]["rows"][0]["turn_fallback"] is True
    tick(runner)  # player_2's policy
    human = tick(runner, "9")["rows"]
    assert human[0]["action"] == {"player_1": 8} and human[0]["turn_fallback"] is False  # in time: the human's


def test_turn_time_limit_with_a_policy_fallback_is_reproducible() -> None:
    scene = ttt_scene(turn={"time_limit_s": 0.1, "fallback": RANDOM_LEGAL})

    def game(seed: int) -> list[Any]:
        runner = Runner()
        runner.start(scene, seed)
        moves = []
        while not runner.episode_done:
            moves += [r["action"] for r in tick(runner)["rows"]]
        return moves

    a, b = game(3), game(3)
    assert a == b and len(a) >= 5 + 2
    cells = [v for m in a for v in m.values() if v is not None]
    assert len(cells) == len(set(cells)), "every fallback move was legal"


def test_policies_receive_the_mask_in_the_observation_or_as_a_keyword() -> None:
    runner = Runner()
    runner.start(ttt_scene(agents={"player_1": "human", "player_2": RANDOM_LEGAL}), 11)
    cells: list[int] = []
    for key in "123456789" * 2:
        for row in tick(runner, key)["rows"] + tick(runner)["rows"]:
            cells += [v for v in row["action"].values() if v is not None]
        if runner.episode_done:
            break
    assert runner.episode_done and len(cells) == len(set(cells)) >= 5


def test_a_masked_key_in_a_gymnasium_env_counts_as_no_key() -> None:
    runner = Runner()
    scene = {
        "id": "m",
        "env": "client_envs:make_masked",
        "agents": {"player": "human"},
        "key_bindings": {"ArrowLeft": 0, "ArrowRight": 2},
        "default_action": 1,
        "max_steps": 10,
    }
    runner.start(scene, 1)
    actions = [runner.tick(["ArrowRight"], [], 0.0)["rows"][0]["action"] for _ in range(3)]
    assert actions == [2, 1, 1]  # from x = 1 on, the mask forbids moving right: the default action plays


# ---------------------------------------------------------------- lockstep matches

Script = Callable[[int, MatchRunner, float], list[str]]


def drive(scene: dict[str, Any], agents: dict[str, Any], script: Script, until_ms: float = 60_000) -> list[Any]:
    """Two match runners over a lossy in-memory network; `script(i, runner, now)` gives the keys peer `i`
    presses at this poll. Returns each peer's rows."""
    start = {"match_id": "m-1", "scene_id": scene["id"], "seed": 99, "members": ["p0", "p1"], "agents": agents}
    runners = [MatchRunner(scene, start | {"slot": i}) for i in range(2)]
    net = SimNetwork(seed=5, default=LinkProfile(latency_ms=8, jitter_ms=4, loss=0.05))
    rows: list[list[dict[str, Any]]] = [[], []]
    now = 0.0
    while now < until_ms and not all(r.state == "done" for r in runners):
        for src, dst, data in net.deliver(now):
            runners[int(dst[1])].receive(src, data)
        for i, r in enumerate(runners):
            res = r.poll(now, [], script(i, r, now), 1e12 + now)
            for peer, data, reliable in res["sends"]:
                net.send(f"p{i}", peer, data, now, reliable=reliable)
            if res["frame"]:
                rows[i] += res["frame"]["rows"]
        now += 2.0
    assert all(r.state == "done" and r.desyncs == [] for r in runners), [r.state for r in runners]
    return rows


class Player:
    """Scripted tic-tac-toe player: presses `out_of_turn` while the other player is to move; on its own
    turn waits `think_ms`, presses `masked` (a taken cell) if given, then its next move."""

    def __init__(self, moves: str, masked: dict[int, str], out_of_turn: str, think_ms: float = 600) -> None:
        self.moves, self.masked, self.out_of_turn, self.think_ms = moves, masked, out_of_turn, think_ms
        self.turn = 0
        self.since: float | None = None
        self.done: set[str] = set()

    def __call__(self, runner: MatchRunner, now: float) -> list[str]:
        info = runner.turn_info()
        if not info or not info["yours"]:
            if self.since is not None:
                self.turn, self.since, self.done = self.turn + 1, None, set()
            return [self.out_of_turn] if int(now) % 100 == 0 else []
        if self.since is None:
            self.since = now
        waited = now - self.since
        if waited >= self.think_ms / 2 and "masked" not in self.done and self.turn in self.masked:
            self.done.add("masked")
            return [self.masked[self.turn]]
        if waited >= self.think_ms and "move" not in self.done and self.turn < len(self.moves):
            self.done.add("move")
            return [self.moves[self.turn]]
        return []


def test_two_peers_play_tictactoe_out_of_turn_and_masked_keys_ignored() -> None:
    agents = {"player_1": {"kind": "human", "slot": 0}, "player_2": {"kind": "human", "slot": 1}}
    x = Player("123", masked={1: "4"}, out_of_turn="8")  # X: cells 0, 1, 2; at its 2nd turn cell 3 is O's
    o = Player("45", masked={0: "1"}, out_of_turn="9")  # O: cells 3, 4; at its 1st turn cell 0 is X's
    players = [x, o]
    a, b = drive(ttt_scene(agents=None), agents, lambda i, r, now: players[i](r, now))
    strip = [{k: v for k, v in r.items() if k != "t_ms"} for r in a]
    assert strip == [{k: v for k, v in r.items() if k != "t_ms"} for r in b], "identical records on both peers"
    assert [r["action"] for r in a] == [
        {"player_1": 0},
        {"player_2": 3},
        {"player_1": 1},
        {"player_2": 4},
        {"player_1": 2},
        {"player_2": None},
        {"player_1": None},
    ], "only the scripted legal moves were played: out-of-turn (8, 9) and masked (4, 1) keys did nothing"
    assert a[4]["reward"] == {"player_1": 1.0, "player_2": -1.0} and a[-1]["terminated"]
    frames = [r["frame"] for r in a[:5]]
    assert all(later - earlier >= 15 for earlier, later in zip(frames, frames[1:], strict=False)), (
        "each player thought for 600 ms (18 frames) and nothing was played meanwhile"
    )


def test_a_match_turn_time_limit_plays_the_fallback_on_every_peer_alike() -> None:
    agents = {"player_1": {"kind": "human", "slot": 0}, "player_2": {"kind": "human", "slot": 1}}
    scene = ttt_scene(agents=None, turn={"time_limit_s": 0.3, "fallback": RANDOM_LEGAL})
    a, b = drive(scene, agents, lambda i, r, now: [])  # nobody presses anything
    assert [r["action"] for r in a] == [r["action"] for r in b] and len(a) >= 5 + 2
    frames = [r["frame"] for r in a if None not in r["action"].values()]
    assert all(later - earlier == 9 for earlier, later in zip(frames, frames[1:], strict=False))  # 0.3 s
    played = [r for r in a if None not in r["action"].values()]
    assert played and all(r["turn_fallback"] for r in played), "nobody pressed: the fallback played every move"
    assert [r["turn_fallback"] for r in a] == [r["turn_fallback"] for r in b]


def test_integer_agent_ids_play_a_match_and_rows_name_them_by_label() -> None:
    agents = {"0": {"kind": "human", "slot": 0}, "1": {"kind": "human", "slot": 1}}
    scene = {
        "id": "duo",
        "env": "mug_e2e_envs.walkers:make_env",
        "key_bindings": {"ArrowLeft": 0, "ArrowRight": 2},
        "default_action": 1,
        "fps": 30,
        "num_episodes": 1,
        "max_steps": 40,
    }
    keys = [["ArrowRight"], ["ArrowLeft"]]
    a, b = drive(scene, agents, lambda i, r, now: keys[i] if int(now) % 50 == 0 else [])
    assert len(a) == 40 and [r["action"] for r in a] == [r["action"] for r in b]
    assert all(set(r["action"]) == set(r["reward"]) == {"0", "1"} for r in a)
    assert {r["action"]["0"] for r in a} >= {2} and {r["action"]["1"] for r in a} >= {0}
