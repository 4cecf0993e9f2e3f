"""Engine.IO over a websocket driven by its connection (mug.server.engine_socket), against a real server.

What the memory saving relies on (no task per websocket, pings from a shared wheel) and what it must keep:
Engine.IO v4's pings and ping timeout, the upgrade from polling (probe), websocket-only clients, binary
frames both ways, and the end of a connection (the peer's close, a broken connection, the server's close).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Coroutine
from typing import Any

import httpx
import pytest
from raw_socketio import RawClient
from test_participants import EXPERIMENT
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from mug.server.engine_socket import DirectSocket, Outbox, Phase, TimerWheel
from mug.server.websocket import WebSocketProtocol
from mug.testing.server import RunningServer


def engine_of(live: RunningServer) -> Any:
    return live.uvicorn_server.config.app.engineio_server.eio  # the GuardedServer's Engine.IO server


async def in_server(live: RunningServer, coro: Coroutine[Any, Any, Any]) -> Any:
    """Run `coro` on the server's event loop (its thread) and return its result."""
    loop = live.uvicorn_server.mug_loop  # type: ignore[attr-defined]
    return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))


@pytest.fixture
def served(serve: Any) -> RunningServer:
    live: RunningServer = serve(EXPERIMENT)
    # the server's loop, from a connection's protocol: the first one made remembers it
    live.uvicorn_server.mug_loop = None  # type: ignore[attr-defined]
    return live


async def remember_loop(live: RunningServer) -> None:
    if live.uvicorn_server.mug_loop is None:  # type: ignore[attr-defined]
        protocol = next(iter(live.uvicorn_server.server_state.connections))
        live.uvicorn_server.mug_loop = protocol.loop  # type: ignore[attr-defined]


async def websocket(live: RunningServer, query: str = "EIO=4&transport=websocket") -> ClientConnection:
    ws = await connect(live.url.replace("http://", "ws://") + "/socket.io/?" + query, ping_interval=None, max_size=None)
    await remember_loop(live)
    return ws


async def opened(ws: ClientConnection) -> dict[str, Any]:
    """Engine.IO's OPEN, then Socket.IO's connect."""
    opening = await ws.recv()
    assert isinstance(opening, str) and opening.startswith("0"), opening
    await ws.send("40")
    assert str(await ws.recv()).startswith("40")
    return json.loads(opening[1:])  # type: ignore[no-any-return]


async def until(check: Any, timeout: float = 5.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} did not come within {timeout} s"
        await asyncio.sleep(0.02)


async def tasks_on(live: RunningServer) -> int:
    async def count() -> int:
        return len(asyncio.all_tasks()) - 1  # not this one

    return int(await in_server(live, count()))


@pytest.mark.parametrize("direct", [True, False])
async def test_a_waiting_websocket_has_no_task_of_its_own(served: RunningServer, direct: bool) -> None:
    eio = engine_of(served)
    if not direct:  # python-engineio's own socket: what the direct path replaces (and what can still be served)
        from engineio.async_socket import AsyncSocket

        eio.socket_class = AsyncSocket
    first = await RawClient.open(served.url)
    await remember_loop(served)
    await first.hello(tab="tab-0")
    before = await tasks_on(served)
    clients = [await RawClient.open(served.url) for _ in range(20)]
    for i, client in enumerate(clients):
        await client.hello(tab=f"tab-{i + 1}")
    try:
        grown = await tasks_on(served) - before
        if direct:
            assert grown < 5, grown
            for socket in eio.sockets.values():
                assert isinstance(socket, DirectSocket) and socket.phase is Phase.OPEN
                assert isinstance(socket.queue, Outbox) and isinstance(socket.channel, WebSocketProtocol)
                assert not hasattr(socket.channel, "scope")  # the ASGI scope is gone with the ASGI task
        else:
            assert grown >= 3 * len(clients), grown  # uvicorn's ASGI task, the reader wait, writer, pings
    finally:
        for client in [first, *clients]:
            await client.close()


async def test_pings_come_every_interval_and_a_silent_peer_is_closed(served: RunningServer) -> None:
    eio = engine_of(served)
    eio.ping_interval, eio.ping_timeout = 0.5, 0.5
    ws = await websocket(served)
    try:
        await opened(ws)
        # the first ping, answered; the next one comes a ping interval after the pong
        assert await asyncio.wait_for(ws.recv(), 3) == "2"
        answered = time.monotonic()
        await ws.send("3")
        assert await asyncio.wait_for(ws.recv(), 3) == "2"
        assert time.monotonic() - answered >= 0.45
        # not answered: the server closes the socket within the ping timeout (and the wheel's resolution)
        # (python-engineio's own close on a ping timeout sends no CLOSE packet: its send checks the timeout too)
        unanswered = time.monotonic()
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 3)
        assert 0.45 <= time.monotonic() - unanswered <= 2.0
        assert ws.close_code == 1000
        await until(lambda: not eio.sockets, what="the socket's removal")
    finally:
        await ws.close()


async def test_a_polling_client_upgrades_with_the_probe(served: RunningServer) -> None:
    eio = engine_of(served)
    async with httpx.AsyncClient(base_url=served.url + "/socket.io/") as http:
        opening = json.loads((await http.get("", params={"EIO": "4", "transport": "polling"})).text[1:])
        assert opening["upgrades"] == ["websocket"]
        sid = opening["sid"]
        polling = {"EIO": "4", "transport": "polling", "sid": sid}
        assert (await http.post("", params=polling, content="40")).text == "OK"
        assert (await http.get("", params=polling)).text.startswith("40")
        pending = asyncio.ensure_future(http.get("", params=polling))  # a long poll waits for packets
        await asyncio.sleep(0.1)
        ws = await websocket(served, f"EIO=4&transport=websocket&sid={sid}")
        try:
            # (the server runs in another thread: it may attach the websocket just after the client saw the 101)
            await until(lambda: eio.sockets[sid].phase is Phase.PROBING, what="the probing phase")
            await ws.send("2probe")
            assert await asyncio.wait_for(ws.recv(), 3) == "3probe"
            assert (await asyncio.wait_for(pending, 3)).text == "6"  # NOOP: the pending poll ends
            await ws.send("5")  # UPGRADE
            await ws.send('421["hello",{"v":1,"token":null,"tab":"tab-1","params":{}}]')
            reply = str(await asyncio.wait_for(ws.recv(), 5))
            assert reply.startswith("431") and '"ok":true' in reply, reply[:200]
            socket = eio.sockets[sid]
            assert socket.upgraded and socket.phase is Phase.OPEN and isinstance(socket.queue, Outbox)
            # the upgraded socket takes no more polling
            assert (await http.get("", params=polling)).status_code == 400
        finally:
            await ws.close()
        await until(lambda: sid not in eio.sockets, what="the socket's removal after the close")


async def test_a_failed_probe_leaves_the_client_on_polling(served: RunningServer) -> None:
    eio = engine_of(served)
    async with httpx.AsyncClient(base_url=served.url + "/socket.io/") as http:
        sid = json.loads((await http.get("", params={"EIO": "4", "transport": "polling"})).text[1:])["sid"]
        polling = {"EIO": "4", "transport": "polling", "sid": sid}
        assert (await http.post("", params=polling, content="40")).text == "OK"
        assert (await http.get("", params=polling)).text.startswith("40")
        ws = await websocket(served, f"EIO=4&transport=websocket&sid={sid}")
        await ws.send("4not a probe")
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 3)
        socket = eio.sockets[sid]
        assert not socket.upgraded and not socket.upgrading
        hello = '421["hello",{"v":1,"token":null,"tab":"tab-1","params":{}}]'
        assert (await http.post("", params=polling, content=hello)).text == "OK"
        assert '"ok":true' in (await http.get("", params=polling)).text
        # and a later upgrade may still succeed
        ws = await websocket(served, f"EIO=4&transport=websocket&sid={sid}")
        try:
            await until(lambda: socket.phase is Phase.PROBING, what="the probing phase")
            await ws.send("2probe")
            assert await asyncio.wait_for(ws.recv(), 3) == "3probe"
            await ws.send("5")
            await ws.send('422["hello",{"v":1,"token":null,"tab":"tab-1","params":{}}]')
            reply = str(await asyncio.wait_for(ws.recv(), 5))
            if reply == "6":  # the NOOP meant for a pending poll (there was none) comes first, as it always did
                reply = str(await asyncio.wait_for(ws.recv(), 5))
            assert reply.startswith("432"), reply[:200]  # its answer came over the websocket
            assert socket.upgraded and socket.phase is Phase.OPEN
        finally:
            await ws.close()


async def test_binary_frames_go_both_ways(served: RunningServer) -> None:
    eio = engine_of(served)
    client = await RawClient.open(served.url)
    await remember_loop(served)
    try:
        # in: an event with a binary attachment reaches the handlers' check (which refuses binary)
        refused = await client.call_raw('["hello",{"_placeholder":true,"num":0}]', attachments=(b"\x00\xff",))
        assert refused["error"]["code"] == "bad_message", refused
        # out: a binary Engine.IO message is one binary frame
        (sid,) = eio.sockets
        client.reader.cancel()  # this test reads from here on
        await in_server(served, eio.send(sid, b"\x01\x02\x03"))
        assert await asyncio.wait_for(client.ws.recv(), 3) == b"\x01\x02\x03"
    finally:
        await client.close()


@pytest.mark.parametrize("how", ["close frame", "engine.io close", "broken connection"])
async def test_the_end_of_a_connection_ends_the_participant(served: RunningServer, how: str) -> None:
    eio = engine_of(served)
    stays = await RawClient.open(served.url)
    await remember_loop(served)
    await stays.hello(tab="stays")
    goes = await RawClient.open(served.url)
    await goes.hello(tab="goes")
    async with httpx.AsyncClient(base_url=served.url) as http:

        async def connected() -> int:
            return int((await http.get("/healthz")).json()["connected"])

        assert await connected() == 2 and len(eio.sockets) == 2
        connections = served.uvicorn_server.server_state.connections  # the websockets' and /healthz's
        held = len(connections)
        if how == "close frame":
            await goes.ws.close()
        elif how == "engine.io close":
            await goes.ws.send("1")
        else:
            goes.ws.transport.abort()  # no close frame: the TCP connection breaks
        await until(lambda: len(eio.sockets) == 1, what="the socket's removal")
        for _ in range(100):
            if await connected() == 1:
                break
            await asyncio.sleep(0.02)
        assert await connected() == 1
        await until(lambda: len(connections) == held - 1, what="the TCP close")
        assert not stays.closed.is_set()
    await stays.close()
    await goes.close()


async def test_the_server_closing_a_socket_closes_its_websocket(served: RunningServer) -> None:
    eio = engine_of(served)
    ws = await websocket(served)
    try:
        await opened(ws)
        (sid,) = eio.sockets
        await in_server(served, eio.disconnect(sid))
        assert await asyncio.wait_for(ws.recv(), 3) == "1"
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(ws.recv(), 3)
        assert ws.close_code == 1000 and not eio.sockets
    finally:
        await ws.close()


async def test_a_timer_wheel_calls_each_item_once_at_its_time() -> None:
    loop = asyncio.get_running_loop()
    start = loop.time()
    seen: list[tuple[str, float]] = []
    wheel: TimerWheel[str] = TimerWheel(lambda item: seen.append((item, loop.time() - start)), resolution=0.05)
    for item, delay in [("c", 0.3), ("a", 0.1), ("b", 0.2), ("a2", 0.1), ("now", 0)]:
        wheel.add(item, delay)
    assert len(wheel) == 5
    await asyncio.sleep(0.45)
    assert [item for item, _ in seen] == ["now", "a", "a2", "b", "c"]
    for item, at in seen:
        delay = {"now": 0, "a": 0.1, "a2": 0.1, "b": 0.2, "c": 0.3}[item]
        # never early; late by the resolution (and, on a loaded machine, the event loop's own lateness)
        assert delay - 0.001 <= at <= delay + 0.05 + 0.5, (item, at)
    assert len(wheel) == 0
    wheel.add("never", 0.05)
    wheel.close()
    await asyncio.sleep(0.1)
    assert len(seen) == 5


def test_a_timer_wheel_needs_a_positive_resolution() -> None:
    with pytest.raises(ValueError, match="resolution must be positive"):
        TimerWheel(print, resolution=0)
