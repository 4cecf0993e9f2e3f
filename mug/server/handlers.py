"""Socket.IO event handlers: parse at the edge, call the service, answer with an acknowledgement."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from pydantic import BaseModel, ValidationError

from mug.configurations import StaticScene
from mug.server import entry
from mug.server.edge import CLIENT_ADDRESS, GuardedServer
from mug.server.limits import Limits, StorageQuota, event_bytes, quota_refused, rows_bytes, stored_bytes
from mug.server.live import LiveState
from mug.server.multiplayer import Multiplayer
from mug.server.participants import Participants
from mug.server.store import ATTEMPT_EVENT, LOBBY_RTT_EVENT, dumps
from mug.server.wire import (
    MAX_MESSAGE_BYTES,
    Advance,
    Event,
    Hello,
    Inactive,
    Kicked,
    LobbyJoin,
    MatchReport,
    Records,
    ServerMessage,
    Signal,
    WireError,
)

log = logging.getLogger("mug.handlers")

Handler = Callable[[str, Any], Awaitable[dict[str, Any]]]
Emit = Callable[[str, ServerMessage], Awaitable[None]]


def parse[M: BaseModel](model: type[M], data: Any) -> M:
    """Validate a page message; a bad one raises WireError naming the fields at fault."""
    if not isinstance(data, dict):
        raise WireError("bad_message", f"{model.__name__.lower()} takes a JSON object")
    size = len(json.dumps(data, default=str))
    if size > MAX_MESSAGE_BYTES:
        raise WireError("too_large", f"message of {size} bytes; the limit is {MAX_MESSAGE_BYTES}")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(message)'}: {e['msg']}" for e in exc.errors()[:5])
        raise WireError("bad_message", f"{model.__name__.lower()}: {where}") from None


def _parsing(model: type[BaseModel], method: Callable[[str, Any], Awaitable[dict[str, Any]]]) -> Handler:
    async def handle(sid: str, data: Any) -> dict[str, Any]:
        return await method(sid, parse(model, data))

    return handle


def guarded(name: str, handler: Handler) -> Callable[[str, Any], Awaitable[dict[str, Any]]]:
    """Wrap a handler so any refusal becomes an error acknowledgement and is logged; the server goes on."""

    async def run(sid: str, data: Any = None) -> dict[str, Any]:
        try:
            return await handler(sid, data)
        except WireError as exc:
            log.warning("refused %s from %s: %s (%s)", name, sid, exc.message, exc.code)
            return exc.as_ack()
        except Exception:
            log.exception("error handling %s from %s", name, sid)
            return WireError("server_error", "the server could not handle this message; it was not stored").as_ack()

    return run


def room(pid: str) -> str:
    """The Socket.IO room of a participant's connection: an event sent to it reaches their page on whichever
    server process holds the connection (through the Redis manager when there are several)."""
    return f"p:{pid}"


def emitter(sio: socketio.AsyncServer) -> Emit:
    """Send an event to a participant's live connection (dropped if they are not connected)."""

    async def emit(pid: str, message: ServerMessage) -> None:
        await sio.emit(message.event, message.payload(), to=room(pid))

    return emit


def client_address(environ: dict[str, Any]) -> str:
    """The connection's client address from the ASGI scope: behind a proxy listed in uvicorn's
    `--forwarded-allow-ips`, the client's address from X-Forwarded-For; behind another, the proxy's."""
    client = environ[CLIENT_ADDRESS] if CLIENT_ADDRESS in environ else (environ.get("asgi.scope") or {}).get("client")
    return str(client[0]) if client else "unknown"


def register(
    sio: GuardedServer, participants: Participants, multiplayer: Multiplayer, limits: Limits, presence: LiveState
) -> None:
    """Attach the event handlers to a Socket.IO server."""
    storage = StorageQuota(limits.max_stored_bytes)
    greeting: set[str] = set()  # connections with a hello under way

    async def hello(sid: str, data: Any) -> dict[str, Any]:
        msg = parse(Hello, data)
        if sid in greeting:
            # a second hello in flight on one connection would otherwise create a second participant
            raise WireError("already_identified", "a hello is already under way on this connection")
        greeting.add(sid)
        try:
            environ = sio.get_environ(sid) or {}
            if msg.token is None and sid not in participants.by_sid:
                per_minute = limits.new_participants_per_minute
                had = await presence.take("new_participant", client_address(environ), per_minute, 60.0)
                if had is not None:
                    raise quota_refused(had, per_minute)
            refused = None
            if msg.token is None:
                refused = await screen(sid, msg, environ)
            ack, stale = await participants.hello(sid, msg, environ.get("HTTP_USER_AGENT"), refused)
            pid = ack["participant"]
            if pid not in storage.used:
                # counted from the database when the participant connects to this process (after a restart, or
                # after stores through another process), then kept up to date while they stay connected here
                storage.used[pid] = 0 if msg.token is None else await stored_bytes(participants.store, pid)
        finally:
            greeting.discard(sid)
        await sio.enter_room(sid, room(pid))
        if stale is not None:
            await sio.leave_room(stale, room(pid))  # events for the participant go to this connection now
            kicked = Kicked(reason="reopened")
            await sio.emit(kicked.event, kicked.payload(), to=stale)
            await sio.disconnect(stale)
        return ack

    async def screen(sid: str, msg: Hello, environ: dict[str, Any]) -> str | None:
        # a newcomer's device, browser and round trip (Experiment.entry); the page cannot skip this
        rules = participants.experiment.entry
        found = entry.device(
            environ.get("HTTP_USER_AGENT"),
            environ.get("HTTP_SEC_CH_UA_MOBILE"),
            msg.client.model_dump() if msg.client else None,
        )
        refused = entry.screen_device(rules, found)
        if refused is None and rules.max_rtt_ms is not None:

            async def ping(n: int) -> Any:
                return await sio.call("mug_ping", {"n": n}, to=sid, timeout=entry.ping_timeout_s(rules))

            rtt = await entry.measure_rtt(ping, entry.ping_timeout_s(rules))
            log.info("round trip of %s at hello: %s ms", sid, None if rtt is None else round(rtt, 1))
            refused = entry.screen_rtt(rules, rtt)
        if refused is not None:
            log.info("entry refused %s: %s (%s, mobile %s)", sid, refused, found, found.mobile)
        return refused

    async def advance(sid: str, msg: Advance) -> dict[str, Any]:
        live = participants.live(sid)
        pid, scene = live.pid, live.scenes[live.scene_index]
        # each submission of comprehension checks, a wrong one too, is stored as an event: it counts against
        # the participant's quota like the page's own events (an estimate: the event also holds its verdict)
        checked = live.outcome is None and isinstance(scene, StaticScene) and bool(scene.checks)
        size = event_bytes(ATTEMPT_EVENT, dumps(msg.answers)) if checked else 0
        storage.check(pid, size)
        try:
            ack = await participants.advance(sid, msg)
        except WireError as exc:
            if exc.code == "wrong_answers":
                storage.add(pid, size)
            raise
        storage.add(pid, size)
        await multiplayer.leaving_scene(participants.live(sid).pid)
        return ack

    async def records(sid: str, msg: Records) -> dict[str, Any]:
        pid = participants.live(sid).pid
        sizes = rows_bytes(r.model_dump() for r in msg.rows)
        storage.check(pid, sum(sizes))
        ack = await participants.records(sid, msg)
        # rows already stored (a batch sent again) are not counted twice
        storage.add(pid, sum(sizes) * ack["stored"] // max(1, len(sizes)))
        return ack

    async def event(sid: str, msg: Event) -> dict[str, Any]:
        pid = participants.live(sid).pid
        size = event_bytes(msg.kind, dumps(msg.data))
        storage.check(pid, size)
        ack = await participants.event(sid, msg)
        storage.add(pid, size)
        return ack

    async def lobby_join(sid: str, msg: LobbyJoin) -> dict[str, Any]:
        # a lobby with Lobby.max_rtt_ms groups by round trips to the server, measured here as they join
        limit = multiplayer.max_rtt_ms(msg.scene_id)
        rtt = None
        if limit is not None:
            timeout = max(1.0, 1.5 * limit / 1000)  # a late answer is still measured (max_rtt_ms <= 5 s)

            async def ping(n: int) -> Any:
                return await sio.call("mug_ping", {"n": n}, to=sid, timeout=timeout)

            rtt = await entry.measure_rtt(ping, timeout)
        if limit is None:
            return await multiplayer.join(sid, msg)
        # the join stores a `lobby_rtt` event (events.csv): it counts against the participant's quota like
        # the page's own events, so joining and leaving over and over cannot fill the database
        pid = participants.live(sid).pid
        size = event_bytes(LOBBY_RTT_EVENT, dumps({"rtt_ms": rtt}))
        storage.check(pid, size)
        ack = await multiplayer.join(sid, msg, rtt_ms=rtt)
        storage.add(pid, size)
        return ack

    async def report(sid: str, msg: MatchReport) -> dict[str, Any]:
        pid = participants.live(sid).pid
        size = event_bytes(msg.kind, dumps(msg.data))  # stored like an event: a kind and its JSON data
        storage.check(pid, size)
        ack = await multiplayer.report(sid, msg)
        storage.add(pid, size)
        return ack

    # event -> (message model, service method): each handler parses at the edge and calls the service
    routes: dict[str, tuple[type[BaseModel], Callable[[str, Any], Awaitable[dict[str, Any]]]]] = {
        "advance": (Advance, advance),
        "records": (Records, records),
        "event": (Event, event),
        "lobby_join": (LobbyJoin, lobby_join),
        "lobby_leave": (LobbyJoin, multiplayer.leave),
        "signal": (Signal, multiplayer.signal),
        "match_report": (MatchReport, report),
        "inactive": (Inactive, multiplayer.inactive),
    }
    sio.on("hello", guarded("hello", hello))
    for name, (model, method) in routes.items():
        sio.on(name, guarded(name, _parsing(model, method)))

    # Only the server's own notice of a closed connection reaches this: GuardedServer refuses a client's
    # event named `disconnect` (any event not registered above is answered `unknown_event` there, too).
    async def disconnect(sid: str, *_: Any) -> None:
        greeting.discard(sid)
        pid = participants.disconnect(sid)
        if pid is not None and pid not in participants.by_pid:
            # gone from this process: what it stored may grow elsewhere, so a return here counts it again
            storage.used.pop(pid, None)
        # a page that reconnected to another server process has moved on: its old connection changes nothing
        if pid is not None and await presence.release(pid, sid):
            log.info("disconnected %s", pid)
            await multiplayer.disconnected(pid)

    sio.on("disconnect", disconnect)
