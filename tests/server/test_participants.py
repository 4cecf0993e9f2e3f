"""The participant protocol against a real server, driven by python-socketio's client."""

from __future__ import annotations

import asyncio
import csv
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio

from mug.configurations import EndScene, Experiment, GameScene, Question, StaticScene
from mug.server.export import export_async

EXPERIMENT = Experiment(
    id="proto",
    scenes=[
        StaticScene(id="consent", body="Agree?"),
        StaticScene(
            id="survey",
            questions=[
                Question(id="age", prompt="Age", kind="number"),
                Question(id="fun", prompt="Fun", kind="scale", scale_min=1, scale_max=5),
                Question(id="team", prompt="Team", kind="choice", options=["red", "blue"], required=False),
            ],
        ),
        GameScene(id="game", env="not_imported.by_server:make_env", key_bindings={"ArrowLeft": 0}, num_episodes=2),
        EndScene(id="end", redirect_url="https://example.org/done?cc={completion_code}&pid={PROLIFIC_PID}"),
    ],
)


class Page:
    """A participant's page, speaking the wire protocol."""

    def __init__(self, url: str, tab: str = "tab-one") -> None:
        self.url = url
        self.tab = tab
        self.sio = socketio.AsyncClient(reconnection=False)
        self.events: list[tuple[str, Any]] = []
        self.sio.on("mug_kicked", lambda data: self.events.append(("mug_kicked", data)))

    async def __aenter__(self) -> Page:
        await self.sio.connect(self.url, transports=["websocket"])
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.sio.disconnect()

    async def call(self, event: str, data: Any) -> dict[str, Any]:
        return await self.sio.call(event, data, timeout=10)  # type: ignore[no-any-return]

    async def hello(self, token: str | None = None, params: dict[str, str] | None = None) -> dict[str, Any]:
        return await self.call("hello", {"v": 1, "token": token, "tab": self.tab, "params": params or {}})


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def row(episode: int, step: int, **extra: Any) -> dict[str, Any]:
    return {
        "episode": episode,
        "step": step,
        "action": 1,
        "reward": 0.5,
        "terminated": False,
        "truncated": False,
        "info": {"k": [1, 2]},
        "obs_checksum": "00ff00ff00ff00ff",
        "episode_seed": 7,
        "t_ms": 1.7e12,
    } | extra


async def to_game(page: Page) -> dict[str, Any]:
    first = await page.hello(params={"PROLIFIC_PID": "abc 123", "STUDY_ID": "s1"})
    assert first["ok"], first
    assert (await page.call("advance", {"v": 1, "scene_id": "consent"}))["ok"]
    ack = await page.call("advance", {"v": 1, "scene_id": "survey", "answers": {"age": "31", "fun": 4}})
    assert ack["ok"], ack
    assert ack["scene"]["kind"] == "game" and isinstance(ack["scene"]["seed"], int)
    return first


async def test_whole_flow_is_stored_and_exported(serve: Any, tmp_path: Path) -> None:
    live = serve(EXPERIMENT)
    async with Page(live.url) as page:
        first = await to_game(page)
        rows = [row(0, s) for s in range(1, 6)] + [row(0, 6, terminated=True)] + [row(1, 1, truncated=True)]
        ack = await page.call("records", {"v": 1, "scene_id": "game", "batch": 0, "rows": rows})
        assert ack == {"ok": True, "batch": 0, "stored": 7, "duplicates": 0}
        again = await page.call("records", {"v": 1, "scene_id": "game", "batch": 0, "rows": rows})
        assert again == {"ok": True, "batch": 0, "stored": 0, "duplicates": 7}
        end = await page.call("advance", {"v": 1, "scene_id": "game"})
        assert end["scene"]["kind"] == "end"
        code = end["scene"]["completion_code"]
        assert end["scene"]["redirect"] == f"https://example.org/done?cc={code}&pid=abc%20123"
    out = tmp_path / "export"
    paths = await export_async(live.database_url, out)
    assert {p.name for p in paths} >= {
        "steps_game.csv",
        "participants.csv",
        "answers.csv",
        "url_params.csv",
        "scene_visits.csv",
        "MANIFEST.csv",
    }
    steps = read_csv(out / "steps_game.csv")
    assert [(r["episode"], r["step"]) for r in steps] == [("0", str(s)) for s in range(1, 7)] + [("1", "1")]
    assert steps[0]["participant_id"] == first["participant"]
    assert steps[0]["info"] == '{"k":[1,2]}' and steps[5]["terminated"] == "1" and steps[6]["truncated"] == "1"
    answers = {r["question_id"]: r["value"] for r in read_csv(out / "answers.csv")}
    assert answers == {"age": "31", "fun": "4", "team": ""}
    params = {r["name"]: r["value"] for r in read_csv(out / "url_params.csv")}
    assert params == {"PROLIFIC_PID": "abc 123", "STUDY_ID": "s1"}
    visits = read_csv(out / "scene_visits.csv")
    assert [v["scene_id"] for v in visits] == ["consent", "survey", "game", "end"]
    assert all(v["left_at"] for v in visits[:3]) and not visits[3]["left_at"]
    # the export is reproducible: a second run writes the same bytes
    out2 = tmp_path / "export2"
    await export_async(live.database_url, out2)
    for path in paths:
        assert path.read_bytes() == (out2 / path.name).read_bytes(), path.name


async def test_refresh_resumes_and_second_tab_is_refused(serve: Any) -> None:
    live = serve(EXPERIMENT)
    async with Page(live.url) as page:
        first = await to_game(page)
        await page.call("records", {"v": 1, "scene_id": "game", "batch": 0, "rows": [row(0, 1)]})
        token = first["token"]
        async with Page(live.url, tab="tab-two") as other:
            refused = await other.hello(token)
            assert refused["ok"] is False and refused["error"]["code"] == "second_tab"
        async with Page(live.url, tab="tab-one") as refreshed:
            again = await refreshed.hello(token)
            assert again["ok"] and again["participant"] == first["participant"]
            assert again["scene"]["id"] == "game" and again["resume"] == {"episode": 1}
        await asyncio.sleep(0.2)
        assert ("mug_kicked", {"reason": "reopened"}) in page.events


async def test_bad_input_gets_clear_errors_and_loses_nothing(serve: Any) -> None:
    live = serve(EXPERIMENT)
    async with Page(live.url) as good:
        await to_game(good)
        assert (await good.call("records", {"v": 1, "scene_id": "game", "batch": 0, "rows": [row(0, 1)]}))["ok"]
        async with Page(live.url, tab="hostile") as bad:
            before_hello = await bad.call("records", {"v": 1, "scene_id": "game", "batch": 0, "rows": [row(0, 2)]})
            assert before_hello["error"]["code"] == "no_hello"
            assert (await bad.call("hello", "not an object"))["error"]["code"] == "bad_message"
            assert (await bad.call("hello", {"v": 99, "tab": "abcd"}))["error"]["code"] == "bad_message"
            unknown = await bad.hello(token="x" * 40)
            assert unknown["error"]["code"] == "unknown_token"
            assert (await bad.hello())["ok"]
            wrong = await bad.call("records", {"v": 1, "scene_id": "game", "batch": 0, "rows": [row(0, 1)]})
            assert wrong["error"]["code"] == "wrong_scene"
            not_game = await bad.call("records", {"v": 1, "scene_id": "consent", "batch": 0, "rows": [row(0, 1)]})
            assert not_game["error"]["code"] == "not_a_game"
            malformed = await bad.call("records", {"v": 1, "scene_id": "consent", "batch": 0, "rows": [{"x": 1}]})
            assert malformed["error"]["code"] == "bad_message" and "rows.0" in malformed["error"]["message"]
            oversized = await bad.call("event", {"v": 1, "kind": "note", "data": {"blob": "x" * 1_500_000}})
            assert oversized["error"]["code"] == "too_large"
            assert (await bad.call("no_such_event", {}))["error"]["code"] == "unknown_event"
            bad_answer = await bad.call("advance", {"v": 1, "scene_id": "consent", "answers": {"nope": 1}})
            assert bad_answer["error"]["code"] == "bad_answers"
        # the well-behaved participant is still served and its rows are all there
        ack = await good.call("records", {"v": 1, "scene_id": "game", "batch": 1, "rows": [row(0, 2)]})
        assert ack["stored"] == 1
        beyond = await good.call("records", {"v": 1, "scene_id": "game", "batch": 2, "rows": [row(5, 1)]})
        assert beyond["error"]["code"] == "bad_rows"
    db = live.database_url.removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        assert conn.execute("select count(*) from steps").fetchone() == (2,)


async def test_survey_answers_are_checked(serve: Any) -> None:
    live = serve(EXPERIMENT)
    async with Page(live.url) as page:
        await page.hello()
        await page.call("advance", {"v": 1, "scene_id": "consent"})
        missing = await page.call("advance", {"v": 1, "scene_id": "survey", "answers": {"fun": 3}})
        assert missing["error"] == {"code": "bad_answers", "message": "question 'age' needs an answer"}
        out_of_range = await page.call("advance", {"v": 1, "scene_id": "survey", "answers": {"age": 3, "fun": 9}})
        assert "from 1 to 5" in out_of_range["error"]["message"]
        skip = await page.call("advance", {"v": 1, "scene_id": "game"})
        assert skip["error"]["code"] == "wrong_scene"


async def test_health_and_page(serve: Any) -> None:
    live = serve(EXPERIMENT)
    async with httpx.AsyncClient(base_url=live.url) as http:
        health = (await http.get("/healthz")).json()
        assert health == {"status": "ok", "experiment": "proto", "bundle": None, "connected": 0, "matches": 0}
        page = await http.get("/")
        assert page.status_code == 200 and '"bundle": null' in page.text


@pytest.mark.parametrize("bad", [{"v": 1, "tab": "ab"}, {"v": 1, "tab": "abcd", "params": {"x": "y" * 2000}}])
async def test_hello_validation(serve: Any, bad: dict[str, Any]) -> None:
    live = serve(EXPERIMENT)
    async with Page(live.url) as page:
        assert (await page.call("hello", bad))["error"]["code"] == "bad_message"
