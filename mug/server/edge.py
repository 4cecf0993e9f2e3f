"""The Socket.IO server as clients meet it: one gate for every event in, one bound on every packet out.

python-socketio hands a decoded event `[name, *args]` to `_handle_event`, which runs the handler registered
for `name`, including the reserved `connect` and `disconnect` handlers, and whatever the arguments are.
`GuardedServer` checks each event there first, in this order, and answers a refusal with an error ack:

1. the connection's rate limits (`mug.server.limits.RateLimiter`): `rate_limited`; a connection that keeps
   sending while refused is disconnected;
2. the name: a string (`bad_event`), not reserved by Socket.IO (`reserved_event`: a client that sends
   `disconnect` is not disconnected), one of the registered events (`unknown_event`);
3. the arguments: exactly one, holding only plain JSON (`bad_message`: NaN, Infinity, integers outside 64
   bits, binary attachments, nesting deeper than `MAX_JSON_DEPTH`), see `mug.server.wire.check_plain_json`.

Outgoing, python-engineio queues every packet for a socket without limit until its writer has sent it; a
peer that stops reading would make the server buffer whatever its partners send. `BoundedEngineServer`
refuses to queue more than `Limits.max_queued_packets` for one socket and disconnects that socket instead.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import engineio
import socketio
from socketio import packet

from mug.server.limits import Flooding, Limits, RateLimiter
from mug.server.wire import WireError, check_plain_json

log = logging.getLogger("mug.edge")

# Names python-socketio dispatches to its own handlers (connect, disconnect, the `*` catch-all) or that the
# Socket.IO JavaScript client reserves: a client sending one of them is refused and nothing happens.
RESERVED_EVENTS = frozenset(
    {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener", "message", "*"}
)


class BoundedEngineServer(engineio.AsyncServer):  # type: ignore[misc]
    """Engine.IO server that disconnects a socket instead of queueing more than `max_queued_packets` for it."""

    max_queued_packets = 100

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._dropping: set[str] = set()

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


class GuardedServer(socketio.AsyncServer):  # type: ignore[misc]
    """python-socketio's server with the checks above on every event a client sends.

    Args:
        limits: the rate limits and the outgoing queue bound.
        **kwargs: passed to `socketio.AsyncServer`.
    """

    def __init__(self, limits: Limits, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.limits = limits
        self.rate = RateLimiter(limits)
        self.eio.max_queued_packets = limits.max_queued_packets

    def _engineio_server_class(self) -> type[engineio.AsyncServer]:
        return BoundedEngineServer

    def forget(self, sid: str) -> None:
        """Drop a closed connection's rate-limit state."""
        self.rate.forget(sid)

    def _check(self, sid: str, data: Any) -> None:
        if not isinstance(data, list) or not data:
            self.rate.admit(sid, 0)
            raise WireError("bad_message", "an event is a name and one JSON object")
        name, args = data[0], data[1:]
        malformed = None
        size = len(name) if isinstance(name, str) else 0
        try:
            size += sum(check_plain_json(a) for a in args)
        except WireError as exc:
            malformed = exc
        self.rate.admit(sid, size)
        if not isinstance(name, str):
            raise WireError("bad_event", f"an event name is a string, not {type(name).__name__}")
        if name in RESERVED_EVENTS:
            raise WireError("reserved_event", f"{name[:40]!r} is reserved by Socket.IO; a page cannot send it")
        if name not in self.handlers.get("/", {}):
            raise WireError("unknown_event", f"there is no event {name[:40]!r}")
        if malformed is not None:
            raise malformed
        if len(args) != 1:
            raise WireError("bad_message", f"{name} takes one argument (a JSON object), got {len(args)}")

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: int | None, data: Any) -> None:
        namespace = namespace or "/"
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if sid is None or not self.manager.is_connected(sid, namespace):
            return
        try:
            self._check(sid, data)
        except Flooding:
            log.warning("disconnecting %s: it kept sending while refused (rate_limited)", sid)
            await self.disconnect(sid, namespace)
            socket = self.eio.sockets.get(eio_sid)
            if socket is not None:  # and close its transport, without waiting for it to read what is queued
                await socket.close(wait=False, abort=False, reason=self.reason.SERVER_DISCONNECT)
            return
        except WireError as exc:
            name = data[0] if isinstance(data, list) and data else None
            level = logging.INFO if exc.code == "rate_limited" else logging.WARNING
            log.log(level, "refused %r from %s: %s (%s)", str(name)[:40], sid, exc.message, exc.code)
            if id is not None:
                ack = self.packet_class(packet.ACK, namespace=namespace, id=id, data=[exc.as_ack()])
                await self._send_packet(eio_sid, ack)
            return
        await super()._handle_event(eio_sid, namespace, id, data)
