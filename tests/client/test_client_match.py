"""Match runners wired through the lockstep core's in-memory network: same rows on every peer."""

from __future__ import annotations

import random
from typing import Any

import pytest

from mug.client.bridge import WorkerBridge
from mug.client.match import MatchRunner
from mug.client.match_plan import MatchPlan
from mug.client.seeding import episode_seed
from mug.testing.lockstep.network import LinkProfile, SimNetwork

KEYS = {"ArrowLeft": 0, "ArrowRight": 2}


def scene(env: str = "mug.demos.catch_duo:make_env", **kw: Any) -> dict[str, Any]:
    return {
        "id": "duo",
        "env": env,
        "key_bindings": KEYS,
        "default_action": 1,
        "fps": 30,
        "num_episodes": 2,
        "max_steps": 60,
        "env_kwargs": {},
        "input_mode": "held",
    } | kw


def start(agents: dict[str, Any], members: int, delay: Any = "auto") -> dict[str, Any]:
    return {
        "match_id": "m-1",
        "scene_id": "duo",
        "seed": 1234,
        "members": [f"p{i}" for i in range(members)],
        "agents": agents,
        "input_delay": delay,
        "ice": {},
    }


DUO = {"left": {"kind": "human", "slot": 0}, "right": {"kind": "human", "slot": 1}}


def run(
    scene_spec: dict[str, Any],
    start_msg: dict[str, Any],
    *,
    seed: int = 1,
    until_ms: float = 60_000,
    profile: LinkProfile | None = None,
    keys: list[str] | None = None,
    leave: tuple[int, float] | None = None,
    reload: tuple[int, float, float] | None = None,
) -> list[dict[str, Any]]:
    """Play every runner until all are done (or `until_ms`); return per peer {rows, events, runner}.

    `leave`: (member, at) the member's page closes for good; `reload`: (member, at, back) it closes and
    a fresh page rejoins at `back` (its rows: those recorded before plus those after, as the server sees)."""
    n = len(start_msg["members"])
    runners = [MatchRunner(scene_spec, start_msg | {"slot": i}) for i in range(n)]
    ids = start_msg["members"]
    net = SimNetwork(seed=seed, default=profile or LinkProfile(latency_ms=8, jitter_ms=4, loss=0.05))
    rng = random.Random(seed)
    out: list[dict[str, Any]] = [{"rows": [], "events": [], "runner": r} for r in runners]
    keys = keys or ["ArrowLeft", "ArrowRight", None]  # type: ignore[list-item]
    held = [[] for _ in range(n)]  # type: ignore[var-annotated]
    now = 0.0
    left: set[int] = set()
    while now < until_ms:
        if reload is not None and now >= reload[1] and reload[0] not in left and now < reload[2]:
            left.add(reload[0])  # the page is gone, and with it everything it had not recorded
        if reload is not None and now >= reload[2] and reload[0] in left:
            i = reload[0]
            left.discard(i)
            runners[i] = MatchRunner(scene_spec, start_msg | {"slot": i, "rejoin": True})
            out[i]["runner"] = runners[i]
            reload = None
        if leave is not None and now >= leave[1] and leave[0] not in left:
            left.add(leave[0])
            for i in range(n):
                if i != leave[0]:
                    runners[i].peer_left(ids[leave[0]])
        for src, dst, data in net.deliver(now):
            if ids.index(dst) not in left:
                runners[ids.index(dst)].receive(src, data)
        for i, r in enumerate(runners):
            if i in left:
                continue
            if rng.random() < 0.05:
                k = rng.choice(keys)
                held[i] = [k] if k else []
            res = r.poll(now, held[i], [], 1e12 + now)
            for peer, data, reliable in res["sends"]:
                net.send(ids[i], peer, data, now, reliable=reliable)
            if res["frame"]:
                out[i]["rows"] += res["frame"]["rows"]
            out[i]["events"] += res["events"]
        if all(r.state in ("done", "peer_gone") or i in left for i, r in enumerate(runners)):
            break
        now += 2.0
    return out


def timeless(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "t_ms"} for r in rows]


def test_two_peers_play_every_episode_with_identical_rows() -> None:
    peers = run(scene(), start(DUO, 2))
    a, b = peers
    assert a["runner"].state == b["runner"].state == "done"
    assert len(a["rows"]) == 120 and timeless(a["rows"]) == timeless(b["rows"])
    assert [r["episode"] for r in a["rows"]] == [0] * 60 + [1] * 60
    assert {r["episode_seed"] for r in a["rows"] if r["episode"] == 1} == {episode_seed(1234, 1)}
    assert all(r["match_id"] == "m-1" and set(r["action"]) == {"left", "right"} for r in a["rows"])
    # the pause between episodes: the same number of frames, no env steps, on both peers
    frames = [r["frame"] for r in a["rows"]]
    pause = a["runner"].pause_frames
    assert pause == 60 and frames[60] - frames[59] == pause + 1
    assert frames == [r["frame"] for r in b["rows"]]
    assert a["runner"].desyncs == [] and b["runner"].desyncs == []
    kinds = [e["kind"] for e in a["events"]]
    assert kinds.count("episode_done") == 2 and kinds[-2:] == ["finished", "done"] or "done" in kinds
    assert len({r["obs_checksum"] for r in a["rows"]}) > 30  # the players really moved things
    actions = {r["action"]["left"] for r in a["rows"]} | {r["action"]["right"] for r in a["rows"]}
    assert actions == {0, 1, 2}


def test_three_peers_several_hundred_frames_agree() -> None:
    agents = {
        "p0": {"kind": "human", "slot": 0},
        "p1": {"kind": "human", "slot": 1},
        "p2": {"kind": "human", "slot": 2},
    }
    peers = run(
        scene("mug.demos.catch_party:make_env", env_kwargs={"players": 3}, max_steps=200, num_episodes=2),
        start(agents, 3),
        profile=LinkProfile(latency_ms=15, jitter_ms=10, loss=0.1, reorder=0.1),
    )
    rows = [timeless(p["rows"]) for p in peers]
    assert len(rows[0]) == 400 and rows[0] == rows[1] == rows[2]
    assert all(p["runner"].state == "done" for p in peers)


def test_an_ai_slot_runs_identically_on_every_peer() -> None:
    agents = {
        "p0": {"kind": "human", "slot": 0},
        "p1": {"kind": "human", "slot": 1},
        "p2": {"kind": "policy", "ref": "mug.demos.policies:make_catcher", "kwargs": {"epsilon": 0.3}},
    }
    peers = run(scene("mug.demos.catch_party:make_env", env_kwargs={"players": 3}), start(agents, 2))
    a, b = (timeless(p["rows"]) for p in peers)
    assert a == b and len(a) == 120
    assert len({r["action"]["p2"] for r in a}) == 3  # epsilon moves: the policy's rng is shared and seeded


def test_a_lone_participant_plays_with_ai_partners() -> None:
    agents = {
        "left": {"kind": "human", "slot": 0},
        "right": {"kind": "policy", "ref": "mug.demos.policies:make_catcher", "kwargs": {}},
    }
    (solo,) = run(scene(), start(agents, 1))
    assert solo["runner"].state == "done" and len(solo["rows"]) == 120


def test_a_peer_leaving_stops_the_others_at_a_confirmed_frame() -> None:
    peers = run(scene(num_episodes=3), start(DUO, 2), leave=(1, 1500.0))
    a = peers[0]
    assert a["runner"].state == "peer_gone"
    gone = [e for e in a["events"] if e["kind"] == "peer_gone"]
    assert len(gone) == 1 and gone[0]["peer"] == "p1"
    assert a["rows"] and a["rows"][-1]["frame"] <= gone[0]["last_confirmed_frame"]
    steps = [r["step"] for r in a["rows"]]
    assert steps == list(range(1, len(steps) + 1))


def test_turn_based_aec_waits_only_for_the_acting_player() -> None:
    agents = {
        "first": {"kind": "human", "slot": 0},
        "second": {"kind": "human", "slot": 1},
        "bot": {"kind": "policy", "ref": "client_envs:make_turn_policy", "kwargs": {}},
    }
    spec = scene(
        "client_envs:make_turns",
        key_bindings={"ArrowLeft": 0, "ArrowRight": 1},
        default_action=0,
        max_steps=None,
        num_episodes=2,
    )
    peers = run(spec, start(agents, 2))
    a, b = (timeless(p["rows"]) for p in peers)
    # 12 turns, then each finished agent's dead step (env.step(None)) per episode
    assert a == b and len(a) == 2 * 15
    assert [next(iter(r["action"])) for r in a[:6]] == ["first", "second", "bot"] * 2
    assert [list(r["action"].values()) for r in a[12:15]] == [[None]] * 3
    assert [(r["terminated"], r["truncated"]) for r in a[12:15]] == [(False, False)] * 2 + [(True, False)]
    assert all(p["runner"].state == "done" for p in peers)


@pytest.mark.parametrize("delay", ["auto", 3])
def test_a_delay_the_scene_fixes_stays_fixed_and_auto_adapts(delay: Any) -> None:
    out = run(scene(), start(DUO, 2, delay=delay))
    for peer in out:
        status = peer["runner"].status()
        assert status["state"] == "done"
        assert status["pacing"]["adaptive"] is (delay == "auto")
        if delay != "auto":
            assert status["input_delay"] == status["pacing"]["local_delay"] == status["pacing"]["max_delay"] == 3


def test_bad_match_start_is_refused_with_the_field() -> None:
    with pytest.raises(ValueError, match="slot"):
        MatchPlan.from_start(start(DUO, 2) | {"slot": 5})
    with pytest.raises(ValueError, match="human agents"):
        MatchPlan.from_start(start({"left": {"kind": "human", "slot": 0}}, 2) | {"slot": 0})


def test_bridge_round_trip_with_bytes() -> None:
    bridges = [WorkerBridge(), WorkerBridge()]
    import json

    for i, br in enumerate(bridges):
        text, _ = br.start_match(json.dumps(scene()), json.dumps(start(DUO, 2) | {"slot": i}))
        assert "error" not in json.loads(text)
    now = 0.0
    stepped = 0
    while now < 3000 and stepped < 10:
        for i, br in enumerate(bridges):
            text, blob = br.match_exchange(now, '{"held": [], "pressed": []}')
            sends = json.loads(text)
            assert "error" not in sends, sends
            pos = 0
            for peer, size, _reliable in sends:
                bridges[int(peer[1])].match_receive(f"p{i}", blob[pos : pos + size])
                pos += size
            text, _ = br.match_advance(now, 1e12)
            info = json.loads(text)
            assert "error" not in info, info
            stepped += bool(info["frame"] and info["frame"]["rows"])
        now += 5
    assert stepped >= 10


def by_step(rows: list[dict[str, Any]]) -> dict[tuple[int, int], dict[str, Any]]:
    """Rows as the server stores them: one per (episode, step), the first copy kept."""
    kept: dict[tuple[int, int], dict[str, Any]] = {}
    for r in timeless(rows):
        key = (r["episode"], r["step"])
        assert kept.setdefault(key, r) == r, f"step {key} recorded twice with different contents"
    return kept


@pytest.mark.parametrize(
    ("reload", "seed"),
    [((1, 1500.0, 3500.0), 1), ((0, 2500.0, 3000.0), 2), ((1, 4300.0, 9000.0), 3)],
    ids=["mid-episode", "the lower slot, quickly", "between episodes"],
)
def test_a_reloaded_member_rejoins_and_both_record_every_step_once_and_identically(
    reload: tuple[int, float, float], seed: int
) -> None:
    peers = run(scene(reconnect_grace_s=20), start(DUO, 2), seed=seed, reload=reload)
    a, b = (by_step(p["rows"]) for p in peers)
    assert len(a) == len(b) == 120 and a == b
    assert all(p["runner"].state == "done" and p["runner"].desyncs == [] for p in peers)
    fresh = peers[reload[0]]["runner"]
    assert fresh.replayed > 0
    kinds = [e["kind"] for e in peers[1 - reload[0]]["events"]]
    assert "peer_back" in kinds and "peer_gone" not in kinds


def test_a_turn_based_game_resumes_after_a_reload() -> None:
    agents = {"player_1": {"kind": "human", "slot": 0}, "player_2": {"kind": "human", "slot": 1}}
    spec = scene(
        "mug_e2e_envs.tictactoe:make_env",
        key_bindings={str(i): i for i in range(1, 10)},
        default_action=None,
        max_steps=None,
        num_episodes=1,
        reconnect_grace_s=20,
    )
    pytest.importorskip("mug_e2e_envs.tictactoe")
    peers = run(spec, start(agents, 2), seed=4, reload=(1, 1200.0, 2500.0), keys=[str(i) for i in range(1, 10)])
    a, b = (by_step(p["rows"]) for p in peers)
    assert a == b and len(a) >= 5
    assert all(p["runner"].state == "done" and p["runner"].desyncs == [] for p in peers)
