"""The ASGI entry point: `uvicorn mug.app:app`.

`app` serves the experiment named by MUG_EXPERIMENT (`module:attr` or `file.py[:attr]`), or the embedded demo
experiment when none is named. `create_app` builds the same thing from explicit arguments (tests, `mug serve`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import socketio
from starlette.applications import Starlette

from mug.configurations import Experiment, ExperimentError, load_experiment
from mug.server.assets import Assets
from mug.server.edge import GuardedServer
from mug.server.handlers import emitter, register
from mug.server.limits import MAX_PACKET_BYTES, Limits
from mug.server.live import LiveState, LocalState
from mug.server.multiplayer import Multiplayer
from mug.server.pages import Site, health_route
from mug.server.participants import Participants
from mug.server.store import Store
from mug.settings import Settings

log = logging.getLogger("mug")

# the packet limit, enforced for polling by python-engineio and for websockets by mug.server.websocket
ENGINEIO_MAX_PACKET = MAX_PACKET_BYTES


def _bundle_manifest(settings: Settings) -> dict[str, Any] | None:
    from mug.bundle import load_manifest

    manifest = load_manifest(settings.bundle_dir)
    if manifest is None:
        log.error(
            "no Pyodide bundle in %s: run `mug bundle` (or `make demo`) first; pages will say the game cannot load",
            settings.bundle_dir,
        )
        return None
    return {
        "bundle_id": manifest.bundle_id,
        "lock_file": manifest.lock_file,
        "packages": list(manifest.packages),
        "onnxruntime": manifest.onnxruntime.get("entry"),
    }


def _live_state(settings: Settings, namespace: str) -> LiveState:
    if not settings.redis_url:
        return LocalState()
    # imported only here: it needs the `redis` package (pip install 'multi-user-gymnasium[redis]')
    from mug.server.live_redis import RedisState

    return RedisState(settings.redis_url, namespace)


def create_app(
    experiment: Experiment | None = None, settings: Settings | None = None, limits: Limits | None = None
) -> socketio.ASGIApp:
    """Build the ASGI application.

    Args:
        experiment: the experiment to serve; default: MUG_EXPERIMENT, else the embedded demo.
        settings: deployment settings; default: read from the environment (and `.env`).
        limits: rate limits and quotas; default: `mug.server.limits`' constants with the settings' quotas.

    Returns:
        The ASGI app (Socket.IO at /socket.io, everything else by Starlette).
    """
    settings = settings or Settings.from_env()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if experiment is None:
        if settings.experiment:
            experiment = load_experiment(settings.experiment)
        else:
            from mug.demo import experiment as demo

            experiment = demo
    limits = limits or Limits(
        new_participants_per_minute=settings.new_participants_per_minute, max_stored_bytes=settings.max_stored_bytes
    )
    namespace = experiment.id
    # several processes (MUG_REDIS_URL): events cross between them through Redis, as does the live state
    manager = None
    if settings.redis_url:
        from mug.server.live_redis import BlockingRedisManager

        manager = BlockingRedisManager(settings.redis_url, channel=f"mug:{namespace}:socketio")
    sio = GuardedServer(
        limits,
        client_manager=manager,
        async_mode="asgi",
        cors_allowed_origins=settings.cors_origins or None,
        max_http_buffer_size=ENGINEIO_MAX_PACKET,
        # python-socketio's defaults: a closed tab is noticed at once (its connection closes), and peers in a
        # match detect a lost partner themselves within 3 s; short pings would cost a quarter of a core at
        # 4,000 connected participants
        ping_interval=25,
        ping_timeout=20,
    )
    state: dict[str, Any] = {}
    assets = Assets.of(experiment)  # a missing folder stops the start-up here, naming the field
    site = Site(experiment.title, settings.bundle_dir, _bundle_manifest(settings), assets)
    if assets.models and site.bundle is not None and not site.bundle.get("onnxruntime"):
        raise ExperimentError(
            f"the experiment has OnnxPolicy models ({', '.join(sorted(f.name for f in assets.models.values()))}) "
            f"but the bundle in {settings.bundle_dir} has no onnxruntime-web: run `make node`, then `mug bundle`"
        )

    def info() -> dict[str, Any]:
        participants = state.get("participants")
        multiplayer = state.get("multiplayer")
        return {
            "experiment": experiment.id,
            "bundle": site.bundle["bundle_id"] if site.bundle else None,
            "connected": len(participants.by_sid) if participants else 0,
            # matches held in memory (live ones, and ended ones whose members are still on their page)
            "matches": multiplayer.live.held() if multiplayer else 0,
        }

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        store = await Store.open(settings.database_url)
        live = _live_state(settings, namespace)
        participants = Participants(experiment, store, assets, presence=live)
        multiplayer = Multiplayer(experiment, store, participants, emitter(sio), live)
        state["participants"] = participants
        state["multiplayer"] = multiplayer
        state["store"] = store
        register(sio, participants, multiplayer, limits, live)
        await live.start(multiplayer.command)
        await multiplayer.restore()
        ticker = asyncio.create_task(multiplayer.run_ticker())
        log.info(
            "serving experiment %r (%d scenes), data in %s",
            experiment.id,
            len(experiment.scenes),
            settings.database_url,
        )
        try:
            yield
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            await live.close()
            await store.close()

    routes: list[Any] = [health_route(info), *site.routes()]
    if settings.admin_password is not None:
        from mug.server.admin import AdminAuth, AdminView

        def services() -> tuple[Store, Multiplayer]:
            if "multiplayer" not in state:
                raise RuntimeError("the server has not started yet")
            return state["store"], state["multiplayer"]

        auth = AdminAuth(settings.admin_password.get_secret_value(), namespace)
        admin = AdminView(experiment, auth, services, settings.database_url, settings.bundle_dir)
        routes += admin.routes()
        log.info("admin view on at /admin (MUG_ADMIN_PASSWORD is set)")
    else:
        log.info("admin view off: set MUG_ADMIN_PASSWORD to serve it at /admin")
    web = Starlette(routes=routes, lifespan=lifespan)
    return socketio.ASGIApp(sio, other_asgi_app=web, socketio_path="socket.io")


def __getattr__(name: str) -> Any:
    # `app` is built on first access, so importing mug.app (e.g. for create_app) reads no environment
    if name == "app":
        value = create_app()
        globals()["app"] = value
        return value
    raise AttributeError(name)
