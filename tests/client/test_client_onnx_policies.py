"""ONNX policies and act_every in CPython: the runners' Python half, with the models run by onnx's reference
evaluator in place of onnxruntime-web (the browser tests run the real runtime)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from gymnasium import spaces
from mug_e2e_envs.beacon import PARTNER_B, PARTNER_W, beacon_obs
from onnx.reference import ReferenceEvaluator

from mug.client.episode import Controllers
from mug.client.match import MatchRunner
from mug.client.match_plan import MatchPlan
from mug.client.onnx_policies import OnnxController, OnnxSpec, choose, flatten
from mug.client.policies import Every, PolicyError
from mug.client.runner import Runner
from mug.client.seeding import derive_seed
from mug.client.spec import SpecError
from mug.testing.lockstep.network import LinkProfile, SimNetwork
from mug.testing.onnx_models import linear_logits, linear_policy

W, B = PARTNER_W, PARTNER_B
MODEL = linear_policy(W, B)
SHA = "0" * 64


def onnx_agent(**kw: Any) -> dict[str, Any]:
    return {"kind": "onnx", "model": "/assets/x/p.onnx", "sha256": SHA, "input": None, "output": "argmax"} | kw


def scene(agents: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {
        "id": "g",
        "env": "mug_e2e_envs.beacon:make_env",
        "env_kwargs": {"agents": sorted(agents)},
        "agents": agents,
        "key_bindings": {"ArrowUp": 3},
        "default_action": 0,
        "fps": 30,
        "max_steps": 40,
    } | kw


class FakeWorker:
    """Runs the requested models as the worker does, with onnx's reference evaluator on the model's bytes."""

    def __init__(self, model: bytes = MODEL) -> None:
        self.session = ReferenceEvaluator(model)
        self.runs = 0

    def run(self, requests: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for req in requests:
            self.runs += 1
            feed = req["feeds"][""]
            x = np.asarray(feed["data"], dtype=np.float32).reshape(feed["dims"])
            result: Any = self.session.run(None, {"obs": x})
            logits = np.asarray(result[0])
            out[req["agent"]] = {
                "logits": {"type": "float32", "dims": list(logits.shape), "data": logits.ravel().tolist()}
            }
        return out


def predicted(t: int, k: int) -> int:
    return int(np.argmax(linear_logits(beacon_obs(t, k), W, B)))


def play(
    spec: dict[str, Any], steps: int, seed: int = 7, model: bytes = MODEL
) -> tuple[list[dict[str, Any]], FakeWorker]:
    runner, worker = Runner(), FakeWorker(model)
    runner.start(spec, seed)
    rows: list[dict[str, Any]] = []
    for _ in range(steps):
        outputs = worker.run(runner.inference())
        rows += runner.tick([], [], 0.0, outputs=outputs)["rows"]
    return rows, worker


def test_the_reference_evaluator_computes_what_numpy_computes() -> None:
    x = beacon_obs(5, 1).reshape(1, -1)
    (logits,) = ReferenceEvaluator(MODEL).run(None, {"obs": x})
    assert np.array_equal(logits, linear_logits(x, W, B))


def test_single_player_onnx_actions_are_the_models_argmax_of_the_observation_it_acts_on() -> None:
    rows, worker = play(scene({"ai": onnx_agent(), "player": "human"}), 30)
    assert len(rows) == 30 and worker.runs == 30
    actions = [r["action"]["ai"] for r in rows]
    assert actions == [predicted(t, 0) for t in range(30)]  # "ai" sorts before "player": agent 0
    assert len(set(actions)) > 1


def test_act_every_holds_the_onnx_action_between_decisions_and_runs_the_model_only_then() -> None:
    rows, worker = play(scene({"ai": onnx_agent(act_every=3), "player": "human"}), 30)
    assert worker.runs == 10
    assert [r["action"]["ai"] for r in rows] == [predicted(t - t % 3, 0) for t in range(30)]


def test_sample_draws_from_the_softmax_of_the_logits_with_the_seeded_generator() -> None:
    flat = W / 8  # logits of a few units: the draws differ from the argmax now and then
    model = linear_policy(flat, B)
    rows, _ = play(scene({"ai": onnx_agent(output="sample"), "player": "human"}), 30, seed=11, model=model)
    rng = np.random.default_rng(derive_seed(11, "policy", "ai", 0))
    expected = []
    for t in range(30):
        logits = linear_logits(beacon_obs(t, 0), flat, B).astype(np.float64).ravel()
        p = np.exp(logits - logits.max())
        expected.append(int(rng.choice(4, p=p / p.sum())))
    assert [r["action"]["ai"] for r in rows] == expected
    assert expected != [predicted(t, 0) for t in range(30)]
    again, _ = play(scene({"ai": onnx_agent(output="sample"), "player": "human"}), 30, seed=11, model=model)
    assert [r["action"] for r in again] == [r["action"] for r in rows]


def test_masked_actions_are_never_chosen() -> None:
    space = spaces.Discrete(4)
    rng = np.random.default_rng(0)
    logits = np.array([[5.0, 1.0, 3.0, 2.0]], dtype=np.float32)
    assert choose(logits, "argmax", rng, None, space, "t") == 0
    assert choose(logits, "argmax", rng, np.array([0, 1, 1, 1], dtype=np.int8), space, "t") == 2
    draws = {choose(logits, "sample", rng, np.array([0, 1, 0, 1], dtype=np.int8), space, "t") for _ in range(200)}
    assert draws == {1, 3}
    assert choose(logits, "argmax", rng, None, spaces.Discrete(4, start=10), "t") == 10
    with pytest.raises(PolicyError, match="forbids every action"):
        choose(logits, "argmax", rng, np.zeros(4, dtype=np.int8), space, "t")
    with pytest.raises(PolicyError, match="has 4 values for an action space of 3 actions"):
        choose(logits, "argmax", rng, None, spaces.Discrete(3), "t")


def test_the_default_input_flattens_the_observation_without_its_mask() -> None:
    obs = {"b": np.array([[1, 2]]), "action_mask": np.array([1, 0]), "a": np.float64(3.5)}
    assert flatten(obs).tolist() == [[3.5, 1.0, 2.0]] and flatten(obs).dtype == np.float32
    ctrl = OnnxController(OnnxSpec.parse("t", onnx_agent()), "ai", spaces.Discrete(4))
    assert ctrl.feeds(np.arange(4)) == {"": {"type": "float32", "dims": [1, 4], "data": [0.0, 1.0, 2.0, 3.0]}}


def make_input(observation: Any) -> dict[str, np.ndarray]:
    return {"obs": np.asarray(observation, dtype=np.float32).reshape(1, -1) * 2}


def last_output(outputs: dict[str, np.ndarray], rng: Any, action_mask: Any) -> int:
    return int(np.argmin(outputs["logits"]))


def test_researcher_functions_build_the_input_and_choose_the_action() -> None:
    spec = OnnxSpec.parse(
        "t", onnx_agent(input="test_client_onnx_policies:make_input", output="test_client_onnx_policies:last_output")
    )
    ctrl = OnnxController(spec, "ai", spaces.Discrete(4))
    assert ctrl.feeds([1, 2, 3, 4])["obs"]["data"] == [2.0, 4.0, 6.0, 8.0]
    out = {"logits": {"type": "float32", "dims": [1, 4], "data": [3.0, -1.0, 0.0, 2.0]}}
    assert ctrl.action(out, np.random.default_rng(0), None) == 1


def test_bad_onnx_specs_and_missing_outputs_are_clear_errors() -> None:
    with pytest.raises(SpecError, match="sha256"):
        OnnxSpec.parse("agent 'ai'", {"kind": "onnx", "model": "/m.onnx"})
    with pytest.raises(SpecError, match="act_every"):
        Controllers.parse({"ai": onnx_agent(act_every=0)})
    with pytest.raises(PolicyError, match="picks one of n discrete actions"):
        OnnxController(OnnxSpec.parse("t", onnx_agent()), "ai", spaces.Box(0, 1, (2,)))
    runner = Runner()
    runner.start(scene({"ai": onnx_agent(), "player": "human"}), 1)
    with pytest.raises(PolicyError, match="no model outputs"):
        runner.tick([], [], 0.0)


def make_stepper(agent: str, action_space: Any) -> Any:
    calls = iter(range(1000))
    return lambda obs, rng: next(calls) % 4


def test_act_every_for_a_python_policy_holds_its_action() -> None:
    spec = scene(
        {"ai": {"ref": "test_client_onnx_policies:make_stepper", "kwargs": {}, "act_every": 4}, "player": "human"}
    )
    runner = Runner()
    runner.start(spec, 3)
    rows = [runner.tick([], [], 0.0)["rows"][0] for _ in range(12)]
    assert [r["action"]["ai"] for r in rows] == [0] * 4 + [1] * 4 + [2] * 4


def test_every_acts_anew_when_the_mask_forbids_the_held_action() -> None:
    every = Every(3)
    assert every.due() and every.took(2) == 2
    assert not every.due(lambda a: True) and every.hold() == 2
    assert every.due(lambda a: a != 2)  # the held action became illegal: decide now
    every.took(1)
    assert every.due()  # the cadence goes on: step 3 is a decision
    with pytest.raises(PolicyError):
        Every(0)


# -- a match of two humans and an ONNX agent: the owner runs it, the lockstep carries its actions

AGENTS = {"a": {"kind": "human", "slot": 0}, "b": {"kind": "human", "slot": 1}, "c": onnx_agent()}


def start(agents: dict[str, Any] = AGENTS) -> dict[str, Any]:
    return {"match_id": "m", "scene_id": "g", "seed": 99, "members": ["p0", "p1"], "agents": agents, "input_delay": 3}


def test_the_plan_gives_onnx_agents_slots_owned_by_slot_0() -> None:
    owner, other = MatchPlan.from_start(start() | {"slot": 0}), MatchPlan.from_start(start() | {"slot": 1})
    assert owner.onnx_slots == {"c": 2} and owner.slots == [0, 1, 2]
    assert owner.peers == {0: "p0", 1: "p1", 2: "p0"} == other.peers
    assert owner.local_slots == [0, 2] and other.local_slots == [1]
    assert owner.agent_of_slot == {0: "a", 1: "b", 2: "c"}


Keys = Callable[[int], tuple[list[str], list[str]]]  # peer index -> (keys held, keys pressed) at this poll


def drive(runners: list[MatchRunner], net: SimNetwork, worker: FakeWorker, lag_polls: int, keys: Keys) -> list[Any]:
    """Poll both peers every 2 ms until both are done; the owner's (peer 0's) model runs take `lag_polls`
    polls, as the worker's asynchronous runs do. Returns each peer's rows."""
    ids = ["p0", "p1"]
    pending: list[tuple[int, list[dict[str, Any]]]] = []  # (poll it completes at, requests): runs in flight
    rows: list[list[dict[str, Any]]] = [[], []]
    now, polls = 0.0, 0
    while now < 60_000 and not all(r.state.value == "done" for r in runners):
        for src, dst, data in net.deliver(now):
            runners[ids.index(dst)].receive(src, data)
        for i, r in enumerate(runners):
            held, pressed = keys(i)
            res = r.poll(now, held, pressed, now)
            for peer, data, reliable in res["sends"]:
                net.send(ids[i], peer, data, now, reliable=reliable)
            if res["frame"]:
                rows[i] += res["frame"]["rows"]
        owner = runners[0]
        if pending and pending[0][0] <= polls:
            owner.take_outputs(worker.run(pending.pop(0)[1]))
        reqs = owner.inference()
        if reqs:
            pending.append((polls + lag_polls, reqs))
        assert runners[1].inference() == []  # the other peer never runs the model
        polls += 1
        now += 2.0
    return rows


def play_match(lag_polls: int, seed: int = 5) -> list[dict[str, Any]]:
    spec = scene({"a": "human", "b": "human", "c": "human"}, max_steps=90, num_episodes=2) | {"agents": None}
    runners = [MatchRunner(spec, start() | {"slot": i}, pause_s=0.2) for i in range(2)]
    net = SimNetwork(seed=seed, default=LinkProfile(latency_ms=10, jitter_ms=5, loss=0.05))
    rng = random.Random(seed)
    held: list[list[str]] = [[], []]

    def keys(i: int) -> tuple[list[str], list[str]]:
        if rng.random() < 0.1:
            held[i] = ["ArrowUp"] if rng.random() < 0.5 else []
        return held[i], []

    rows = drive(runners, net, FakeWorker(), lag_polls, keys)
    return [{"rows": rows[i], "runner": r} for i, r in enumerate(runners)]


@pytest.mark.parametrize("lag_polls", [0, 40])
def test_a_match_of_two_humans_and_an_onnx_agent_records_the_same_rows_on_both_peers(lag_polls: int) -> None:
    a, b = play_match(lag_polls)
    assert a["runner"].state.value == b["runner"].state.value == "done"
    assert a["runner"].desyncs == [] == b["runner"].desyncs
    strip = [[{k: v for k, v in r.items() if k != "t_ms"} for r in p["rows"]] for p in (a, b)]
    assert len(strip[0]) == 180 and strip[0] == strip[1]
    for episode in (0, 1):
        rows = [r for r in a["rows"] if r["episode"] == episode]
        acts = [r["action"]["c"] for r in rows]
        # each action is the model's argmax of an observation the owner had seen (agent "c" is number 2),
        # D frames (plus the run's lag) earlier; before the first run the default action is entered
        seen = {predicted(t, 2) for t in range(90)}
        assert set(acts) <= seen | {0} and len(set(acts)) > 1
        lagged = [
            any(acts[s] == predicted(t, 2) for t in range(max(0, s - 3 - 1 - lag_polls // 15 - 3), s - 3 + 1))
            for s in range(8 + lag_polls // 15, 90)
        ]
        assert sum(lagged) >= 0.9 * len(lagged)


def play_turns_match(lag_polls: int, episodes: int = 2) -> tuple[list[list[dict[str, Any]]], FakeWorker]:
    """Two humans ("first", "second": random keys at random times on their turns) and an ONNX "bot" take
    turns (client_envs.Turns); the owner's model runs take `lag_polls` polls."""
    # logits [turn - 5.5, 0]: the bot plays 1 on turns before the 6th move, then 0
    worker = FakeWorker(linear_policy(np.array([[1, 0], [0, 0]], dtype=np.float32), np.array([-5.5, 0], np.float32)))
    spec = {
        "id": "t",
        "env": "client_envs:make_turns",
        "key_bindings": {"ArrowUp": 1, "ArrowDown": 0},
        "input_mode": "press",
        "fps": 30,
        "num_episodes": episodes,
    }
    agents = {"first": {"kind": "human", "slot": 0}, "second": {"kind": "human", "slot": 1}, "bot": onnx_agent()}
    runners = [MatchRunner(spec, start(agents) | {"slot": i}, pause_s=0.2) for i in range(2)]
    net = SimNetwork(seed=3, default=LinkProfile(latency_ms=10, jitter_ms=5, loss=0.05))
    rng = random.Random(lag_polls)

    def keys(i: int) -> tuple[list[str], list[str]]:
        return [], [rng.choice(["ArrowUp", "ArrowDown"])] if rng.random() < 0.03 else []

    rows = drive(runners, net, worker, lag_polls, keys)
    assert all(r.state.value == "done" and r.desyncs == [] for r in runners), [r.state for r in runners]
    return rows, worker


@pytest.mark.parametrize("lag_polls", [0, 40])
def test_a_turn_based_match_waits_for_the_onnx_agents_move_and_both_peers_record_it(lag_polls: int) -> None:
    (a, b), worker = play_turns_match(lag_polls)
    strip = [[{k: v for k, v in r.items() if k != "t_ms"} for r in rows] for rows in (a, b)]
    assert strip[0] == strip[1], "identical records on both peers"
    for episode in (0, 1):
        moves = [next(iter(r["action"].items())) for r in a if r["episode"] == episode]
        played = [m for m in moves if m[1] is not None]  # (then every agent's dead step)
        assert [agent for agent, _ in played] == ["first", "second", "bot"] * 4, "each turn waited for its move"
        assert [act for agent, act in played if agent == "bot"] == [1, 1, 0, 0], "the model's argmax at its turn"
    assert worker.runs == 2 * 4, "the model ran once on each of the bot's turns, and only then"
    # its move arrives D (3) frames after the owner entered it, a frame after its turn began, plus the model's time
    frames = [r["frame"] for r in a]
    gaps = [r["frame"] - frames[i - 1] for i, r in enumerate(a) if i and r["action"].get("bot") is not None]
    assert len(gaps) == 8 and min(gaps) >= 3 + 1 + int(lag_polls * 2.0 // (1000 / 30)), gaps


def test_single_player_turn_based_onnx_moves_skip_masked_cells() -> None:
    bias = np.array([1, 2, 3, 4, 100, 5, 6, 7, 8], dtype=np.float32)  # favours the centre, then the last cells
    model = linear_policy(np.zeros((18, 9), dtype=np.float32), bias)
    spec = {
        "id": "ttt",
        "env": "mug_e2e_envs.tictactoe:make_env",
        "agents": {"player_1": "human", "player_2": onnx_agent()},
        "key_bindings": {str(i + 1): i for i in range(9)},
        "input_mode": "press",
        "fps": 10,
    }
    runner, worker = Runner(), FakeWorker(model)
    runner.start(spec, 1)
    rows: list[dict[str, Any]] = []
    for key in ["9", None, "5", None, "8", None, "1", None]:  # X takes 8, then 4 (taken: ignored), 7, 0
        outputs = worker.run(runner.inference())
        rows += runner.tick([], [key] if key else [], 0.0, outputs=outputs)["rows"]
    moves = [(next(iter(r["action"].items()))) for r in rows]
    assert [m for m in moves if m[0] == "player_2"] == [("player_2", 4), ("player_2", 6), ("player_2", 5)]
    assert worker.runs == 3, "the model runs only on the partner's turns"


def test_a_replay_takes_the_onnx_agents_recorded_actions_and_reproduces_the_rows() -> None:
    spec = scene({"ai": onnx_agent(act_every=2), "player": "human"})
    rows, _ = play(spec, 20)
    again = Runner()
    again.start(spec, 7)
    for row in rows:
        got = again.replay_tick({"ai": row["action"]["ai"], "player": row["action"]["player"]})["rows"][0]
        assert (got["action"], got["obs_checksum"]) == (row["action"], row["obs_checksum"])


def test_a_match_replay_feeds_the_onnx_agents_recorded_actions_to_its_slot() -> None:
    (a, _) = play_match(0)
    spec = scene({"a": "human", "b": "human", "c": "human"}, max_steps=90, num_episodes=2) | {"agents": None}
    replay = MatchRunner(spec, start() | {"slot": 1}, pause_s=0.2)
    by_frame = {r["frame"]: r for r in a["rows"]}
    slots = {agent: slot for slot, agent in replay.plan.agent_of_slot.items()}
    for frame in range(max(by_frame) + 1):
        row = by_frame.get(frame)
        inputs = {s: 0 for s in replay.plan.slots}
        if row is not None:
            inputs |= {slots[agent]: act for agent, act in row["action"].items()}
        made = replay.replay_frame(frame, inputs)
        if row is not None:
            assert made[0]["obs_checksum"] == row["obs_checksum"] and made[0]["action"] == row["action"]


def test_a_poll_that_seals_no_frame_keeps_the_onnx_move_until_one_does(monkeypatch: pytest.MonkeyPatch) -> None:
    # pacing gives a frame of its own delay back as the move is entered: that frame's Step seals nothing new,
    # and the move must still reach the next frame sealed (else every peer waits for it forever)
    entered = MatchRunner._onnx_input
    lowered: list[int] = []

    def lower_once(self: MatchRunner, agent: Any) -> Any:
        move = entered(self, agent)
        if move is not None and not lowered:
            assert self.session._pacing.delay is not None
            self.session._pacing.delay -= 1  # as Pacing.next_delay does after calm reports
            lowered.append(self.session.frame)
        return move

    monkeypatch.setattr(MatchRunner, "_onnx_input", lower_once)
    (a, b), worker = play_turns_match(0, episodes=1)  # both peers done, no desync (asserted inside)
    assert lowered and [r["action"] for r in a] == [r["action"] for r in b]
    played = [next(iter(r["action"].items())) for r in a if next(iter(r["action"].values())) is not None]
    assert [agent for agent, _ in played] == ["first", "second", "bot"] * 4 and worker.runs == 4


def test_a_move_sealed_already_is_not_asked_of_the_model_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # a reloaded owner page has no record of the runs it asked for; its restored inputs hold the move it sealed
    exchange = MatchRunner.exchange
    checked: list[int] = []

    def forgetful(self: MatchRunner, *args: Any, **kwargs: Any) -> Any:
        sends = exchange(self, *args, **kwargs)
        if self.plan.owns_onnx and self._inflight is None and self.session.sealed_ahead(self.plan.onnx_slots["bot"]):
            asked, self._onnx_asked = self._onnx_asked, {}
            assert self.inference() == [], "the sealed move is on its way: no second run"
            self._onnx_asked = asked
            checked.append(self.session.frame)
        return sends

    monkeypatch.setattr(MatchRunner, "exchange", forgetful)
    (a, b), worker = play_turns_match(0, episodes=1)
    assert len(checked) >= 4 and worker.runs == 4
