"""Socket.IO clients of the load generator: a minimal raw Engine.IO client and python-socketio's AsyncClient."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any


class RawClient:
    """Engine.IO 4 + Socket.IO 5 over a websocket, the minimum a page needs.

    Packets (text frames): `0{...}` open; client `40` connects the default namespace, server answers
    `40{"sid":...}`; `2` ping -> `3` pong; `42<id>["event",data]` emit with ack id; `43<id>[ack]` the ack;
    `42["event",data]` a server event.
    """

    def __init__(self, url: str, on_event: Any) -> None:
        self.url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self.on_event = on_event
        self.ws: Any = None
        self.pending: dict[int, asyncio.Future[Any]] = {}
        self.next_id = 0
        self.reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        import websockets

        self.ws = await websockets.connect(
            self.url, ping_interval=None, max_size=None, open_timeout=30, close_timeout=2
        )
        opened = await asyncio.wait_for(self.ws.recv(), 30)
        if not opened.startswith("0"):
            raise ConnectionError(f"unexpected open packet {opened[:40]!r}")
        await self.ws.send("40")
        reply = await asyncio.wait_for(self.ws.recv(), 30)
        if not reply.startswith("40"):
            raise ConnectionError(f"namespace refused: {reply[:80]!r}")
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for msg in self.ws:
                if msg == "2":
                    await self.ws.send("3")
                elif msg.startswith("43"):
                    i = 2
                    while msg[i].isdigit():
                        i += 1
                    fut = self.pending.pop(int(msg[2:i]), None)
                    if fut is not None and not fut.done():
                        fut.set_result(json.loads(msg[i:])[0])
                elif msg.startswith("42"):
                    i = 2
                    while msg[i].isdigit():
                        i += 1
                    name, *args = json.loads(msg[i:])
                    self.on_event(name, args[0] if args else None)
        except ConnectionClosed:
            pass
        finally:
            for fut in self.pending.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("closed"))
            self.pending.clear()

    async def call(self, event: str, data: Any, timeout: float) -> Any:
        self.next_id += 1
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = fut
        await self.ws.send(f"42{self.next_id}" + json.dumps([event, data], separators=(",", ":")))
        return await asyncio.wait_for(fut, timeout)

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.ws.close()
        if self.reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.reader, 5)


class SioClient:
    """The same interface on python-socketio's AsyncClient (websocket transport)."""

    def __init__(self, url: str, on_event: Any) -> None:
        import socketio

        self.url = url
        self.sio = socketio.AsyncClient(reconnection=False)

        async def any_event(event: str, data: Any = None) -> None:
            on_event(event, data)

        self.sio.on("*", any_event)

    async def connect(self) -> None:
        await self.sio.connect(self.url, transports=["websocket"], wait_timeout=30)

    async def call(self, event: str, data: Any, timeout: float) -> Any:
        return await self.sio.call(event, data, timeout=timeout)

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.sio.disconnect(), 5)
