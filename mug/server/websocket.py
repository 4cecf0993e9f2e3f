"""uvicorn's websocket protocol with compression that holds no memory between messages.

Serve with `uvicorn mug.app:app --ws mug.server.websocket:WebSocketProtocol` (`mug serve` passes it itself).
Without the flag everything works the same and each connected participant costs about 50 KB more.

uvicorn's own `websockets-sansio` protocol (its "auto" choice) negotiates permessage-deflate with context
takeover: every connection keeps a zlib compressor (window 4 KiB, memLevel 5: about 38 KB) and a
decompressor (about 11 KB) for its whole life, whether it sends anything or not. That is half of what a
connected, waiting participant costs the server (docs/performance.md). This protocol negotiates
`server_no_context_takeover` and `client_no_context_takeover` (RFC 7692 section 7.1.1: a server may add both
to its answer; every browser supports them), so python-websockets makes a compressor or decompressor for a
message and drops it when the message is done. Messages are still compressed, each on its own: the page's
record batches (the large ones) as well as before; small messages lose the little a shared window gave them.

A message larger than `mug.server.limits.MAX_PACKET_BYTES` (decompressed; or uvicorn's `--ws-max-size`, if
that is smaller) closes the connection with code 1009 before anything decodes it; python-engineio does not
check websocket messages under ASGI, and uvicorn's default is 16 MiB. Everything else is uvicorn's: the
handshake, pings, back-pressure, and the ASGI interface. The request and response headers of
the handshake are dropped once the handshake is done (the ASGI scope keeps the headers the app reads).

An Engine.IO socket can take the connection over once its handshake is done (`attach`, called by
`mug.server.engine_socket.DirectWebSocket`): each message then goes from `data_received` to the socket's
`feed`, without the ASGI receive queue and without pausing reads, the end of the websocket (a close frame,
a broken connection, a protocol error, the server's shutdown) to its `lost`, once; the socket writes with
`send_message` and closes with `close_websocket`. uvicorn's keepalive pings stop (Engine.IO pings instead),
the ASGI task ends without closing the connection, and the ASGI scope, queue and event are dropped.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from uvicorn.config import Config
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.exceptions import InvalidState
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory
from websockets.server import ServerProtocol

from mug.server.limits import MAX_PACKET_BYTES

if TYPE_CHECKING:
    from mug.server.engine_socket import DirectSocket

# what `uvicorn --ws` takes to use this protocol
PROTOCOL = "mug.server.websocket:WebSocketProtocol"

# uvicorn's own settings: 4 KiB windows and memLevel 5 keep a message's compressor near 38 KB while it lives
WINDOW_BITS = 12
COMPRESS_SETTINGS = {"memLevel": 5}


def deflate() -> ServerPerMessageDeflateFactory:
    """permessage-deflate without context takeover in either direction."""
    return ServerPerMessageDeflateFactory(
        server_no_context_takeover=True,
        client_no_context_takeover=True,
        server_max_window_bits=WINDOW_BITS,
        client_max_window_bits=WINDOW_BITS,
        compress_settings=dict(COMPRESS_SETTINGS),
    )


class WebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's `websockets-sansio` protocol, negotiating compression without context takeover."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        # the same protocol object uvicorn builds (no handshake yet), with our extension factory and size limit
        self.conn = ServerProtocol(
            extensions=[deflate()] if config.ws_per_message_deflate else [],
            max_size=min(config.ws_max_size, MAX_PACKET_BYTES),
            logger=logging.getLogger("uvicorn.error"),
        )

    # the Engine.IO socket that took the connection over (`attach`), and how many messages it wrote while the
    # transport was above its high-water mark (the transport's buffer is the only queue: see `send_message`)
    engine: DirectSocket | None = None
    backlog = 0
    write_paused = False

    async def send(self, message: Any) -> None:
        if self.engine is not None:
            raise RuntimeError("this websocket belongs to its Engine.IO socket: it writes with send_message")
        await super().send(message)
        if message["type"] == "websocket.accept" and self.handshake_complete:
            # the handshake's request and response (headers and all): uvicorn reads them only before this
            del self.request, self.response

    # an Engine.IO socket on the connection itself

    def attach(self, engine: DirectSocket) -> None:
        """Hand the (accepted) websocket to `engine`: its messages, its end, and its writes.

        Args:
            engine: the Engine.IO socket; gets `feed(message)` per message and `lost()` once at the end.
        """
        if not self.handshake_complete or self.initial_response is not None:
            raise RuntimeError("attach needs an accepted websocket")
        waiting, self.queue = self.queue, _Forward(engine, self)  # type: ignore[assignment]
        self.engine = engine
        self.writable = _ALWAYS_WRITABLE  # type: ignore[assignment]
        self.stop_keepalive()
        del self.scope  # the ASGI scope (every header again): nothing reads it from now on
        while not waiting.empty():  # what came between the accept and now, then the reads go on
            self.queue.put_nowait(waiting.get_nowait())
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()

    async def run_asgi(self) -> None:
        # uvicorn's, but a connection its Engine.IO socket took over stays open when the ASGI call returns
        try:
            result = await self.app(self.scope, self.receive, self.send)
        except ClientDisconnected:
            pass
        except BaseException:
            self.logger.exception("Exception in ASGI application\n")
            self.send_500_response()
        else:
            if not self.handshake_complete:
                self.logger.error("ASGI callable returned without completing handshake.")
                self.send_500_response()
            elif result is not None:
                self.logger.error("ASGI callable should return None, but returned '%s'.", result)
        if self.close_timer is None and self.engine is None:
            self.transport.close()

    def send_receive_event_to_app(self) -> None:
        if self.engine is None:
            super().send_receive_event_to_app()
            return
        data = self.frames[0] if len(self.frames) == 1 else b"".join(self.frames)
        self.frames = []
        if self.close_sent:
            return
        if self.curr_msg_data_type == "text":
            try:
                text = data.decode()
            except UnicodeDecodeError:
                self.logger.info("Invalid UTF-8 sequence received from client.")
                self.conn.send_close(1007)
                self.handle_parser_exception()
                return
            self.engine.feed(text, self)
        else:
            self.engine.feed(bytes(data), self)

    def send_message(self, data: str | bytes) -> None:
        """Write one message (text or binary) into the transport; after a close, nothing is written."""
        if self.close_sent or self.disconnected or self.transport.is_closing():
            return
        try:
            if isinstance(data, str):
                self.conn.send_text(data.encode())
            else:
                self.conn.send_binary(data)
        except InvalidState:
            return
        self.transport.write(b"".join(self.conn.data_to_send()))
        if self.write_paused:
            self.backlog += 1

    def close_websocket(self, code: int = 1000) -> None:
        """Start the closing handshake; the transport closes when the peer answers, or in `close_timeout`."""
        if self.close_sent or self.disconnected or self.transport.is_closing():
            return
        try:
            self.conn.send_close(code, "")
        except InvalidState:
            self.transport.close()
            return
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        self.close_timer = self.loop.call_later(self.close_timeout, self.transport.close)

    def pause_writing(self) -> None:
        super().pause_writing()
        self.write_paused, self.backlog = True, 0

    def resume_writing(self) -> None:
        super().resume_writing()
        self.write_paused, self.backlog = False, 0


class _Forward:
    """In the place of uvicorn's ASGI receive queue once an Engine.IO socket has the connection: each event
    uvicorn's protocol would queue for the app goes to the socket instead."""

    __slots__ = ("_engine", "_channel")

    def __init__(self, engine: DirectSocket, channel: WebSocketProtocol) -> None:
        self._engine = engine
        self._channel = channel

    def put_nowait(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "websocket.receive":
            text = event.get("text")
            self._engine.feed(text if text is not None else event["bytes"], self._channel)
        elif kind == "websocket.disconnect":
            self._engine.lost(self._channel)

    def empty(self) -> bool:
        return True


class _Writable:
    """In the place of uvicorn's `writable` event once an Engine.IO socket has the connection (it never waits:
    what the transport cannot take yet stays in its buffer, counted by `WebSocketProtocol.backlog`)."""

    __slots__ = ()

    def set(self) -> None:
        pass

    def clear(self) -> None:
        pass

    async def wait(self) -> bool:
        return True


_ALWAYS_WRITABLE = _Writable()
