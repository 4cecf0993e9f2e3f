"""Two `uvicorn mug.app:app` processes serving one experiment through a real Redis and PostgreSQL.

Each test starts its own redis-server (no persistence) and a fresh PostgreSQL database, then two server
processes with `MUG_REDIS_URL`; python-socketio clients (`sio_peer.Peer`) connect to one process or the other,
the way participants behind a load balancer would.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import httpx
import pytest
import socketio
from sio_peer import Peer, matched, until_connected

from mug.testing import RunningServer, free_port, start_server, wait_until_async
from mug.testing.services import CaddyServer, NginxServer, PostgresServer, RedisServer, ServiceNotInstalled

pytestmark = [pytest.mark.redis, pytest.mark.postgres, pytest.mark.processes]

HERE = Path(__file__).resolve().parent
EXPERIMENTS = HERE / "mp_experiments.py"
NGINX_SITE = HERE.parent.parent / "docs" / "deploy" / "nginx-mug.conf"
CADDYFILE = HERE.parent.parent / "docs" / "deploy" / "Caddyfile"
SDP = {"type": "offer", "sdp": "v=0 opaque"}


class Cluster:
    """Server processes sharing one Redis and one database; `servers[i].url` is process i."""

    def __init__(
        self, redis: RedisServer, database_url: str, work: Path, experiment: str, env: dict[str, str] | None = None
    ) -> None:
        self.redis, self.database_url, self.work, self.experiment = redis, database_url, work, experiment
        self.env = {"MUG_REDIS_URL": redis.url} | (env or {})
        self.servers: list[RunningServer] = []

    def _start(self, i: int, port: int | None = None) -> RunningServer:
        return start_server(
            f"{EXPERIMENTS}:{self.experiment}",
            database_url=self.database_url,
            bundle_dir=self.work / "no-bundle",
            cwd=self.work,
            env=self.env,
            log=self.work / f"server{i}.log",
            log_level="info",
            port=port,
        )

    def start(self, n: int) -> Cluster:
        with ThreadPoolExecutor(n) as pool:  # start-up is mostly imports: in parallel
            futures = [pool.submit(self._start, i) for i in range(n)]
        failed = [exc for f in futures if (exc := f.exception()) is not None]
        self.servers = [f.result() for f in futures if f.exception() is None]
        if failed:  # the ones that did start are stopped with the others, never left running
            self.stop()
            raise failed[0]
        return self

    async def restart(self, i: int) -> RunningServer:
        """Start process i again on its port (after `servers[i].kill()` or `.stop()`)."""
        self.servers[i] = await asyncio.to_thread(self._start, i, self.servers[i].port)
        return self.servers[i]

    def url(self, i: int) -> str:
        return self.servers[i].url

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace")[-3000:] for p in sorted(self.work.glob("server*.log")))


@pytest.fixture
def cluster(redis_server: RedisServer, postgres: PostgresServer, tmp_path: Path) -> Iterator[Callable[..., Cluster]]:
    """`cluster(experiment="duo", n=2)`: n processes serving `mp_experiments.py:<experiment>`."""
    made: list[Cluster] = []
    database_url = postgres.new_database()  # here: the test's own event loop runs while it calls `make`

    def make(experiment: str = "duo", n: int = 2, env: dict[str, str] | None = None) -> Cluster:
        assert not made, "one cluster per test"
        c = Cluster(redis_server, database_url, tmp_path, experiment, env).start(n)
        made.append(c)
        return c

    yield make
    for c in made:
        c.stop()
        print(c.logs())  # shown by pytest when the test failed


async def query(database_url: str, sql: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def stop_all(*group: Peer) -> None:
    for p in group:
        await p.stop()


async def test_participants_on_different_processes_are_matched_and_their_signals_relayed(
    cluster: Callable[..., Cluster],
) -> None:
    c = cluster()
    a = await Peer(c.url(0), "a").start()
    b = await Peer(c.url(1), "b").start()
    try:
        assert (await a.call("lobby_join", {"v": 1, "scene_id": "duo"}))["ok"]
        waiting = await a.wait_for("lobby_waiting")
        assert waiting == {"scene_id": "duo", "waiting": 1, "position": 0, "needed": 1}
        assert (await b.call("lobby_join", {"v": 1, "scene_id": "duo"}))["ok"]
        sa, sb = await a.wait_for("match_start"), await b.wait_for("match_start")
        assert sa["match_id"] == sb["match_id"] and sa["seed"] == sb["seed"]
        assert (sa["slot"], sb["slot"]) == (0, 1) and sa["members"] == [a.pid, b.pid]
        # offers, answers and candidates cross between the processes, both ways, untouched
        assert (await a.call("signal", {"v": 1, "to": 1, "kind": "offer", "data": SDP}))["ok"]
        got = await b.wait_for("signal")
        assert got == {"kind": "offer", "data": SDP, "from": {"pid": a.pid, "slot": 0}, "match_id": sa["match_id"]}
        assert (await b.call("signal", {"v": 1, "to": 0, "kind": "answer", "data": {"sdp": "x"}}))["ok"]
        assert (await a.wait_for("signal"))["from"] == {"pid": b.pid, "slot": 1}
        # the match is stored once, with both members, by the process that formed it
        rows = await query(c.database_url, "SELECT match_id, participant_id, slot FROM match_members ORDER BY slot")
        assert [(r["participant_id"], r["slot"]) for r in rows] == [(a.pid, 0), (b.pid, 1)]
        # both report finishing, each to its own process: the match ends once, as finished, with no match_end
        for p in (a, b):
            report = {"v": 1, "match_id": sa["match_id"], "kind": "finished", "data": {}}
            assert (await p.call("match_report", report))["ok"]
        (match,) = await query(c.database_url, "SELECT end_reason FROM matches")
        assert match["end_reason"] == "finished"
        refused = await a.call("signal", {"v": 1, "to": 1, "kind": "offer", "data": SDP})
        assert refused["error"]["code"] == "match_ended"
        assert not a.got("match_end") and not b.got("match_end")
    finally:
        await stop_all(a, b)


async def test_arrivals_at_the_same_moment_on_both_processes_never_double_match(
    cluster: Callable[..., Cluster],
) -> None:
    c = cluster()
    group = [await Peer(c.url(i % 2), f"p{i}").start() for i in range(10)]
    try:
        acks = await asyncio.gather(*(p.call("lobby_join", {"v": 1, "scene_id": "duo"}) for p in group))
        assert all(ack["ok"] for ack in acks), acks
        starts = [await p.wait_for("match_start") for p in group]
        by_match: dict[str, list[str]] = {}
        for p, s in zip(group, starts, strict=True):
            assert p.pid in s["members"] and s["members"][s["slot"]] == p.pid
            by_match.setdefault(s["match_id"], []).append(p.pid)
        assert len(by_match) == 5 and all(len(m) == 2 for m in by_match.values())
        rows = await query(c.database_url, "SELECT participant_id FROM match_members")
        assert sorted(r["participant_id"] for r in rows) == sorted(p.pid for p in group)  # each in one match
        assert not [e for p in group for e in p.events if e[0] == "match_start"]  # and told once
    finally:
        await stop_all(*group)


async def test_a_second_tab_on_the_other_process_is_refused_and_a_refresh_there_moves_the_participant(
    cluster: Callable[..., Cluster],
) -> None:
    c = cluster()
    a = await Peer(c.url(0), "a").start()
    b = await Peer(c.url(1), "b").start()
    other_tab = Peer(c.url(1), "a-other")
    refreshed = Peer(c.url(1), "a")  # the same tab, reloaded, and this time the balancer picked process 1
    try:
        other_tab.token = a.token
        await other_tab.sio.connect(c.url(1), transports=["websocket"])
        hello = {"v": 1, "token": a.token, "tab": "tab-a-other", "params": {}, "match_id": None}
        ack = await other_tab.call("hello", hello)
        assert ack["error"]["code"] == "second_tab"
        assert (await a.call("event", {"v": 1, "kind": "ping", "data": {}}))["ok"]  # the first tab carries on
        refreshed.token = a.token
        await refreshed.start()
        assert refreshed.pid == a.pid
        assert (await a.wait_for("mug_kicked"))["reason"] == "reopened"  # its old connection on process 0 is dropped
        await until_connected(c.url(0), 0)
        # and what concerns the participant now reaches its connection on process 1
        assert (await refreshed.call("lobby_join", {"v": 1, "scene_id": "duo"}))["ok"]
        assert (await b.call("lobby_join", {"v": 1, "scene_id": "duo"}))["ok"]
        start = await refreshed.wait_for("match_start")
        assert start["members"] == [a.pid, b.pid] and not a.got("match_start")
    finally:
        await stop_all(a, b, other_tab, refreshed)


async def test_a_lobby_timeout_is_applied_once_by_one_process(cluster: Callable[..., Cluster]) -> None:
    c = cluster("quick")
    a = await Peer(c.url(0), "a").start()
    b = await Peer(c.url(1), "b").start()
    try:
        assert (await a.call("lobby_join", {"v": 1, "scene_id": "duo"}))["ok"]
        timeout = await a.wait_for("lobby_timeout", timeout=10)
        assert timeout["outcome"] == "end" and timeout["scene"]["completion_code"] == "ALONE"
        # a later wait, on the other process, times out too: by then both processes have ticked many times
        assert (await b.call("lobby_join", {"v": 1, "scene_id": "duo"}))["ok"]
        assert (await b.wait_for("lobby_timeout", timeout=10))["scene"]["completion_code"] == "ALONE"
        assert not a.got("lobby_timeout") and not b.got("lobby_timeout")  # each got exactly one
        rows = await query(c.database_url, "SELECT id, outcome FROM participants ORDER BY id")
        assert {r["id"]: r["outcome"] for r in rows} == {a.pid: "lobby_timeout", b.pid: "lobby_timeout"}
        assert await query(c.database_url, "SELECT * FROM lobby_waits") == []
        assert await query(c.database_url, "SELECT * FROM matches") == []
    finally:
        await stop_all(a, b)


async def test_a_match_ends_once_with_each_members_outcome_whichever_process_decides(
    cluster: Callable[..., Cluster],
) -> None:
    c = cluster()
    a = await Peer(c.url(0), "a").start()
    b = await Peer(c.url(1), "b").start()
    try:
        match_id = (await matched(a, b))[0]["match_id"]
        # both peers report losing each other at once, each to its own process: one of them ends the match
        lost = {"reason": "timeout", "peer_slot": 0, "last_confirmed_frame": 10}
        reports = [{"v": 1, "match_id": match_id, "kind": "peer_gone", "data": lost | {"peer_slot": s}} for s in (1, 0)]
        acks = await asyncio.gather(a.call("match_report", reports[0]), b.call("match_report", reports[1]))
        assert all(ack["ok"] for ack in acks)
        ends = [await p.wait_for("match_end") for p in (a, b)]
        assert [e["reason"] for e in ends] == ["peer_lost", "peer_lost"]
        assert [e["scene"]["completion_code"] for e in ends] == ["STAYED", "STAYED"]
        # the process holding each connection learnt the outcome: its page moves on from it, not from the game
        assert (await a.call("advance", {"v": 1, "scene_id": "duo"}))["error"]["code"] == "finished"
        assert (await b.call("advance", {"v": 1, "scene_id": "duo"}))["error"]["code"] == "finished"
        (match,) = await query(c.database_url, "SELECT end_reason FROM matches")
        assert match["end_reason"] == "peer_lost"
        rows = await query(c.database_url, "SELECT outcome, completion_code FROM participants")
        assert sorted((r["outcome"], r["completion_code"]) for r in rows) == [("partner_left", "STAYED")] * 2
        # a page that reloads sees its outcome again, on either process
        for p, process in ((a, 1), (b, 0)):
            await p.start(url=c.url(process))
            assert p.hello["scene"]["outcome"] == "partner_left"
        assert not a.got("match_end") and not b.got("match_end")  # one match_end each
    finally:
        await stop_all(a, b)


async def test_a_member_who_leaves_on_one_process_ends_the_match_for_the_partner_on_the_other(
    cluster: Callable[..., Cluster],
) -> None:
    c = cluster("quick")  # reconnect_grace_s=1
    a = await Peer(c.url(0), "a").start()
    b = await Peer(c.url(1), "b").start()
    try:
        await matched(a, b)
        await a.stop()  # closes the tab and never comes back
        ended = await b.wait_for("match_end", timeout=10)
        assert ended["reason"] == "peer_left" and ended["scene"]["completion_code"] == "STAYED"
        rows = await query(c.database_url, "SELECT id, outcome FROM participants")
        assert {r["id"]: r["outcome"] for r in rows} == {a.pid: "left", b.pid: "partner_left"}
        await a.start(url=c.url(1))  # the leaver comes back later, on the other process: their own outcome
        assert a.hello["scene"]["outcome"] == "left" and a.hello["scene"]["completion_code"] == "GONE"
    finally:
        await stop_all(a, b)


async def test_a_page_reloaded_onto_the_other_process_gets_its_running_match_back(
    cluster: Callable[..., Cluster],
) -> None:
    c = cluster()
    a = await Peer(c.url(0), "a").start()
    b = await Peer(c.url(1), "b").start()
    try:
        start = (await matched(a, b))[0]
        await a.start(url=c.url(1))  # reloaded (its page names no match), and this time on process 1
        rejoin = a.hello["resume"]["match"]
        assert rejoin["rejoin"] is True and rejoin["match_id"] == start["match_id"] and rejoin["slot"] == 0
        # its offers reach the partner, and the partner's reach it, now both on process 1
        assert (await a.call("signal", {"v": 1, "to": 1, "kind": "offer", "data": SDP}))["ok"]
        assert (await b.wait_for("signal"))["from"] == {"pid": a.pid, "slot": 0}
        resumed = {"v": 1, "match_id": start["match_id"], "kind": "resumed", "data": {}}
        assert (await a.call("match_report", resumed))["ok"]
        for p in (a, b):
            finished = {"v": 1, "match_id": start["match_id"], "kind": "finished", "data": {}}
            assert (await p.call("match_report", finished))["ok"]
        (match,) = await query(c.database_url, "SELECT end_reason FROM matches")
        assert match["end_reason"] == "finished"
        assert not a.got("match_end") and not b.got("match_end")
    finally:
        await stop_all(a, b)


async def test_one_process_killed_its_participants_carry_on_through_the_other(
    cluster: Callable[..., Cluster],
) -> None:
    c = cluster()
    a = await Peer(c.url(0), "a").start()
    b = await Peer(c.url(1), "b").start()
    try:
        match_id = (await matched(a, b))[0]["match_id"]
        c.servers[0].kill()  # SIGKILL: no shutdown of any kind
        await a.start(match_id=match_id, url=c.url(1))  # the page reconnects; the balancer sends it to process 1
        assert (await b.call("signal", {"v": 1, "to": 0, "kind": "offer", "data": SDP}))["ok"]
        assert (await a.wait_for("signal"))["from"]["slot"] == 1
        # process 0 starts again while process 1 holds the match: it does not take it over or count anyone absent
        await c.restart(0)
        c2 = await Peer(c.url(0), "c").start()
        d = await Peer(c.url(1), "d").start()
        await matched(c2, d)  # and it matches again, across processes
        for p in (a, b):
            assert (await p.call("match_report", {"v": 1, "match_id": match_id, "kind": "finished", "data": {}}))["ok"]
        rows = await query(c.database_url, "SELECT id, end_reason FROM matches WHERE id = $1", match_id)
        assert rows[0]["end_reason"] == "finished"
        assert not a.got("match_end") and not b.got("match_end")
        await stop_all(c2, d)
    finally:
        await stop_all(a, b)


async def test_members_held_by_a_killed_process_who_never_return_count_as_gone(
    cluster: Callable[..., Cluster],
) -> None:
    c = cluster("quick")  # reconnect_grace_s=1
    a = await Peer(c.url(0), "a").start()
    b = await Peer(c.url(1), "b").start()
    try:
        await matched(a, b)
        c.servers[0].kill()
        # nobody told process 1 that a's connection is gone: it learns it when process 0's key expires in
        # Redis, then a has the grace period to come back
        ended = await b.wait_for("match_end", timeout=15)
        assert ended["reason"] == "peer_left" and ended["scene"]["completion_code"] == "STAYED"
        rows = await query(c.database_url, "SELECT id, outcome FROM participants")
        assert {r["id"]: r["outcome"] for r in rows} == {a.pid: "left", b.pid: "partner_left"}
        info = json.loads(await asyncio.to_thread(_healthz, c.url(1)))
        assert info["connected"] == 1
    finally:
        await stop_all(a, b)


async def test_the_new_participant_quota_of_an_address_is_counted_across_processes(
    cluster: Callable[..., Cluster],
) -> None:
    c = cluster(env={"MUG_NEW_PARTICIPANTS_PER_MINUTE": "3"})
    # one address, its arrivals spread over both processes: the fourth in a minute is refused wherever it lands
    urls = [c.url(0), c.url(1), c.url(0), c.url(1), c.url(0)]
    acks = [await _new_participant(url, "127.0.0.4", claims=None) for url in urls]
    assert [ack.get("ok") or ack["error"]["code"] for ack in acks] == [True] * 3 + ["quota_exceeded"] * 2
    assert "the limit is 3" in acks[3]["error"]["message"]
    assert (await _new_participant(c.url(1), "127.0.0.5", claims=None))["ok"]  # another address has its own
    rows = await query(c.database_url, "SELECT count(*) AS n FROM participants")
    assert rows[0]["n"] == 4


def _healthz(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
        return str(response.read().decode())


def _proxy(kind: str, c: Cluster, port: int) -> NginxServer | CaddyServer:
    """The README's proxy configuration as shipped, with the ports of this test."""
    up0, up1 = c.url(0).removeprefix("http://"), c.url(1).removeprefix("http://")
    if kind == "nginx":
        site = NGINX_SITE.read_text().replace("listen 80;", f"listen 127.0.0.1:{port};")
        return NginxServer(site.replace("127.0.0.1:8001", up0).replace("127.0.0.1:8002", up1), port)
    caddyfile = CADDYFILE.read_text().replace("study.example.org {", f"{{\n\tadmin off\n}}\nhttp://127.0.0.1:{port} {{")
    return CaddyServer(caddyfile.replace("127.0.0.1:8001", up0).replace("127.0.0.1:8002", up1), port)


@pytest.mark.proxy
@pytest.mark.parametrize("kind", ["nginx", "caddy"])
async def test_behind_a_proxy_configured_as_the_readme_says(cluster: Callable[..., Cluster], kind: str) -> None:
    c = cluster(env={"MUG_NEW_PARTICIPANTS_PER_MINUTE": "2"})
    port = free_port()
    try:
        proxy_server = _proxy(kind, c, port)
    except ServiceNotInstalled as exc:
        pytest.skip(str(exc))
    proxy = f"http://127.0.0.1:{port}"
    group: list[Peer] = []
    with proxy_server:
        async with httpx.AsyncClient(base_url=proxy) as http:
            assert (await http.get("/")).status_code == 200
            assert (await http.get("/healthz")).json()["experiment"] == "mp"
        # as the page connects: HTTP long-polling first, then the upgrade to a WebSocket, through the proxy
        a = await Peer(proxy, "a").start(transports=["polling", "websocket"])
        group.append(a)
        await wait_until_async(lambda: a.sio.transport() == "websocket", 5, what="the upgrade to a WebSocket")
        held = [json.loads(await asyncio.to_thread(_healthz, c.url(i)))["connected"] for i in (0, 1)]
        assert sorted(held) == [0, 1]
        other = held.index(0)  # the partner comes in on the process the proxy did not pick for a
        b = await Peer(c.url(other), "b").start()
        group.append(b)
        start = (await matched(a, b))[0]
        assert (await b.call("signal", {"v": 1, "to": 0, "kind": "offer", "data": SDP}))["ok"]
        assert (await a.wait_for("signal"))["match_id"] == start["match_id"]
        # uvicorn takes the client's address from the proxy's X-Forwarded-For: the quota (2 new participants
        # per address and minute here) counts the participants' addresses, not the proxy's, and an address a
        # client claims for itself changes nothing
        sources = ["127.0.0.2"] * 3 + ["127.0.0.3"]
        acks = [await _new_participant(proxy, source, claims=f"198.51.100.{i}") for i, source in enumerate(sources)]
        assert [ack.get("ok") or ack["error"]["code"] for ack in acks] == [True, True, "quota_exceeded", True]
        await stop_all(*group)


async def _new_participant(url: str, source: str, claims: str | None) -> dict[str, Any]:
    """A new participant's hello from the loopback address `source`, with an X-Forwarded-For of its own."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(source, 0))) as session:
        client = socketio.AsyncClient(reconnection=False, http_session=session)
        headers = {"X-Forwarded-For": claims} if claims else {}
        await client.connect(url, transports=["websocket"], headers=headers)
        try:
            hello: dict[str, Any] = {"v": 1, "token": None, "tab": "tab-quota", "params": {}, "match_id": None}
            ack: dict[str, Any] = await client.call("hello", hello, timeout=10)
            return ack
        finally:
            await client.disconnect()
