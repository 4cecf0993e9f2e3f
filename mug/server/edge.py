"""The Socket.IO server as clients meet it: one gate for every event in, one bound on every packet out.

python-socketio decodes each Engine.IO message in `_handle_eio_message` and hands an event `[name, *args]`
to `_handle_event`, which runs the handler registered for `name`, the reserved `connect` and `disconnect`
handlers included, whatever the arguments are. `GuardedServer` checks there first, and answers a refusal
with an error ack (when the event asked for one):

1. every packet, before it is decoded, against the connection's rate limits (`mug.server.limits`):
   `rate_limited`; a connection that keeps sending while refused is disconnected;
2. a packet python-socketio cannot decode (invalid JSON, nesting beyond the decoder's reach): `bad_message`;
3. the name: a string (`bad_event`), not reserved by Socket.IO (`reserved_event`: a client that sends
   `disconnect` is not disconnected), one of the registered events (`unknown_event`);
4. the arguments: exactly one, holding only plain JSON (`bad_message`: NaN, Infinity, integers outside 64
   bits, binary attachments, nesting deeper than `MAX_JSON_DEPTH`), see `mug.server.wire.check_plain_json`.

Outgoing, python-engineio queues every packet for a socket without limit until its writer has sent it; a
peer that stops reading would make the server buffer whatever its partners send. `BoundedEngineServer`
refuses to queue more than `Limits.max_queued_packets` for one socket and disconnects that socket instead,
aborting its TCP connection (see `_abort_transport`).

Below Socket.IO, a WebSocket frame that is not even an Engine.IO packet (an unknown type digit) is
python-engineio's own: it logs the error and reads on; no handler runs.

A websocket is driven by its connection (`mug.server.engine_socket`): `BoundedEngineServer` makes its sockets
`DirectSocket`s and installs `DirectWebSocket` as python-engineio's websocket driver, and pings every socket
from two shared `TimerWheel`s. python-socketio keeps each connection's environ for `get_environ` as long as
the connection lasts: `GuardedServer` keeps only what the handlers read (`KEPT_ENVIRON`).

These hooks override private methods of python-socketio 5 (`_handle_eio_message`, `_handle_event`,
`_handle_eio_connect`, `_handle_eio_disconnect`, `_engineio_server_class`) and of python-engineio 4.15
(`_handle_connect`, copied) and replace two of python-engineio's ASGI drivers (its websocket class, its
request translation); tests/server/test_hostile.py and tests/server/test_engine_socket.py exercise them.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from typing import Any

import engineio
import socketio
from engineio import async_socket
from engineio import packet as eio_packet
from socketio import packet

from mug.server.engine_socket import DirectSocket, DirectWebSocket, TimerWheel
from mug.server.limits import MAX_QUEUED_PACKETS, Flooding, Limits, RateLimiter
from mug.server.wire import WireError, check_plain_json

log = logging.getLogger("mug.edge")

FLOODER_GRACE_S = 1.0  # a disconnected flooder's connection is aborted this long after it was told

# Names python-socketio dispatches to its own handlers (connect, disconnect, the `*` catch-all) or that the
# Socket.IO JavaScript client reserves: a client sending one of them is refused and nothing happens.
RESERVED_EVENTS = frozenset(
    {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener", "message", "*"}
)

# what the handlers read of a connection's environ (mug.server.handlers): the rest is dropped once Socket.IO
# has it; `CLIENT_ADDRESS` holds the ASGI scope's client (host, port)
CLIENT_ADDRESS = "mug.client"
KEPT_ENVIRON = ("HTTP_USER_AGENT", "HTTP_SEC_CH_UA_MOBILE")


class BoundedEngineServer(engineio.AsyncServer):  # type: ignore[misc]
    """Engine.IO server that disconnects a socket instead of queueing more than `max_queued_packets` for it."""

    max_queued_packets = MAX_QUEUED_PACKETS  # GuardedServer sets its Limits' value
    # python-engineio's own socket class here runs every websocket as python-engineio does (tasks, queues)
    socket_class: type[async_socket.AsyncSocket] = DirectSocket
    start_service_task: bool  # python-engineio's

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._dropping: set[str] = set()
        # the driver table is shared by every server of the module: this one gets its own copy
        drivers: dict[str, Any] = getattr(self, "_async")  # noqa: B009 (mypy cannot type the attribute)
        stock = _tracked(drivers["websocket"])
        self._async = dict(drivers, websocket=type("DirectWebSocket", (DirectWebSocket,), {"fallback": stock}))
        if inspect.iscoroutinefunction(drivers["translate_request"]):
            self._async["translate_request"] = _bodiless_websockets(drivers["translate_request"])
        # every DirectSocket's pings, and the checks for their PONGs
        self.pings: TimerWheel[DirectSocket] = TimerWheel(DirectSocket.ping_due)
        self.ping_checks: TimerWheel[tuple[DirectSocket, float]] = TimerWheel(lambda due: due[0].pong_due(due[1]))
        self._running: set[asyncio.Task[Any]] = set()

    def run(self, coro: Any) -> None:
        """Run a coroutine as a task that is kept until it is done (what python-engineio's sockets hand off)."""
        task = asyncio.ensure_future(coro)
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _handle_connect(self, environ: dict[str, Any], transport: str, jsonp_index: Any = None) -> Any:
        # python-engineio 4.15's, with `socket_class` for its AsyncSocket
        if self.start_service_task:
            self.start_service_task = False
            self.service_task_handle = self.start_background_task(self._service_task)

        sid = self.generate_id()
        s = self.socket_class(self, sid)
        self.sockets[sid] = s

        pkt = eio_packet.Packet(
            eio_packet.OPEN,
            {
                "sid": sid,
                "upgrades": self._upgrades(sid, transport),
                "pingTimeout": int(self.ping_timeout * 1000),
                "pingInterval": int(self.ping_interval + self.ping_interval_grace_period) * 1000,
                "maxPayload": self.max_http_buffer_size,
            },
        )
        await s.send(pkt)

        ret = await self._trigger_event("connect", sid, environ, run_async=False)
        if ret is not None and ret is not True:
            del self.sockets[sid]
            self.logger.warning("Application rejected connection")
            return self._unauthorized(ret or None)

        s.schedule_ping()

        if transport == "websocket":
            ret = await s.handle_get_request(environ)
            if s.closed and sid in self.sockets:
                del self.sockets[sid]
            return ret
        s.connected = True
        headers = None
        if self.cookie:
            options = (
                self.cookie if isinstance(self.cookie, dict) else {"name": self.cookie, "path": "/", "SameSite": "Lax"}
            )
            headers = [("Set-Cookie", self._generate_sid_cookie(sid, options))]
        try:
            return self._ok(await s.poll(), headers=headers, jsonp_index=jsonp_index)
        except engineio.exceptions.QueueEmpty:
            return self._bad_request()

    async def send_packet(self, sid: str, pkt: Any) -> None:
        socket = self.sockets.get(sid)
        if socket is not None and socket.queue.qsize() >= self.max_queued_packets:
            if sid not in self._dropping:
                self._dropping.add(sid)
                try:
                    await self._drop_slow_reader(sid, socket)
                finally:
                    self._dropping.discard(sid)
            return
        await super().send_packet(sid, pkt)

    async def _drop_slow_reader(self, sid: str, socket: Any) -> None:
        log.warning("disconnecting %s: it does not read, %d packets wait for it", sid, socket.queue.qsize())
        # what waits is thrown away now; the writer finishes the packet it is on and stops
        while True:
            try:
                socket.queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            socket.queue.task_done()
        self.sockets.pop(sid, None)
        await socket.close(wait=False, abort=True, reason=self.reason.SERVER_DISCONNECT)
        socket.queue.put_nowait(None)
        _abort_transport(socket)


def _tracked(websocket_class: type) -> type:
    """python-engineio's ASGI WebSocket class, remembered by the socket whose handler it runs."""

    class TrackedWebSocket(websocket_class):  # type: ignore[misc]
        def __init__(self, handler: Any, server: Any) -> None:
            super().__init__(handler, server)
            owner = getattr(handler, "__self__", None)  # the bound AsyncSocket._websocket_handler
            if owner is not None:
                owner.mug_websocket = self

    return TrackedWebSocket


def _bodiless_websockets(translate: Any) -> Any:
    """python-engineio's ASGI request translation, without a body reader for a websocket.

    Its `wsgi.input` is an instance of a class defined anew on every request; the environ lives as long as the
    connection (python-socketio keeps it for `get_environ`), so each websocket kept a class object (~2.5 KB).
    Only a polling POST reads the body.
    """

    async def translate_request(scope: dict[str, Any], receive: Any, send: Any) -> dict[str, Any]:
        environ: dict[str, Any] = await translate(scope, receive, send)
        if scope.get("type") == "websocket":
            environ.pop("wsgi.input", None)
        return environ

    return translate_request


def _abort_transport(socket: Any) -> None:
    """Close a socket's TCP connection at once, dropping what waits in its buffers.

    Closing through ASGI waits for the unread data to leave first, which it never does: a peer that reads
    nothing but still acknowledges TCP's zero-window probes would hold the connection, its file descriptor and
    its kernel buffers for ever. uvicorn's ASGI `send` is a method of its protocol object, whose transport can
    be aborted; with another server (or a polling connection) nothing happens here and the connection lasts
    until the peer goes.
    """
    if isinstance(socket, DirectSocket) and socket.channel is not None:
        socket.abort()
        return
    send = getattr(getattr(socket, "mug_websocket", None), "asgi_send", None)
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is not None and hasattr(transport, "abort"):
        transport.abort()


class GuardedServer(socketio.AsyncServer):  # type: ignore[misc]
    """python-socketio's server with the checks above on every packet and event a client sends.

    Args:
        limits: the rate limits and the outgoing queue bound.
        **kwargs: passed to `socketio.AsyncServer`.
    """

    keep_environ = False  # True: python-socketio keeps every connection's whole environ, as it does

    def __init__(self, limits: Limits, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.limits = limits
        self.rate = RateLimiter(limits)  # keyed by the Engine.IO connection: it exists before any hello
        self.eio.max_queued_packets = limits.max_queued_packets

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return BoundedEngineServer

    async def _handle_eio_message(self, eio_sid: str, data: str | bytes) -> None:
        # every Socket.IO packet passes here, as sent, before it is decoded: the rate limits count it whole
        socket = self.eio.sockets.get(eio_sid)
        if socket is None or socket.closed:
            return  # python-engineio reads on after a close: what a closed connection sends is not heard
        try:
            self.rate.admit(eio_sid, len(data))
        except Flooding:
            await self._drop_flooder(eio_sid)
            return
        except WireError as exc:
            if isinstance(data, str):  # a binary attachment goes on, to be refused with its event
                log.info("refused a packet from %s: %s (%s)", eio_sid, exc.message, exc.code)
                await self._refuse(eio_sid, data, exc)
                return
        pending = self._binary_packet.get(eio_sid)
        if pending is not None and isinstance(data, str):
            # attachments are binary frames: the announced ones never came, and this text is not one of them
            del self._binary_packet[eio_sid]
            if pending.id is not None:
                refusal = WireError("bad_message", "the binary attachments this event announced never came")
                ack = self.packet_class(packet.ACK, namespace=pending.namespace, id=pending.id, data=[refusal.as_ack()])
                await self._send_packet(eio_sid, ack)
        try:
            await super()._handle_eio_message(eio_sid, data)
        except Exception as exc:  # python-socketio could not decode it: invalid JSON, a bad header, nesting...
            log.warning("refused an undecodable packet from %s: %s: %s", eio_sid, type(exc).__name__, exc)
            if isinstance(data, str):
                reason = f"{type(exc).__name__}: {str(exc)[:200]}"
                await self._refuse(eio_sid, data, WireError("bad_message", f"not a Socket.IO event of JSON ({reason})"))

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> None:
        if not self.keep_environ:
            scope = environ.get("asgi.scope") or {}
            kept = {key: environ[key] for key in KEPT_ENVIRON if key in environ}
            kept[CLIENT_ADDRESS] = scope.get("client")
            environ = kept
        await super()._handle_eio_connect(eio_sid, environ)

    async def _handle_eio_disconnect(self, eio_sid: str, *args: Any) -> None:
        try:
            await super()._handle_eio_disconnect(eio_sid, *args)
        finally:
            self.rate.forget(eio_sid)

    async def _drop_flooder(self, eio_sid: str) -> None:
        log.warning("disconnecting %s: it kept sending while refused (rate_limited)", eio_sid)
        sid = self.manager.sid_from_eio_sid(eio_sid, "/")
        if sid is not None:
            await self.disconnect(sid)
        socket = self.eio.sockets.get(eio_sid)
        if socket is not None:  # and close its transport, without waiting for it to read what is queued
            await socket.close(wait=False, abort=False, reason=self.reason.SERVER_DISCONNECT)
            # a second for the disconnect and close packets to leave, then the TCP connection goes
            asyncio.get_running_loop().call_later(FLOODER_GRACE_S, _abort_transport, socket)

    async def _refuse(self, eio_sid: str, raw: str, exc: WireError) -> None:
        """Answer a refused event packet `raw` with an error ack, if it asked for one."""
        head = _EVENT_HEAD.match(raw)
        if head is not None and head["id"]:
            namespace = head["namespace"] or "/"
            ack = self.packet_class(packet.ACK, namespace=namespace, id=int(head["id"]), data=[exc.as_ack()])
            await self._send_packet(eio_sid, ack)

    def _check(self, data: Any) -> None:
        if not isinstance(data, list) or not data:
            raise WireError("bad_message", "an event is a name and one JSON object")
        name, args = data[0], data[1:]
        if not isinstance(name, str):
            raise WireError("bad_event", f"an event name is a string, not {type(name).__name__}")
        if name in RESERVED_EVENTS:
            raise WireError("reserved_event", f"{name[:40]!r} is reserved by Socket.IO; a page cannot send it")
        if name not in self.handlers.get("/", {}):
            raise WireError("unknown_event", f"there is no event {name[:40]!r}")
        for arg in args:
            check_plain_json(arg)
        if len(args) != 1:
            raise WireError("bad_message", f"{name} takes one argument (a JSON object), got {len(args)}")

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: int | None, data: Any) -> None:
        namespace = namespace or "/"
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is None or not self.manager.is_connected(sid, namespace):
            return
        try:
            self._check(data)
        except WireError as exc:
            name = data[0] if isinstance(data, list) and data else None
            log.warning("refused %r from %s: %s (%s)", str(name)[:40], sid, exc.message, exc.code)
            if id is not None:
                ack = self.packet_class(packet.ACK, namespace=namespace, id=id, data=[exc.as_ack()])
                await self._send_packet(eio_sid, ack)
            return
        await super()._handle_event(eio_sid, namespace, id, data)


# the head of a Socket.IO event packet: type 2 (event) or 5 (binary event, `<attachments>-`), an optional
# namespace (`/name,`) and the ack id
_EVENT_HEAD = re.compile(r"[25](?:\d+-)?(?:(?P<namespace>/[^,]*),)?(?P<id>\d*)")
