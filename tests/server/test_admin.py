"""The admin view at /admin: off without its password, the login, its rate limit, the cookie, CSRF, the live
state and the actions, against a real server (HTTP with httpx, participants as python-socketio clients)."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sio_peer import duo, experiment, matched, peers

from mug.app import create_app
from mug.configurations import StaticScene
from mug.server.admin.auth import COOKIE, LOGIN_ATTEMPTS_PER_MINUTE
from mug.settings import Settings
from mug.testing import RunningServer, start_server

PASSWORD = "correct horse battery"
EXPERIMENT = experiment(duo(), StaticScene(id="survey"))


@pytest.fixture
def admin_server(tmp_path: Path) -> Iterator[RunningServer]:
    server = start_server(
        EXPERIMENT,
        database_url=f"sqlite:///{tmp_path / 'data.sqlite3'}",
        bundle_dir=tmp_path / "no-bundle",
        in_thread=True,
        admin_password=PASSWORD,
    )
    yield server
    server.stop()


@pytest.fixture
async def http(admin_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=admin_server.url) as client:
        yield client


async def login(http: httpx.AsyncClient, password: str = PASSWORD, **headers: str) -> httpx.Response:
    origin = {"Origin": str(http.base_url).rstrip("/")}
    response = await http.post("/admin/login", data={"password": password}, headers=origin | headers)
    http.cookies.clear()  # each request below names the session it uses (or none)
    return response


def session(value: str) -> dict[str, str]:
    return {"Cookie": f"{COOKIE}={value}"}


async def logged_in(http: httpx.AsyncClient) -> dict[str, str]:
    """Log in; returns the headers of an action (the session cookie, the CSRF token, the Origin)."""
    response = await login(http)
    assert response.status_code == 303, response.text
    cookie = response.cookies[COOKIE]
    page = await http.get("/admin", headers=session(cookie))
    csrf = page.text.split('name="mug-csrf" content="')[1].split('"')[0]
    return {"Cookie": f"{COOKIE}={cookie}", "X-MUG-CSRF": csrf, "Origin": str(http.base_url).rstrip("/")}


def set_cookie_attributes(response: httpx.Response) -> set[str]:
    (header,) = [v for k, v in response.headers.multi_items() if k == "set-cookie"]
    return {
        part.strip().split("=")[0].lower() + ("=" + part.split("=")[1].lower() if "=" in part else "")
        for part in header.split(";")[1:]
    }


def test_without_a_password_there_is_no_admin_view_and_the_log_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'd.sqlite3'}", bundle_dir=tmp_path / "none")
    with caplog.at_level(logging.INFO, logger="mug"):
        create_app(EXPERIMENT, settings)
    assert "admin view off: set MUG_ADMIN_PASSWORD" in caplog.text
    with pytest.raises(ValueError, match="at least 12 characters"):
        Settings.model_validate({"admin_password": "short"})


async def test_the_admin_routes_are_not_found_without_a_password(serve: Any) -> None:
    live = serve(EXPERIMENT)
    async with httpx.AsyncClient(base_url=live.url, headers={"Origin": live.url}) as client:
        for method, path in [
            ("GET", "/admin"),
            ("POST", "/admin/login"),
            ("GET", "/admin/api/state"),
            ("GET", "/admin/export.zip"),
            ("POST", "/admin/api/matches/m/end"),
        ]:
            assert (await client.request(method, path, data={"password": "x" * 20})).status_code == 404, path


async def test_a_wrong_password_is_refused_and_the_right_one_gives_a_strict_http_only_cookie(
    http: httpx.AsyncClient,
) -> None:
    form = await http.get("/admin")
    assert form.status_code == 200 and 'name="password"' in form.text and "mug-csrf" not in form.text
    assert "frame-ancestors 'none'" in form.headers["content-security-policy"]
    wrong = await login(http, "wrong password here")
    assert wrong.status_code == 401 and "Wrong password." in wrong.text and COOKIE not in wrong.cookies
    assert (await http.get("/admin/api/state")).status_code == 401
    right = await login(http)
    assert right.status_code == 303 and right.headers["location"] == "/admin"
    attributes = set_cookie_attributes(right)
    assert {"httponly", "samesite=strict", "path=/admin"} <= attributes and "secure" not in attributes
    value = right.cookies[COOKIE]
    assert len(value.split(".")[0]) == 32, "128 random bits name the session"
    assert value != (await login(http)).cookies[COOKIE], "every login gets its own session"
    state = await http.get("/admin/api/state", headers=session(value))
    assert state.status_code == 200 and state.json()["experiment"]["id"] == "mp"
    forged = value[:-4] + ("0000" if not value.endswith("0000") else "1111")
    assert (await http.get("/admin/api/state", headers=session(forged))).status_code == 401


async def test_over_https_behind_a_trusted_proxy_the_cookie_is_secure(admin_server: RunningServer) -> None:
    origin = "https://study.example.org"
    async with httpx.AsyncClient(base_url=admin_server.url) as client:
        # uvicorn trusts X-Forwarded-* from 127.0.0.1 (its --forwarded-allow-ips default): the scheme is https
        headers = {"X-Forwarded-Proto": "https", "Host": "study.example.org", "Origin": origin}
        right = await client.post("/admin/login", data={"password": PASSWORD}, headers=headers)
    assert right.status_code == 303
    assert {"secure", "httponly", "samesite=strict"} <= set_cookie_attributes(right)


async def test_login_attempts_are_limited_per_client_address(http: httpx.AsyncClient) -> None:
    for _ in range(LOGIN_ATTEMPTS_PER_MINUTE):
        assert (await login(http, "not the password!")).status_code == 401
    refused = await login(http)  # even the right password, once the address is over its limit
    assert refused.status_code == 429 and refused.headers["retry-after"] == "60"
    assert "Too many attempts" in refused.text and COOKIE not in refused.cookies
    # another client behind the trusted proxy (X-Forwarded-For from 127.0.0.1) has its own count
    other = await login(http, **{"X-Forwarded-For": "203.0.113.7"})
    assert other.status_code == 303


async def test_a_login_form_sent_from_another_site_is_refused(http: httpx.AsyncClient) -> None:
    refused = await login(http, Origin="https://evil.example")
    assert refused.status_code == 403 and COOKIE not in refused.cookies


async def test_actions_without_the_csrf_token_or_from_another_origin_are_refused(
    http: httpx.AsyncClient, admin_server: RunningServer
) -> None:
    a, b = await peers(admin_server.url, 2)
    try:
        start, _ = await matched(a, b)
        headers = await logged_in(http)
        end = f"/admin/api/matches/{start['match_id']}/end"
        no_token = {k: v for k, v in headers.items() if k != "X-MUG-CSRF"}
        cases = [
            ({k: v for k, v in headers.items() if k != "Cookie"}, 401, "not_logged_in"),
            (no_token, 403, "bad_csrf"),
            (headers | {"X-MUG-CSRF": "0" * 64}, 403, "bad_csrf"),
            (headers | {"Origin": "https://evil.example"}, 403, "bad_origin"),
            ({k: v for k, v in headers.items() if k != "Origin"}, 403, "bad_origin"),
        ]
        for sent, status, code in cases:
            response = await http.post(end, headers=sent)
            assert (response.status_code, response.json()["error"]["code"]) == (status, code), sent
        exclude = await http.post(f"/admin/api/participants/{a.pid}/exclude", headers=no_token)
        assert exclude.status_code == 403
        state = (await http.get("/admin/api/state", headers=headers)).json()
        assert [m["id"] for m in state["matches"]] == [start["match_id"]], "nothing was ended"
        assert not a.got("match_end") and not b.got("match_end")
    finally:
        for p in (a, b):
            await p.stop()


async def test_the_state_shows_a_running_match_and_ending_it_gives_its_members_their_outcome(
    http: httpx.AsyncClient, admin_server: RunningServer
) -> None:
    waiting, a, b = await peers(admin_server.url, 3)
    try:
        start_a, _ = await matched(a, b)
        match_id = start_a["match_id"]
        assert (await waiting.call("lobby_join", {"v": 1, "scene_id": "duo"}))["ok"]
        status = {
            "input_delay": 3,
            "frames": 120,
            "stalls": 2,
            "stall_ms": 150,
            "desyncs": 0,
            "peers": [{"slot": 1, "type": "direct", "rtt_ms": 0.4}],
        }
        earlier = {"v": 1, "match_id": match_id, "kind": "status", "data": status | {"stalls": 1, "frames": 60}}
        assert (await a.call("match_report", earlier))["ok"]
        report = {"v": 1, "match_id": match_id, "kind": "status", "data": status}
        assert (await a.call("match_report", report))["ok"]
        steps = {
            "v": 1,
            "scene_id": "duo",
            "batch": 0,
            "rows": [
                {
                    "episode": 0,
                    "agent": "left",
                    "step": 1,
                    "action": "0",
                    "reward": "0",
                    "terminated": False,
                    "truncated": False,
                    "info": "{}",
                    "obs_checksum": "abcd",
                    "episode_seed": 1,
                    "frame": 0,
                    "match_id": match_id,
                    "t_ms": 1.0,
                }
            ],
        }
        assert (await a.call("records", steps))["ok"]
        headers = await logged_in(http)
        state = (await http.get("/admin/api/state", headers=headers)).json()
        (running,) = state["matches"]
        assert running["id"] == match_id and running["scene_id"] == "duo"
        member = running["members"][0]
        assert member["participant"] == a.pid and member["input_delay"] == 3
        assert (member["stalls"], member["frame"]) == (2, 120), "the latest status report"
        assert member["links"] == [{"slot": 1, "type": "direct", "rtt_ms": 0.4}]
        assert running["members"][1]["links"] == [], "b sent no status yet"
        assert state["participants"]["by_scene"] == [{"scene": "duo", "phases": {"match": 2, "lobby": 1}}]
        (lobby,) = state["lobbies"]
        assert [w["participant"] for w in lobby["waiting"]] == [waiting.pid]
        assert state["outcomes"] == {"under way": 3}
        assert len(state["waits"]["waited_s"]) == 2, "the lobby waits of the formed match, for the plot"
        assert sum(state["load"]["arrivals"]) == 3 and state["load"]["matches"][-1] == 1

        ended = await http.post(f"/admin/api/matches/{match_id}/end", headers=headers)
        assert ended.status_code == 200 and ended.json() == {"ok": True, "match": match_id}
        for peer in (a, b):
            got = await peer.wait_for("match_end")
            assert got["reason"] == "ended_by_admin" and got["scene"]["outcome"] == "ended_by_admin"
            assert got["scene"]["title"] == "The game was ended" and got["scene"]["completion_code"]
        again = await http.post(f"/admin/api/matches/{match_id}/end", headers=headers)
        assert again.status_code == 404 and again.json()["error"]["code"] == "no_live_match"
        state = (await http.get("/admin/api/state", headers=headers)).json()
        assert state["matches"] == [] and state["ended_matches"][0]["end_reason"] == "ended_by_admin"
        assert state["outcomes"] == {"ended_by_admin": 2, "under way": 1}
        # a page that says hello again is shown its outcome page
        await a.start()
        assert a.hello["scene"]["outcome"] == "ended_by_admin"
    finally:
        for p in (waiting, a, b):
            await p.stop()
    with sqlite3.connect(admin_server.database_url.removeprefix("sqlite:///")) as db:
        assert db.execute("SELECT end_reason FROM matches").fetchall() == [("ended_by_admin",)]
        outcomes = dict(db.execute("SELECT id, outcome FROM participants").fetchall())
        assert outcomes[a.pid] == outcomes[b.pid] == "ended_by_admin" and outcomes[waiting.pid] is None
        assert db.execute("SELECT count(*) FROM steps").fetchone() == (1,), "the data is kept"


async def test_an_excluded_participant_gets_the_excluded_page_wherever_they_are(
    http: httpx.AsyncClient, admin_server: RunningServer
) -> None:
    (alone,) = await peers(admin_server.url, 1)
    a, b = await peers(admin_server.url, 2)
    try:
        await matched(a, b)
        headers = await logged_in(http)
        assert (await http.post(f"/admin/api/participants/{alone.pid}/exclude", headers=headers)).json() == {
            "ok": True,
            "participant": alone.pid,
            "scene": "duo",
        }
        assert await alone.wait_for("mug_outcome") == {"outcome": "excluded"}
        await alone.start()
        assert alone.hello["scene"]["outcome"] == "excluded"
        assert alone.hello["scene"]["title"] == "Your participation has ended"
        twice = await http.post(f"/admin/api/participants/{alone.pid}/exclude", headers=headers)
        assert twice.status_code == 409 and twice.json()["error"]["code"] == "ended_already"
        unknown = await http.post("/admin/api/participants/p_nobody/exclude", headers=headers)
        assert unknown.status_code == 404
        # a member of a running match: they are excluded, the partner's match ends with ended_by_admin
        assert (await http.post(f"/admin/api/participants/{a.pid}/exclude", headers=headers)).status_code == 200
        assert (await b.wait_for("match_end"))["scene"]["outcome"] == "ended_by_admin"
        assert (await a.wait_for("match_end"))["scene"] is None, "its page reloads onto the excluded page"
        await a.start()
        assert a.hello["scene"]["outcome"] == "excluded"
    finally:
        for p in (alone, a, b):
            await p.stop()


async def test_the_export_downloads_as_a_zip_of_the_mug_export_tables(
    http: httpx.AsyncClient, admin_server: RunningServer
) -> None:
    (p,) = await peers(admin_server.url, 1)
    await p.stop()
    assert (await http.get("/admin/export.zip")).status_code == 401
    headers = await logged_in(http)
    response = await http.get("/admin/export.zip", headers={"Cookie": headers["Cookie"]})
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith('attachment; filename="mp-')
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        names = set(archive.namelist())
        assert {"participants.csv", "matches.csv", "metadata.json", "MANIFEST.csv"} <= names
        assert p.pid in archive.read("participants.csv").decode()
        assert json.loads(archive.read("metadata.json"))["experiment"]["id"] == "mp"


async def test_the_admin_pages_are_their_own_files(http: httpx.AsyncClient) -> None:
    headers = await logged_in(http)
    page = (await http.get("/admin", headers={"Cookie": headers["Cookie"]})).text
    static = page.split('<script type="module" src="')[1].split("admin.js")[0]
    assert static.startswith("/admin/static/")
    for name in ("admin.js", "admin.css", "vendor/uPlot.esm.js", "vendor/uPlot.min.css", "vendor/uPlot.LICENSE"):
        assert (await http.get(static + name)).status_code == 200, name
    participant_page = (await http.get("/")).text
    assert "/admin" not in participant_page and "uPlot" not in participant_page
