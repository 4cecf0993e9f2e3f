"""The websocket protocol MUG is served with (mug.server.websocket), against a real server.

What the memory saving relies on: compression is negotiated without context takeover in both directions (so
no zlib object outlives a message) and still works; and what it must not weaken: a message over the packet
limit, plain or compressed (a zip bomb), closes the connection before anything decodes it.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from test_participants import EXPERIMENT
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.frames import CloseCode

from mug.server.edge import CLIENT_ADDRESS, KEPT_ENVIRON
from mug.server.limits import MAX_PACKET_BYTES
from mug.server.websocket import PROTOCOL
from mug.testing.server import WS_PROTOCOL


async def engineio(url: str, **kwargs: Any) -> ClientConnection:
    """A websocket that completed Engine.IO's open and Socket.IO's connect."""
    ws = await connect(
        url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket",
        ping_interval=None,
        max_size=None,
        **kwargs,
    )
    opening = await ws.recv()
    assert isinstance(opening, str) and opening.startswith("0"), opening
    await ws.send("40")
    assert str(await ws.recv()).startswith("40")
    return ws


def test_the_test_server_runs_the_deployed_protocol() -> None:
    assert WS_PROTOCOL == PROTOCOL


async def test_compression_is_negotiated_without_context_takeover_and_works(serve: Any) -> None:
    live = serve(EXPERIMENT)
    ws = await engineio(live.url)  # websockets offers permessage-deflate as browsers do
    try:
        assert ws.response is not None
        answer = ws.response.headers["Sec-WebSocket-Extensions"]
        assert "permessage-deflate" in answer
        assert "server_no_context_takeover" in answer and "client_no_context_takeover" in answer
        # compressed both ways, message after message: a hello and its ack, then a refused second hello
        for expected in ('"ok":true', "already_identified"):
            await ws.send('421["hello",{"v":1,"token":null,"tab":"tab-1","params":{}}]')
            reply = str(await ws.recv())
            assert reply.startswith("431") and expected in reply, reply[:200]
    finally:
        await ws.close()


async def test_a_client_without_compression_is_served(serve: Any) -> None:
    live = serve(EXPERIMENT)
    ws = await engineio(live.url, compression=None)
    try:
        assert ws.response is not None and "Sec-WebSocket-Extensions" not in ws.response.headers
        await ws.send('421["hello",{"v":1,"token":null,"tab":"tab-1","params":{}}]')
        assert '"ok":true' in str(await ws.recv())
    finally:
        await ws.close()


@pytest.mark.parametrize("compression", [None, "deflate"])
async def test_a_message_over_the_packet_limit_closes_the_connection(serve: Any, compression: str | None) -> None:
    live = serve(EXPERIMENT)
    ws = await engineio(live.url, compression=compression)
    try:
        # an event of MAX_PACKET_BYTES + 1: under the rate limits' byte burst, so only the size limit stops it
        padding = "x" * (MAX_PACKET_BYTES + 1 - len('42["event",{"v":1,"kind":"k","data":""}]'))
        big = '42["event",{"v":1,"kind":"k","data":"' + padding + '"}]'
        assert len(big) == MAX_PACKET_BYTES + 1
        with pytest.raises(ConnectionClosed) as closed:
            await ws.send(big)  # compressed, this is a few kB on the wire: a zip bomb's shape
            await ws.recv()
        assert closed.value.rcvd is not None and closed.value.rcvd.code == CloseCode.MESSAGE_TOO_BIG
    finally:
        await ws.close()


async def test_a_message_at_the_packet_limit_is_read_and_refused_by_the_handlers(serve: Any) -> None:
    live = serve(EXPERIMENT)
    ws = await engineio(live.url)
    try:
        await ws.send('421["hello",{"v":1,"token":null,"tab":"tab-1","params":{}}]')
        assert '"ok":true' in str(await ws.recv())
        head, tail = '422["event",{"v":1,"kind":"k","data":"', '"}]'
        await ws.send(head + "x" * (MAX_PACKET_BYTES - len(head) - len(tail)) + tail)
        reply = str(await ws.recv())
        assert reply.startswith("432") and "too_large" in reply, reply[:200]
    finally:
        await ws.close()


def test_the_deflate_settings_make_no_zlib_object_for_an_idle_connection() -> None:
    from mug.server.websocket import deflate

    factory = deflate()
    # what a browser offers: permessage-deflate; client_max_window_bits
    params, extension = factory.process_request_params([("client_max_window_bits", None)], [])
    assert ("server_no_context_takeover", None) in params and ("client_no_context_takeover", None) in params
    assert not hasattr(extension, "encoder") and not hasattr(extension, "decoder")


async def test_a_connection_keeps_a_cut_environ_and_polling_still_reads_bodies(serve: Any) -> None:
    live = serve(EXPERIMENT)
    sio = live.uvicorn_server.config.app.engineio_server  # the GuardedServer
    ws = await engineio(live.url)
    try:
        await ws.send('421["hello",{"v":1,"token":null,"tab":"tab-1","params":{}}]')
        assert '"ok":true' in str(await ws.recv())
        # a polling client's packets are POST bodies, read through the environ's wsgi.input
        async with httpx.AsyncClient(base_url=live.url + "/socket.io/", headers={"User-Agent": "poller"}) as http:
            opened = (await http.get("", params={"EIO": "4", "transport": "polling"})).text
            query = {"EIO": "4", "transport": "polling", "sid": json.loads(opened[1:])["sid"]}
            assert (await http.post("", params=query, content="40")).text == "OK"
            assert (await http.get("", params=query)).text.startswith("40")
            hello = '421["hello",{"v":1,"token":null,"tab":"tab-2","params":{}}]'
            assert (await http.post("", params=query, content=hello)).text == "OK"
            assert '"ok":true' in (await http.get("", params=query)).text
            # what python-socketio keeps of each connection's environ: only what the handlers read
            assert len(sio.environ) == 2
            for environ in sio.environ.values():
                assert set(environ) <= {*KEPT_ENVIRON, CLIENT_ADDRESS}, sorted(environ)
                assert environ.get("HTTP_USER_AGENT")  # what hello stores is still there
                assert environ[CLIENT_ADDRESS][0] == "127.0.0.1"
            await http.post("", params=query, content="1")  # Engine.IO close
    finally:
        await ws.close()
