"""An Engine.IO socket whose websocket is driven by the connection itself: no task, queue or event per socket.

python-engineio runs a websocket as a coroutine for the whole connection: a reader that waits on the ASGI
receive queue (a task per message), a writer task draining the socket's `asyncio.Queue`, and a ping task
sleeping between pings; uvicorn's ASGI task for the request stays alive under them all. For a participant who
waits in a lobby that is most of what they cost the server (docs/performance.md). Here:

- the handshake is still ASGI (origin check, Socket.IO's connect, the upgrade probe's request): the driver
  accepts the websocket, hands it to `DirectSocket.attach` and returns, so uvicorn's ASGI task ends;
- `mug.server.websocket.WebSocketProtocol` then calls `DirectSocket.feed` with each message as it is parsed in
  `data_received`, and `DirectSocket.lost` once when the websocket has ended, however it ended;
- a packet to send is encoded, compressed and written into the transport at once (`Outbox` takes the
  place of the socket's queue). What the transport cannot send yet stays in its buffer; packets written while
  the transport is above its high-water mark are counted as the socket's queue, so
  `mug.server.edge.BoundedEngineServer` still disconnects a peer that stops reading;
- pings come from one `TimerWheel` per server for all sockets: Engine.IO v4's server sends PING every
  `ping_interval` (after the last PONG), and a socket whose PONG has not come `ping_timeout` after its PING is
  closed (`ping timeout`), as python-engineio does.

Engine.IO's rules are otherwise python-engineio's own: the upgrade from polling (PING "probe", PONG "probe",
NOOP to end the pending poll, UPGRADE), the packets, the close reasons. Served by anything but MUG's websocket
protocol, the stock driver runs instead and the socket behaves as python-engineio's.

This builds on python-engineio 4.15's `AsyncSocket` (its attributes and its `receive`, `send`, `close`) and
`AsyncServer._handle_connect` (copied in `mug.server.edge`); pyproject.toml pins that minor version.
"""

from __future__ import annotations

import asyncio
import enum
import heapq
import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from engineio import exceptions, packet
from engineio.async_socket import AsyncSocket

if TYPE_CHECKING:
    from mug.server.websocket import WebSocketProtocol

log = logging.getLogger("mug.engine")

WHEEL_RESOLUTION_S = 0.25  # pings and ping timeouts fire up to this much late


class TimerWheel[T]:
    """Calls `due(item)` for each item `delay` seconds (rounded up to `resolution`) after it was added.

    One asyncio timer for every item, however many: an item costs a list slot until it is due.

    Args:
        due: what to do with an item when its time comes; an exception it raises is logged.
        resolution: items due within the same `resolution` seconds are handled together.
    """

    def __init__(self, due: Callable[[T], None], resolution: float = WHEEL_RESOLUTION_S) -> None:
        if resolution <= 0:
            raise ValueError(f"resolution must be positive, not {resolution}")
        self._due_fn = due
        self._resolution = resolution
        self._buckets: dict[int, list[T]] = {}
        self._keys: list[int] = []  # heap of the buckets' keys
        self._timer: asyncio.TimerHandle | None = None
        self._timer_key = 0

    def __len__(self) -> int:
        return sum(len(b) for b in self._buckets.values())

    def add(self, item: T, delay: float) -> None:
        """Have `item` handled in `delay` seconds (within the wheel's resolution)."""
        loop = asyncio.get_running_loop()
        key = math.ceil((loop.time() + max(delay, 0.0)) / self._resolution)
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.append(item)
            return
        self._buckets[key] = [item]
        heapq.heappush(self._keys, key)
        if self._timer is None or key < self._timer_key:
            if self._timer is not None:
                self._timer.cancel()
            self._timer_key = key
            self._timer = loop.call_at(key * self._resolution, self._tick)

    def _tick(self) -> None:
        self._timer = None
        loop = asyncio.get_running_loop()
        now = math.floor(loop.time() / self._resolution + 1e-6)
        while self._keys and self._keys[0] <= now:
            for item in self._buckets.pop(heapq.heappop(self._keys)):
                try:
                    self._due_fn(item)
                except Exception:
                    log.exception("a timer of %r failed", item)
        if self._keys and self._timer is None:
            self._timer_key = self._keys[0]
            self._timer = loop.call_at(self._timer_key * self._resolution, self._tick)

    def close(self) -> None:
        """Forget every item and stop the timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._buckets.clear()
        self._keys.clear()


class Phase(enum.Enum):
    """Where a socket's direct websocket is."""

    NONE = "none"  # no direct websocket (polling, or served by the stock driver; or an upgrade failed)
    PROBING = "probing"  # an upgrade from polling: waiting for PING "probe"
    UPGRADING = "upgrading"  # answered the probe: waiting for UPGRADE
    OPEN = "open"  # the socket's transport
    ENDED = "ended"  # closed (by either side) or the upgrade failed


_NEXT: dict[Phase, frozenset[Phase]] = {
    Phase.NONE: frozenset({Phase.PROBING, Phase.OPEN, Phase.ENDED}),
    Phase.PROBING: frozenset({Phase.UPGRADING, Phase.NONE}),
    Phase.UPGRADING: frozenset({Phase.OPEN, Phase.NONE}),
    Phase.OPEN: frozenset({Phase.ENDED}),
    Phase.ENDED: frozenset(),
}


class Outbox:
    """What python-engineio and MUG use of a socket's `asyncio.Queue`, writing each packet into the websocket.

    `qsize` is the number of packets written while the transport was above its high-water mark (what would
    be waiting in the queue if the writer were a task blocked on the full transport).
    """

    __slots__ = ("_socket",)

    def __init__(self, socket: DirectSocket) -> None:
        self._socket = socket

    def put_nowait(self, pkt: packet.Packet | None) -> None:
        if pkt is None:  # python-engineio's "the writer may end"
            self._socket.end_websocket()
        else:
            self._socket.write(pkt)

    async def put(self, pkt: packet.Packet | None) -> None:
        self.put_nowait(pkt)

    def get_nowait(self) -> packet.Packet:
        raise asyncio.QueueEmpty

    def qsize(self) -> int:
        channel = self._socket.channel
        return channel.backlog if channel is not None else 0

    def empty(self) -> bool:
        return True

    def task_done(self) -> None:
        pass

    async def join(self) -> None:
        return None


class DirectSocket(AsyncSocket):  # type: ignore[misc]
    """python-engineio's socket, with pings from the server's wheel and a websocket fed by its connection."""

    channel: WebSocketProtocol | None = None
    phase = Phase.NONE
    # python-engineio's attributes (BaseSocket sets them)
    server: Any
    sid: str
    queue: Any
    last_ping: float | None
    connected: bool
    upgrading: bool
    upgraded: bool
    closing: bool
    closed: bool

    def _enter(self, phase: Phase) -> None:
        if phase not in _NEXT[self.phase]:
            raise RuntimeError(f"Engine.IO socket {self.sid}: {self.phase.value} -> {phase.value} is not a transition")
        self.phase = phase

    # pings: one wheel for every socket instead of a sleeping task each

    def schedule_ping(self) -> None:
        if self.last_ping:  # as python-engineio: only once the previous ping was answered
            self.last_ping = None
            self.server.pings.add(self, self.server.ping_interval)

    def ping_due(self) -> None:
        """The wheel's call: send PING now, and check for its PONG in `ping_timeout`."""
        if self.closing or self.closed:
            return
        sent = time.time()
        self.last_ping = sent
        self.server.logger.info("%s: Sending packet PING data None", self.sid)
        self.queue.put_nowait(packet.Packet(packet.PING))
        self.server.ping_checks.add((self, sent), self.server.ping_timeout)

    def pong_due(self, sent: float) -> None:
        """The wheel's call `ping_timeout` after a PING: no PONG since means the peer is gone."""
        if self.closing or self.closed or self.last_ping != sent:
            return
        self.server.logger.info("%s: Client is gone, closing socket", self.sid)
        self.server.run(self.close(wait=False, abort=False, reason=self.server.reason.PING_TIMEOUT))

    # the websocket

    def attach(self, channel: WebSocketProtocol) -> None:
        """Take over an accepted websocket: from now on its connection feeds this socket, and it writes there.

        Args:
            channel: the connection's protocol, its handshake done.
        """
        self.channel = channel
        if self.connected:  # the socket came by polling: this is an upgrade
            self.upgrading = True  # python-engineio's flag: polls get NOOP from now on
            self._enter(Phase.PROBING)
        else:
            self.connected = True
            self.upgraded = True
            self._start_websocket()
        self.server.logger.info("%s: websocket attached", self.sid)
        channel.attach(self)

    def _start_websocket(self) -> None:
        self._enter(Phase.OPEN)
        polled, self.queue = self.queue, Outbox(self)
        while True:  # what waited for the websocket (the OPEN packet; sends during the upgrade) goes first
            try:
                pkt = polled.get_nowait()
            except asyncio.QueueEmpty:
                break
            self.queue.put_nowait(pkt)

    def feed(self, data: str | bytes, channel: WebSocketProtocol) -> None:
        """One websocket message from the peer on `channel` (a websocket this socket no longer has is ignored)."""
        if channel is not self.channel or self.phase is Phase.ENDED:
            return
        if len(data) > self.server.max_http_buffer_size:
            log.info("%s: a websocket message of %d bytes is over the limit", self.sid, len(data))
            self._lose()
            return
        try:
            pkt = packet.Packet(encoded_packet=data)
        except Exception as exc:
            log.info("%s: not an Engine.IO packet (%s: %s); closing", self.sid, type(exc).__name__, exc)
            self._lose()
            return
        if self.phase is Phase.PROBING:
            if pkt.packet_type != packet.PING or pkt.data != "probe":
                self.server.logger.info("%s: Failed websocket upgrade, no PING packet", self.sid)
                self._fail_upgrade()
                return
            self.write(packet.Packet(packet.PONG, data="probe"))
            self.queue.put_nowait(packet.Packet(packet.NOOP))  # ends the pending poll
            self._enter(Phase.UPGRADING)
        elif self.phase is Phase.UPGRADING:
            if pkt.packet_type != packet.UPGRADE:
                self.server.logger.info("%s: Failed websocket upgrade, expected UPGRADE packet", self.sid)
                self._fail_upgrade()
                return
            self.upgrading = False
            self.upgraded = True
            self._start_websocket()
            self.server.logger.info("%s: Upgrade to websocket successful", self.sid)
        elif pkt.packet_type == packet.PONG:
            self.schedule_ping()  # what `receive` does with it, without a task
        else:
            self.server.run(self._receive(pkt))

    async def _receive(self, pkt: packet.Packet) -> None:
        try:
            await self.receive(pkt)
        except exceptions.UnknownPacketError:
            pass
        except exceptions.SocketIsClosedError:
            self.server.logger.info("Receive error -- socket is closed")
            self.end_websocket()
        except Exception:
            self.server.logger.exception("Unknown receive error")

    def write(self, pkt: packet.Packet) -> None:
        """Send one packet into the websocket (compressed, framed, into the transport's buffer)."""
        if self.channel is not None and self.phase is not Phase.ENDED:
            self.channel.send_message(pkt.encode())

    def lost(self, channel: WebSocketProtocol) -> None:
        """The connection's call once its websocket has ended: the peer closed it, or it broke."""
        if channel is not self.channel or self.phase is Phase.ENDED:
            return
        if self.phase is not Phase.OPEN:  # an upgrade abandoned half-way: the socket stays on polling
            self._fail_upgrade()
            return
        self._enter(Phase.ENDED)
        self._close_and_forget(self.server.reason.TRANSPORT_CLOSE)  # python-engineio's end of the websocket

    def _lose(self) -> None:
        if self.phase is not Phase.OPEN:
            self._fail_upgrade()
            return
        self.end_websocket()
        self._close_and_forget(self.server.reason.TRANSPORT_CLOSE)

    def _fail_upgrade(self) -> None:
        """The upgrade did not complete: close that websocket; polling goes on, and a later upgrade may try."""
        channel, self.channel = self.channel, None
        self.upgrading = False
        self._enter(Phase.NONE)
        if channel is not None:
            channel.close_websocket()

    def _close_and_forget(self, reason: Any) -> None:
        async def close() -> None:
            await self.close(wait=False, abort=True, reason=reason)
            if self.server.sockets.get(self.sid) is self:  # closed before (by the server, or a CLOSE packet)
                del self.server.sockets[self.sid]

        self.server.run(close())

    def end_websocket(self) -> None:
        """Close the websocket from this side (a close frame; the transport goes when the peer answers)."""
        if self.phase is Phase.ENDED:
            return
        self._enter(Phase.ENDED)
        if self.channel is not None:
            self.channel.close_websocket()

    def abort(self) -> None:
        """Drop the TCP connection at once, and whatever waits in its buffers."""
        self.end_websocket()
        if self.channel is not None:
            self.channel.transport.abort()

    async def close(self, wait: bool = True, abort: bool = False, reason: Any = None) -> None:
        await super().close(wait=wait, abort=abort, reason=reason)
        if self.closed and self.phase is Phase.OPEN:
            # the CLOSE packet (if any) is written: nothing more goes over this websocket, and the server
            # forgets the socket (python-engineio does once its websocket handler returns)
            self.end_websocket()
            if self.server.sockets.get(self.sid) is self:
                del self.server.sockets[self.sid]


class DirectWebSocket:
    """python-engineio's websocket driver interface (`_async["websocket"]`): hands the websocket to the socket.

    With another websocket protocol than MUG's, or a socket of python-engineio's own class, `fallback` (the
    stock driver) runs instead.
    """

    fallback: Any = None  # the stock driver class: set by the server that installs this one

    def __init__(self, handler: Any, server: Any) -> None:
        self.handler = handler
        self.server = server

    async def __call__(self, environ: dict[str, Any]) -> Any:
        from mug.server.websocket import WebSocketProtocol

        socket = getattr(self.handler, "__self__", None)
        send: Any = environ.get("asgi.send")
        channel = getattr(send, "__self__", None)
        if not isinstance(socket, DirectSocket) or not isinstance(channel, WebSocketProtocol):
            return await self.fallback(self.handler, self.server)(environ)
        await send({"type": "websocket.accept"})
        socket.attach(channel)
        return ""  # nothing more to answer: the ASGI call ends, the connection goes on
