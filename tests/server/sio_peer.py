"""A participant page played by a python-socketio client, and small multiplayer experiments for server tests."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from typing import Any

import httpx
import socketio

from mug.configurations import EndScene, Experiment, GameScene, RemoteConfig
from mug.testing import wait_until_async

KEYS = {"ArrowLeft": 0}


def duo(**kw: Any) -> GameScene:
    return GameScene(
        **(
            {"id": "duo", "env": "envs.duo:make", "key_bindings": KEYS, "agents": {"left": "human", "right": "human"}}
            | kw
        )
    )


def experiment(scene: GameScene, *extra: Any, remote: RemoteConfig | None = None) -> Experiment:
    return Experiment(id="mp", scenes=[scene, *extra, EndScene(id="end")], remote=remote or RemoteConfig())


class Peer:
    """A participant page that records every server event it gets, and can reconnect with its token."""

    def __init__(self, url: str, name: str, client: dict[str, Any] | None = None) -> None:
        self.url = url
        self.name = name
        self.client = client  # the hello's `client` (what a page reports of its browser), if any
        self.events: list[tuple[str, Any]] = []
        self.arrived = asyncio.Event()
        self.pid = ""
        self.token: str | None = None
        self.hello: dict[str, Any] = {}
        self.sio = self._client()

    def _client(self) -> socketio.AsyncClient:
        sio = socketio.AsyncClient(reconnection=False)
        sio.on("*", self._record)
        return sio

    async def _record(self, event: str, data: Any) -> None:
        self.events.append((event, data))
        self.arrived.set()

    async def start(
        self, match_id: str | None = None, url: str | None = None, transports: list[str] | None = None
    ) -> Peer:
        """Connect (over a WebSocket, unless other `transports` are named) and say hello (again, with the
        token, when it has one)."""
        self.url = url or self.url
        if self.sio.connected:
            await self.sio.disconnect()
        self.sio = self._client()
        await self.sio.connect(self.url, transports=transports or ["websocket"])
        hello: dict[str, Any] = {
            "v": 1,
            "token": self.token,
            "tab": f"tab-{self.name}",
            "params": {},
            "match_id": match_id,
        }
        if self.client is not None:
            hello["client"] = self.client
        ack = await self.call("hello", hello)
        assert ack["ok"], ack
        self.pid, self.token, self.hello = ack["participant"], ack["token"], ack
        return self

    async def call(self, event: str, data: Any) -> dict[str, Any]:
        return await self.sio.call(event, data, timeout=10)  # type: ignore[no-any-return]

    async def wait_for(self, event: str, timeout: float = 5.0) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for name, data in self.events:
                if name == event:
                    self.events.remove((name, data))
                    return data
            remaining = deadline - asyncio.get_running_loop().time()
            assert remaining > 0, f"{self.name}: no {event!r} event; got {self.events}"
            self.arrived.clear()
            try:
                await asyncio.wait_for(self.arrived.wait(), remaining)
            except TimeoutError:
                pass

    def got(self, event: str) -> list[Any]:
        return [data for name, data in self.events if name == event]

    async def stop(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


def connected(url: str) -> int:
    """How many participants the server counts as connected."""
    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
        return int(json.load(response)["connected"])


async def until_connected(url: str, n: int) -> None:
    """Wait until the server counts `n` connected participants (it has handled everyone who left)."""
    async with httpx.AsyncClient(base_url=url) as http:

        async def counted() -> bool:
            return bool((await http.get("/healthz")).json()["connected"] == n)

        await wait_until_async(counted, 5, what=f"{n} participants connected")


async def peers(url: str, n: int) -> list[Peer]:
    return [await Peer(url, f"p{i}").start() for i in range(n)]


async def matched(*group: Peer, scene_id: str = "duo") -> list[dict[str, Any]]:
    """Every peer joins the lobby in order; returns each one's match_start."""
    for p in group:
        assert (await p.call("lobby_join", {"v": 1, "scene_id": scene_id}))["ok"]
    return [await p.wait_for("match_start") for p in group]
