"""The server under load: the process `lobby_load.py serve` runs, and how the load generator finds and asks it."""

from __future__ import annotations

import json
import tempfile
import urllib.request
from pathlib import Path
from typing import Any

WHAT_IFS = [
    *("one-db-conn", "ping25", "no-deflate", "gc-freeze", "ws-wsproto", "ws-legacy", "ws-uvicorn"),
    *("keep-body-reader", "tracemalloc", "redis-blocking-pool", "engineio-tasks"),
]


def serve(
    port: int,
    db: str,
    group: int,
    log_level: str,
    what_if: list[str],
    snapshots: str | None = None,
    redis: str | None = None,
) -> None:
    """The server process: the real app factory under uvicorn.

        `what_if` applies changes under consideration for the server, from the outside, to measure them first:
        `one-db-conn` (SQLite engine with one pooled connection: no writer contention), `ping25` (Engine.IO ping
        every 25 s: the server's setting now; once it was 5 s), `no-deflate` (no permessage-deflate), `gc-freeze`
        (move the start-up heap out of the cyclic GC's reach, and collect the oldest generation less often),
        `ws-wsproto` / `ws-legacy` / `ws-uvicorn` (uvicorn's wsproto, legacy websockets or "auto"
        (websockets-sansio) protocol instead of the one MUG is served with, `mug.server.websocket`),
        `keep-body-reader` (python-engineio's request translation as it is: a websocket's environ keeps its body
        reader, see `mug.server.edge._bodiless_websockets`; with `ws-uvicorn`, the server before the memory work
        but for the slots of three small per-connection classes), `engineio-tasks` (python-engineio's own
    socket and websocket handler: a reader, a writer and a ping task and two queues per websocket, uvicorn's
    ASGI task under them, and python-socketio keeping each connection's whole environ: the server before
    `mug.server.engine_socket`), `tracemalloc`
        (trace allocations, for `--memory`'s snapshots; it costs memory and time), `redis-blocking-pool` (redis-py's
        BlockingConnectionPool: a Redis command waits up to 20 s for one of the 100 connections instead of raising
        MaxConnectionsError when a burst has all of them busy). `snapshots`: the folder of
        `load.memory`'s SIGUSR1 snapshots. `db`: a SQLite file, or a `postgresql://` URL (`--servers`); `redis`:
        MUG_REDIS_URL, shared by the processes of `--servers 2`.
    """
    unknown = sorted(set(what_if) - set(WHAT_IFS))
    if unknown:
        raise SystemExit(f"unknown what-if {unknown}; known: {WHAT_IFS}")
    if "tracemalloc" in what_if:
        import tracemalloc

        tracemalloc.start(1)
    if snapshots:
        from .memory import install_snapshot_hook

        install_snapshot_hook(Path(snapshots))
    import uvicorn

    ws_deflate = True
    if "one-db-conn" in what_if:
        from sqlalchemy.ext.asyncio import create_async_engine as real

        import mug.server.store as store

        store.create_async_engine = lambda url, **kw: real(url, **({"pool_size": 1, "max_overflow": 0} | kw))
    if "ping25" in what_if:
        import socketio

        real_init = socketio.AsyncServer.__init__

        def init(self: Any, *a: Any, **kw: Any) -> None:
            kw.update(ping_interval=25, ping_timeout=20)
            real_init(self, *a, **kw)

        socketio.AsyncServer.__init__ = init  # type: ignore[method-assign]
    if "keep-body-reader" in what_if:
        import mug.server.edge as edge

        edge._bodiless_websockets = lambda translate: translate  # type: ignore[assignment]
    if "engineio-tasks" in what_if:
        from engineio.async_socket import AsyncSocket

        from mug.server.edge import BoundedEngineServer, GuardedServer

        BoundedEngineServer.socket_class = AsyncSocket
        GuardedServer.keep_environ = True
    if "redis-blocking-pool" in what_if:
        import redis.asyncio as aioredis

        def from_url(cls: Any, url: str, **kw: Any) -> Any:
            return cls(connection_pool=aioredis.BlockingConnectionPool.from_url(url, timeout=20, **kw))

        aioredis.Redis.from_url = classmethod(from_url)  # type: ignore[method-assign,assignment]
    if "no-deflate" in what_if:
        ws_deflate = False
    from mug.server.websocket import PROTOCOL

    ws_impl = {"ws-wsproto": "wsproto", "ws-legacy": "websockets", "ws-uvicorn": "auto"}
    ws = next((ws_impl[w] for w in what_if if w in ws_impl), PROTOCOL)

    from mug.app import create_app
    from mug.configurations import EndScene, Experiment, GameScene, Lobby, RemoteConfig
    from mug.settings import Settings

    agents: dict[str, Any] = (
        {"left": "human", "right": "human"} if group == 2 else {f"a{i}": "human" for i in range(group)}
    )
    scene = GameScene(
        id="duo",
        env="mug.demos.catch_duo:make_env",
        agents=agents,
        key_bindings={"ArrowLeft": 0, "ArrowRight": 2},
        default_action=1,
        lobby=Lobby(timeout_s=3600),
    )
    experiment = Experiment(id="load", scenes=[scene, EndScene(id="end")], remote=RemoteConfig())
    # every simulated participant comes from 127.0.0.1: the per-address quota would stop the load at 120
    settings = Settings(
        database_url=db if "://" in db else f"sqlite:///{db}",
        redis_url=redis,
        bundle_dir=Path(tempfile.gettempdir()) / "mug-load-no-bundle",
        log_level=log_level,
        new_participants_per_minute=10**9,
    )
    app = create_app(experiment, settings)
    if "gc-freeze" in what_if:
        import gc

        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 50, 100)
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        ws_per_message_deflate=ws_deflate,
        ws=ws,
    )


def healthz(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as r:
        return json.loads(r.read())  # type: ignore[no-any-return]
