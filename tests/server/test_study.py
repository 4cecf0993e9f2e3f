"""Study features against a real server: conditions, Randomize and Repeat, consent decline, entry rules."""

from __future__ import annotations

import asyncio
import collections
import csv
import json
import sqlite3
from pathlib import Path
from typing import Any

import socketio
from raw_socketio import RawClient
from sio_peer import Peer, duo

from mug.configurations import (
    Condition,
    EndScene,
    Entry,
    Experiment,
    GameScene,
    Outcome,
    Randomize,
    Repeat,
    StaticScene,
)
from mug.server.export import export_async

KEYS = {"ArrowLeft": 0}
CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
OLD_FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:100.0) Gecko/20100101 Firefox/100.0"


def game(**kw: Any) -> GameScene:
    return GameScene(**({"id": "game", "env": "not_imported.by_server:make_env", "key_bindings": KEYS} | kw))


class Page:
    """A client that bypasses the page: it says what it likes (User-Agent, params) and answers pings."""

    def __init__(self, url: str, tab: str = "tab-one", user_agent: str = CHROME) -> None:
        self.url = url
        self.tab = tab
        self.user_agent = user_agent
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("mug_ping", lambda data: data)

    async def __aenter__(self) -> Page:
        await self.sio.connect(self.url, transports=["websocket"], headers={"User-Agent": self.user_agent})
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.sio.disconnect()

    async def call(self, event: str, data: Any) -> dict[str, Any]:
        return await self.sio.call(event, data, timeout=10)  # type: ignore[no-any-return]

    async def hello(self, token: str | None = None, params: dict[str, str] | None = None) -> dict[str, Any]:
        ack = await self.call("hello", {"v": 1, "token": token, "tab": self.tab, "params": params or {}})
        return ack

    async def advance(self, scene_id: str, **extra: Any) -> dict[str, Any]:
        return await self.call("advance", {"v": 1, "scene_id": scene_id, "answers": {}} | extra)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def step(episode: int, n: int) -> dict[str, Any]:
    return {"episode": episode, "step": n, "action": 0, "reward": 0, "t_ms": 1.7e12, "terminated": True}


CONDITIONED = Experiment(
    id="cond",
    scenes=[StaticScene(id="welcome"), game(env_kwargs={"speed": 1}), EndScene(id="end")],
    conditions=[
        Condition(id="slow"),
        Condition(id="fast", overrides={"game": {"env_kwargs": {"speed": 3}, "max_steps": 50}}),
        Condition(id="short", scenes=[game(id="game-short", num_episodes=2), EndScene(id="end-short")]),
    ],
)


async def test_conditions_are_balanced_over_twelve_concurrent_arrivals(serve: Any, tmp_path: Path) -> None:
    live = serve(CONDITIONED)
    pages = [Page(live.url, tab=f"tab-{i}") for i in range(12)]
    for page in pages:
        await page.__aenter__()
    try:
        acks = await asyncio.gather(*(p.hello() for p in pages))  # all twelve hellos in flight at once
    finally:
        for page in pages:
            await page.__aexit__()
    assert all(a["ok"] for a in acks), acks
    first = collections.Counter(a["scene"]["id"] for a in acks)
    assert first == {"welcome": 8, "game-short": 4}  # slow and fast start with welcome, short with its game
    out = tmp_path / "export"
    await export_async(live.database_url, out)
    people = read_csv(out / "participants.csv")
    counts = collections.Counter(p["condition"] for p in people)
    assert counts == {"slow": 4, "fast": 4, "short": 4}
    orders = {p["condition"]: [e["id"] for e in json.loads(p["scene_order"])] for p in people}
    assert orders == {
        "slow": ["welcome", "game", "end"],
        "fast": ["welcome", "game--fast", "end"],
        "short": ["game-short", "end-short"],
    }
    with sqlite3.connect(live.database_url.removeprefix("sqlite:///")) as db:
        stored = dict(db.execute("select condition, assigned from condition_counts").fetchall())
    assert stored == {"slow": 4, "fast": 4, "short": 4}


async def test_balanced_within_one_over_arrivals_one_by_one(serve: Any) -> None:
    live = serve(CONDITIONED)
    seen: collections.Counter[str] = collections.Counter()
    for i in range(7):
        async with Page(live.url, tab=f"tab-{i}") as page:
            ack = await page.hello()
            seen[ack["scene"]["id"]] += 1
        # after every arrival the three conditions are within one of each other
    with sqlite3.connect(live.database_url.removeprefix("sqlite:///")) as db:
        assigned = [n for (n,) in db.execute("select assigned from condition_counts")]
    assert sorted(assigned) == [2, 2, 3]


async def test_condition_parameters_reach_the_scene_spec(serve: Any) -> None:
    live = serve(CONDITIONED)
    specs: dict[str, dict[str, Any]] = {}
    for i in range(3):
        async with Page(live.url, tab=f"tab-{i}") as page:
            ack = await page.hello()
            if ack["scene"]["id"] == "welcome":
                ack = await page.advance("welcome")
            specs[ack["scene"]["id"]] = ack["scene"]
    assert set(specs) == {"game", "game--fast", "game-short"}
    assert specs["game"]["env_kwargs"] == {"speed": 1} and specs["game"]["max_steps"] is None
    assert specs["game--fast"]["env_kwargs"] == {"speed": 3} and specs["game--fast"]["max_steps"] == 50
    assert specs["game-short"]["num_episodes"] == 2


async def test_multiplayer_members_share_their_condition(serve: Any) -> None:

    experiment = Experiment(
        id="mpc",
        scenes=[duo(input_delay=2), EndScene(id="end")],
        conditions=[Condition(id="a"), Condition(id="b", overrides={"duo": {"input_delay": 5}})],
    )
    live = serve(experiment)
    group = [await Peer(live.url, f"p{i}").start() for i in range(4)]
    try:
        scenes = [p.hello["scene"]["id"] for p in group]
        assert sorted(scenes) == ["duo--a", "duo--a", "duo--b", "duo--b"]  # lobbies per condition
        for p in group:
            assert (await p.call("lobby_join", {"v": 1, "scene_id": p.hello["scene"]["id"]}))["ok"]
        starts = [await p.wait_for("match_start") for p in group]
        for p, start in zip(group, starts, strict=True):
            partners = {q.hello["scene"]["id"] for q in group if q.pid in start["members"]}
            assert partners == {p.hello["scene"]["id"]}
            assert start["input_delay"] == (2 if start["scene_id"] == "duo--a" else 5)
    finally:
        for p in group:
            await p.stop()


async def test_randomize_and_repeat_are_per_participant_and_resume_after_reload(serve: Any, tmp_path: Path) -> None:
    experiment = Experiment(
        id="order",
        scenes=[
            Randomize([StaticScene(id="a"), StaticScene(id="b"), StaticScene(id="c")], keep=2),
            Repeat(game(num_episodes=1), 2),
            EndScene(id="end"),
        ],
    )
    live = serve(experiment)
    orders = set()
    for i in range(8):
        async with Page(live.url, tab=f"tab-{i}") as page:
            ack = await page.hello()
            token, seen = ack["token"], [ack["scene"]["id"]]
            ack = await page.advance(seen[-1])
            seen.append(ack["scene"]["id"])
        async with Page(live.url, tab=f"tab-{i}") as page:  # a reload resumes the same order
            again = await page.hello(token)
            assert again["scene"]["id"] == seen[-1] and again["scene_index"] == 1 and again["scene_count"] == 5
            for _ in range(3):
                ack = await page.advance(ack["scene"]["id"])
                seen.append(ack["scene"]["id"])
        assert seen[2:] == ["game-1", "game-2", "end"] and len(set(seen[:2])) == 2 and set(seen[:2]) <= {"a", "b", "c"}
        orders.add(tuple(seen[:2]))
    assert len(orders) > 1  # drawn per participant
    out = tmp_path / "export"
    await export_async(live.database_url, out)
    visits = [v for v in read_csv(out / "scene_visits.csv") if v["scene"] == "game"]
    assert sorted((v["scene_id"], v["repeat"]) for v in visits) == sorted([("game-1", "1"), ("game-2", "2")] * 8)
    people = read_csv(out / "participants.csv")
    assert all(p["order_seed"] and p["condition"] == "" for p in people)


CONSENTED = Experiment(
    id="consent",
    scenes=[
        StaticScene(
            id="consent",
            body="Do you agree?",
            consent=True,
            declined=Outcome(
                title="No consent",
                body="You declined.",
                completion_code="DECLINED1",
                redirect_url="https://example.org/out?cc={completion_code}&pid={PROLIFIC_PID}",
            ),
        ),
        StaticScene(id="info"),
        EndScene(id="end"),
    ],
)


async def test_a_declined_consent_ends_on_its_outcome_with_code_and_redirect(serve: Any, tmp_path: Path) -> None:
    live = serve(CONSENTED)
    async with Page(live.url) as page:
        ack = await page.hello(params={"PROLIFIC_PID": "abc"})
        assert ack["scene"]["consent"] is True and ack["scene"]["decline_label"] == "I do not agree"
        done = await page.advance("consent", decline=True)
        assert done["ok"] and done["scene"]["kind"] == "end" and done["scene"]["outcome"] == "consent_declined"
        assert done["scene"]["completion_code"] == "DECLINED1" and done["scene"]["title"] == "No consent"
        assert done["scene"]["redirect"] == "https://example.org/out?cc=DECLINED1&pid=abc"
        refused = await page.advance("consent")
        assert refused["error"]["code"] == "finished"
    async with Page(live.url) as page:  # a reload shows the same page
        again = await page.hello(ack["token"])
        assert again["scene"]["outcome"] == "consent_declined" and again["scene"]["completion_code"] == "DECLINED1"
    async with Page(live.url, tab="tab-two") as page:
        other = await page.hello()
        assert (await page.advance("consent"))["scene"]["id"] == "info"
        wrong = await page.advance("info", decline=True)
        assert wrong["error"]["code"] == "not_consent"
    out = tmp_path / "export"
    await export_async(live.database_url, out)
    outcomes = {
        p["id"]: (p["outcome"], p["outcome_scene"], p["completion_code"]) for p in read_csv(out / "participants.csv")
    }
    assert outcomes[ack["participant"]] == ("consent_declined", "consent", "DECLINED1")
    assert outcomes[other["participant"]][0] == ""


SCREENED = Experiment(
    id="screened",
    scenes=[StaticScene(id="welcome"), game(num_episodes=2), EndScene(id="end")],
    entry=Entry(
        unique_params=["PROLIFIC_PID"],
        duplicate=Outcome(title="Seen", body="Already here.", completion_code="DUP"),
        allow_mobile=False,
        mobile=Outcome(title="Mobile", body="Use a computer.", completion_code="MOB"),
        browsers={"chrome": 110, "firefox": 115},
        browser=Outcome(title="Browser", body="Another browser.", completion_code="BRW"),
        max_rtt_ms=500,
        slow=Outcome(title="Slow", body="Too slow.", completion_code="SLOW"),
        require_play=True,
    ),
)


async def test_each_entry_rule_refuses_with_its_outcome(serve: Any, tmp_path: Path) -> None:
    live = serve(SCREENED)
    refused: dict[str, dict[str, Any]] = {}
    async with Page(live.url, tab="tab-ok") as page:
        ok = await page.hello(params={"PROLIFIC_PID": "P1"})
        assert ok["scene"]["id"] == "welcome"
    async with Page(live.url, tab="tab-dup") as page:  # the same PROLIFIC_PID in a new browser
        refused["duplicate_param"] = await page.hello(params={"PROLIFIC_PID": "P1"})
        token = refused["duplicate_param"]["token"]
        assert (await page.advance(refused["duplicate_param"]["scene"]["id"]))["error"]["code"] == "finished"
    async with Page(live.url, tab="tab-dup") as page:  # and a reload of it stays refused
        assert (await page.hello(token))["scene"]["outcome"] == "duplicate_param"
    async with Page(live.url, tab="tab-mob", user_agent=ANDROID) as page:
        refused["mobile_device"] = await page.hello(params={"PROLIFIC_PID": "P2"})
    async with Page(live.url, tab="tab-ff", user_agent=OLD_FIREFOX) as page:
        refused["browser_unsupported"] = await page.hello(params={"PROLIFIC_PID": "P3"})
    raw = await RawClient.open(live.url, user_agent=CHROME)  # a client that never answers the server's pings
    try:
        refused["slow_connection"] = await raw.call("hello", {"v": 1, "token": None, "tab": "raw-tab", "params": {}})
    finally:
        await raw.close()
    codes = {"duplicate_param": "DUP", "mobile_device": "MOB", "browser_unsupported": "BRW", "slow_connection": "SLOW"}
    for outcome, ack in refused.items():
        assert ack["ok"] and ack["scene"]["kind"] == "end", (outcome, ack)
        assert ack["scene"]["outcome"] == outcome and ack["scene"]["completion_code"] == codes[outcome]
    async with Page(live.url, tab="tab-p2") as page:  # a refused arrival's value was not taken
        assert (await page.hello(params={"PROLIFIC_PID": "P2"}))["scene"]["id"] == "welcome"
    out = tmp_path / "export"
    await export_async(live.database_url, out)
    outcomes = collections.Counter((p["outcome"], p["outcome_scene"]) for p in read_csv(out / "participants.csv"))
    assert outcomes == {("", ""): 2} | {(o, "entry"): 1 for o in codes}


async def test_a_game_scene_cannot_be_skipped(serve: Any) -> None:
    live = serve(SCREENED)
    async with Page(live.url) as page:
        ack = await page.hello()
        await page.advance("welcome")
        skipped = await page.advance("game")
        assert skipped["error"]["code"] == "not_played" and "0 of its 2 episodes" in skipped["error"]["message"]
        stored = await page.call("records", {"v": 1, "scene_id": "game", "batch": 0, "rows": [step(0, 0)]})
        assert stored["ok"]
        assert (await page.advance("game"))["error"]["code"] == "not_played"
        await page.call("records", {"v": 1, "scene_id": "game", "batch": 1, "rows": [step(1, 0)]})
        assert (await page.advance("game"))["scene"]["id"] == "end"
        assert ack["ok"]


async def test_a_participant_whose_scenes_are_gone_is_told_so(serve: Any) -> None:
    live = serve(CONDITIONED)
    tokens = []
    for i in range(3):
        async with Page(live.url, tab=f"tab-{i}") as page:
            tokens.append((await page.hello())["token"])
    live.stop()
    changed = Experiment(id="cond", scenes=[StaticScene(id="welcome"), game(), EndScene(id="end")])
    again = serve(changed)
    codes = []
    for i, token in enumerate(tokens):
        async with Page(again.url, tab=f"tab-{i}") as page:
            ack = await page.hello(token)
            codes.append("ok" if ack["ok"] else ack["error"]["code"])
    assert sorted(codes) == ["experiment_changed", "experiment_changed", "ok"]  # only "slow" kept its scenes
