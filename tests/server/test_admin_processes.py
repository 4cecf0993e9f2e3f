"""The admin view with two server processes sharing Redis and PostgreSQL: a session and the login rate limit
hold on both, the view of either shows the same study, and its actions reach participants on the other."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sio_peer import Peer, matched

from mug.server.admin.auth import COOKIE, LOGIN_ATTEMPTS_PER_MINUTE
from mug.testing import RunningServer, start_server
from mug.testing.services import PostgresServer, RedisServer

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.processes]

EXPERIMENTS = Path(__file__).resolve().parent / "mp_experiments.py"
PASSWORD = "two processes, one password"


@pytest.fixture
def two(redis_server: RedisServer, postgres: PostgresServer, tmp_path: Path) -> Iterator[list[RunningServer]]:
    database_url = postgres.new_database()

    def serve(i: int) -> RunningServer:
        return start_server(
            f"{EXPERIMENTS}:duo",
            database_url=database_url,
            bundle_dir=tmp_path / "no-bundle",
            cwd=tmp_path,
            env={"MUG_REDIS_URL": redis_server.url},
            log=tmp_path / f"server{i}.log",
            log_level="info",
            admin_password=PASSWORD,
        )

    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(serve, i) for i in range(2)]
    servers = [f.result() for f in futures if f.exception() is None]
    try:
        assert len(servers) == 2, [f.exception() for f in futures]
        yield servers
    finally:
        for server in servers:
            server.stop()
        for log in sorted(tmp_path.glob("server*.log")):
            print(log.read_text(errors="replace")[-3000:])


async def test_sessions_rate_limits_views_and_actions_span_both_processes(two: list[RunningServer]) -> None:
    first, second = (s.url for s in two)
    async with httpx.AsyncClient() as http:

        async def login(url: str, password: str) -> httpx.Response:
            response = await http.post(f"{url}/admin/login", data={"password": password}, headers={"Origin": url})
            http.cookies.clear()
            return response

        # the attempts of one address are counted together, whichever process they reach
        for i in range(LOGIN_ATTEMPTS_PER_MINUTE):
            assert (await login((first, second)[i % 2], "not the password")).status_code == 401
        assert (await login(second, PASSWORD)).status_code == 429
        assert (await login(first, PASSWORD)).status_code == 429

    a = await Peer(first, "a").start()
    b = await Peer(second, "b").start()
    c = await Peer(second, "c").start()
    try:
        start, _ = await matched(a, b)
        async with httpx.AsyncClient() as http:
            # another address (behind the trusted proxy) logs in on the first process...
            response = await http.post(
                f"{first}/admin/login",
                data={"password": PASSWORD},
                headers={"Origin": first, "X-Forwarded-For": "198.51.100.4"},
            )
            assert response.status_code == 303
            cookie = f"{COOKIE}={response.cookies[COOKIE]}"
            http.cookies.clear()
            # ...and its session is good on the second, which shows the same study
            page = await http.get(f"{second}/admin", headers={"Cookie": cookie})
            csrf = page.text.split('name="mug-csrf" content="')[1].split('"')[0]
            views = [
                (await http.get(f"{url}/admin/api/state", headers={"Cookie": cookie})).json() for url in (first, second)
            ]
            for view in views:
                assert [m["id"] for m in view["matches"]] == [start["match_id"]]
                assert view["participants"]["total"] == 3
            headers = {"Cookie": cookie, "X-MUG-CSRF": csrf, "Origin": second}
            # the second process ends the match: a, connected to the first, gets its outcome page too
            ended = await http.post(f"{second}/admin/api/matches/{start['match_id']}/end", headers=headers)
            assert ended.status_code == 200
            for peer in (a, b):
                got = await peer.wait_for("match_end")
                assert got["reason"] == "ended_by_admin" and got["scene"]["outcome"] == "ended_by_admin"
            # the first process excludes c, whose connection is on the second
            headers["Origin"] = first
            excluded = await http.post(f"{first}/admin/api/participants/{c.pid}/exclude", headers=headers)
            assert excluded.status_code == 200
            assert await c.wait_for("mug_outcome") == {"outcome": "excluded"}
            await c.start()
            assert c.hello["scene"]["outcome"] == "excluded"
    finally:
        for p in (a, b, c):
            await p.stop()
