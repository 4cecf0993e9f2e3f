"""Socket.IO event handlers: parse at the edge, call the service, answer with an acknowledgement."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import socketio
from pydantic import BaseModel, ValidationError

from mug.server.multiplayer import Multiplayer
from mug.server.participants import Participants
from mug.server.wire import (
    MAX_MESSAGE_BYTES,
    Advance,
    Event,
    Hello,
    LobbyJoin,
    MatchReport,
    Records,
    Signal,
    WireError,
)

log = logging.getLogger("mug.handlers")

Handler = Callable[[str, Any], Awaitable[dict[str, Any]]]
Emit = Callable[[str, str, dict[str, Any]], Awaitable[None]]


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


def emitter(sio: socketio.AsyncServer, participants: Participants) -> Emit:
    """Send an event to a participant's live connection (dropped if they are not connected)."""

    async def emit(event: str, pid: str, payload: dict[str, Any]) -> None:
        live = participants.by_pid.get(pid)
        if live is not None:
            await sio.emit(event, payload, to=live.sid)

    return emit


def register(sio: socketio.AsyncServer, participants: Participants, multiplayer: Multiplayer) -> None:
    """Attach the event handlers to a Socket.IO server."""

    async def hello(sid: str, data: Any) -> dict[str, Any]:
        environ = sio.get_environ(sid) or {}
        ack, stale = await participants.hello(sid, parse(Hello, data), environ.get("HTTP_USER_AGENT"))
        if stale is not None:
            await sio.emit("mug_kicked", {"reason": "reopened"}, to=stale)
            await sio.disconnect(stale)
        return ack

    async def advance(sid: str, data: Any) -> dict[str, Any]:
        return await participants.advance(sid, parse(Advance, data))

    async def records(sid: str, data: Any) -> dict[str, Any]:
        return await participants.records(sid, parse(Records, data))

    async def event(sid: str, data: Any) -> dict[str, Any]:
        return await participants.event(sid, parse(Event, data))

    async def lobby_join(sid: str, data: Any) -> dict[str, Any]:
        return await multiplayer.join(sid, parse(LobbyJoin, data))

    async def lobby_leave(sid: str, data: Any) -> dict[str, Any]:
        return await multiplayer.leave(sid, parse(LobbyJoin, data))

    async def signal(sid: str, data: Any) -> dict[str, Any]:
        return await multiplayer.signal(sid, parse(Signal, data))

    async def match_report(sid: str, data: Any) -> dict[str, Any]:
        return await multiplayer.report(sid, parse(MatchReport, data))

    handlers: dict[str, Handler] = {
        "hello": hello, "advance": advance, "records": records, "event": event, "lobby_join": lobby_join,
        "lobby_leave": lobby_leave, "signal": signal, "match_report": match_report,
    }
    for name, fn in handlers.items():
        sio.on(name, guarded(name, fn))

    async def disconnect(sid: str, *_: Any) -> None:
        pid = participants.disconnect(sid)
        if pid is not None:
            log.info("disconnected %s", pid)
            await multiplayer.disconnected(pid)

    sio.on("disconnect", disconnect)

    async def unknown(event: str, sid: str, *_: Any) -> dict[str, Any]:
        log.warning("refused unknown event %r from %s", event[:40], sid)
        return WireError("unknown_event", f"there is no event {event[:40]!r}").as_ack()

    sio.on("*", unknown)
