"""A Socket.IO client that sends packets exactly as written, over one raw WebSocket.

Socket.IO v5 over Engine.IO v4 (https://socket.io/docs/v4/socket-io-protocol/): text frames `0{...}` (open),
`2`/`3` (ping/pong), `40` (connect the default namespace), `42<id>[name, ...args]` (an event asking for an
ack), `43<id>[...]` (the ack), `45<n>-<id>[...]` (an event with n binary attachments, sent as binary frames).
python-socketio's own client refuses to send reserved names, NaN or two payloads; this one does not.
"""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.http11 import USER_AGENT


class RawClient:
    """One connection; `call_raw` sends the text after `42<id>` as given and returns the ack's payload."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.next_id = 1
        self.token = ""
        self.acks: dict[int, Any] = {}
        self.events: list[tuple[str, Any]] = []
        self.closed = asyncio.Event()
        self.arrived = asyncio.Event()
        self.reading = asyncio.Event()
        self.reading.set()
        self.reader = asyncio.ensure_future(self._read())

    @classmethod
    async def open(cls, url: str, receive_buffer: int | None = None, user_agent: str | None = None) -> RawClient:
        """Connect; `receive_buffer` shrinks the socket's kernel receive buffer (for a peer that stops reading);
        `user_agent` replaces the websockets library's User-Agent header."""
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if receive_buffer is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (host, port))
        ws = await connect(
            f"ws://{host}:{port}/socket.io/?EIO=4&transport=websocket",
            sock=sock,
            compression=None,
            ping_interval=None,
            max_queue=1,
            user_agent_header=user_agent or USER_AGENT,
        )
        opening = await ws.recv()
        assert isinstance(opening, str) and opening.startswith("0"), opening
        await ws.send("40")
        client = cls(ws)
        await client.wait_for("connect")
        return client

    async def _read(self) -> None:
        try:
            while True:
                await self.reading.wait()
                msg = await self.ws.recv()
                if not isinstance(msg, str):
                    continue
                if msg == "2":
                    await self.ws.send("3")
                elif msg.startswith("40"):
                    self.events.append(("connect", json.loads(msg[2:] or "null")))
                elif msg.startswith("41") or msg == "1":
                    self.events.append(("disconnect", None))
                elif msg.startswith("42"):
                    # an event the server wants acknowledged has an id after `42`: recorded, never answered
                    body = msg[2:].lstrip("0123456789")
                    name, *args = json.loads(body)
                    self.events.append((name, args[0] if args else None))
                elif msg.startswith("43"):
                    digits = len(msg) - len(msg[2:].lstrip("0123456789"))
                    self.acks[int(msg[2:digits])] = json.loads(msg[digits:])[0]
                self.arrived.set()
        except Exception:
            pass
        finally:
            self.closed.set()
            self.arrived.set()

    def stop_reading(self) -> None:
        """Read nothing more: the kernel's buffers fill and the server's writes to this socket block."""
        self.reading.clear()

    async def wait_for(self, event: str, timeout: float = 5.0) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for item in self.events:
                if item[0] == event:
                    self.events.remove(item)
                    return item[1]
            remaining = deadline - asyncio.get_running_loop().time()
            assert remaining > 0 and not self.closed.is_set(), f"no {event!r} event; got {self.events}"
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), remaining)
            except TimeoutError:
                pass

    async def send_raw(self, text: str, attachments: tuple[bytes, ...] = ()) -> int:
        """Send `42<id><text>` (or `45<n>-<id><text>` with binary attachments); return the ack id."""
        ack_id = self.next_id
        self.next_id += 1
        head = f"45{len(attachments)}-{ack_id}" if attachments else f"42{ack_id}"
        await self.ws.send(head + text)
        for blob in attachments:
            await self.ws.send(blob)
        return ack_id

    async def ack(self, ack_id: int, timeout: float = 5.0) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while ack_id not in self.acks:
            remaining = deadline - asyncio.get_running_loop().time()
            assert remaining > 0 and not self.closed.is_set(), f"no ack {ack_id}"
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), remaining)
            except TimeoutError:
                pass
        return self.acks.pop(ack_id)

    async def call_raw(self, text: str, attachments: tuple[bytes, ...] = ()) -> Any:
        return await self.ack(await self.send_raw(text, attachments))

    async def call(self, event: Any, *args: Any) -> Any:
        return await self.call_raw(json.dumps([event, *args]))

    async def hello(self, token: str | None = None, tab: str = "raw-tab") -> dict[str, Any]:
        ack = await self.call("hello", {"v": 1, "token": token, "tab": tab, "params": {}})
        assert ack["ok"], ack
        return ack  # type: ignore[no-any-return]

    async def close(self) -> None:
        self.reader.cancel()
        self.ws.transport.abort()
