"""`RedisState` against a real redis-server: two instances stand for two server processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from mug.server.live import Command, LobbyRules
from mug.server.live_redis import RedisState
from mug.server.lobby import Matched, TimedOut, Waiting
from mug.server.wire import WireError
from mug.testing.services import RedisServer

pytestmark = pytest.mark.redis

DUO = LobbyRules("duo", 2, 10.0)


class Process:
    def __init__(self, url: str) -> None:
        self.state = RedisState(url, "exp")
        self.commands: list[Command] = []
        self.got = asyncio.Event()

    async def on_command(self, command: Command) -> None:
        self.commands.append(command)
        self.got.set()


@pytest.fixture
async def two(redis_server: RedisServer) -> AsyncIterator[tuple[Process, Process]]:
    a, b = Process(redis_server.url), Process(redis_server.url)
    for p in (a, b):
        await p.state.start(p.on_command)
    yield a, b
    for p in (a, b):
        await p.state.close()


async def test_simultaneous_joins_on_two_processes_form_each_group_once(two: tuple[Process, Process]) -> None:
    a, b = two
    pids = [f"p{i}" for i in range(12)]
    results = await asyncio.gather(
        *((a if i % 2 else b).state.lobby_join(DUO, pid, 100.0 + i, None) for i, pid in enumerate(pids))
    )
    matches = [n.match for notices in results for n in notices if isinstance(n, Matched)]
    assert len(matches) == 6
    assert sorted(pid for m in matches for pid in m.members) == sorted(pids)
    for m in matches:  # every member finds the same match from either process
        for pid in m.members:
            assert (await a.state.live_match_of(pid)) == m == (await b.state.live_match_of(pid))
    with pytest.raises(WireError) as refused:
        await b.state.lobby_join(DUO, "p0", 200.0, None)
    assert refused.value.code == "already_in_match"


async def test_a_timeout_is_taken_by_one_process_and_a_match_ends_once(two: tuple[Process, Process]) -> None:
    a, b = two
    waiting = await a.state.lobby_join(DUO, "w", 100.0, since=95.0)  # waiting since 95: due at 105
    assert waiting == [Waiting("duo", ("w",), ("w",), 1)]
    assert await b.state.in_lobby(DUO, "w")
    assert await a.state.lobby_tick(DUO, 104.0, partial=False) == []
    ticks = await asyncio.gather(*(p.state.lobby_tick(DUO, 106.0, partial=False) for p in (a, b, a, b)))
    assert sorted(ticks, key=len) == [[], [], [], [TimedOut("duo", "w", 11.0)]]
    assert not await a.state.in_lobby(DUO, "w")

    joins = await a.state.lobby_join(DUO, "x", 1.0, None) + await b.state.lobby_join(DUO, "y", 2.0, None)
    (formed,) = [n for n in joins if isinstance(n, Matched)]
    ended = await asyncio.gather(a.state.end(formed.match.id, "peer_left", 3.0), b.state.end(formed.match.id, "x", 3.0))
    assert sorted(ended) == [False, True]
    match, reason = await b.state.match_of("x")
    assert match == formed.match and reason in ("peer_left", "x")
    assert await a.state.live_match_of("x") is None


async def test_finishers_and_marks_are_shared(two: tuple[Process, Process]) -> None:
    a, b = two
    assert await a.state.add_finished("m1", "x") == {"x"}
    assert await b.state.add_finished("m1", "y") == {"x", "y"}
    await a.state.mark("absent", "x", 5.0)
    assert await b.state.marked("absent") == {"x": 5.0}
    assert await b.state.marked("absent", ["y", "x"]) == {"x": 5.0}
    await b.state.unmark("absent", "x")
    assert await a.state.marked("absent") == {}
    await a.state.mark("rejoining", "y", 7.0, keep_first=True)
    await b.state.mark("rejoining", "y", 9.0, keep_first=True)  # a second hello of the rejoining page
    assert await a.state.marked("rejoining") == {"y": 7.0} and await a.state.marked("absent") == {}


async def test_presence_refuses_a_second_tab_elsewhere_and_moves_a_refresh(two: tuple[Process, Process]) -> None:
    a, b = two
    assert await a.state.claim("p", "sid-a", "tab-1") is None
    assert await b.state.owner("p") == a.state.process_id and await a.state.owner("p") is None
    with pytest.raises(WireError) as refused:
        await b.state.claim("p", "sid-b", "tab-2")
    assert refused.value.code == "second_tab"
    assert await b.state.claim("p", "sid-b", "tab-1") == "sid-a"  # the same tab reloaded: drop the old one
    assert not await a.state.release("p", "sid-a")  # its close changes nothing: the participant moved on
    assert await b.state.release("p", "sid-b")
    assert await a.state.owner("p") is None


async def test_commands_reach_the_process_that_holds_the_connection(two: tuple[Process, Process]) -> None:
    a, b = two
    await b.state.send(a.state.process_id, {"op": "match_end", "pid": "p"})
    await asyncio.wait_for(a.got.wait(), 5)
    assert a.commands == [{"op": "match_end", "pid": "p"}] and b.commands == []


async def test_connections_of_a_process_that_is_gone_are_swept_once(redis_server: RedisServer) -> None:
    a, b = Process(redis_server.url), Process(redis_server.url)
    for p in (a, b):
        await p.state.start(p.on_command)
    try:
        await a.state.claim("gone", "sid-a", "tab")
        await b.state.claim("stays", "sid-b", "tab")
        assert await b.state.sweep(1.0) == []  # a is alive
        await a.state.close()  # (a killed process's key expires after PROCESS_TTL_S instead)
        await b.state.redis.delete(b.state._k("sweep"))  # the lease of the first sweep, for this test
        assert await b.state.sweep(2.0) == ["gone"]
        await b.state.redis.delete(b.state._k("sweep"))
        assert await b.state.sweep(3.0) == []
        assert await b.state.claim("gone", "sid-new", "other-tab") is None  # a new tab may take over now
    finally:
        await b.state.close()


async def test_a_window_is_counted_once_across_processes(two: tuple[Process, Process]) -> None:
    a, b = two
    taken = await asyncio.gather(*((a if i % 2 else b).state.take("new", "1.2.3.4", 5, 0.5) for i in range(8)))
    assert sorted(taken, key=lambda t: -1 if t is None else t) == [None] * 5 + [5, 5, 5]
    assert await b.state.take("new", "5.6.7.8", 5, 0.5) is None  # per key
    assert await a.state.take("other", "1.2.3.4", 5, 0.5) is None  # per bucket
    await asyncio.sleep(0.6)  # the window slides by Redis's clock, and its key expires with it
    assert await a.state.take("new", "1.2.3.4", 5, 0.5) is None
    await asyncio.sleep(0.6)
    assert await a.state.redis.exists("mug:exp:take:new:1.2.3.4") == 0
