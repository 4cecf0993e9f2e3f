"""Record real play for the replay tests: the browser's runners driven with random keys, stored through the Store.

Single player: `Runner.tick` with keys, as the worker drives it. Match: one `MatchRunner` per member over
the lockstep core's in-memory network (delays, loss), as `tests/client/test_client_match.py` plays them.
The scene spec and the match's agents come from the server's own code (`scene_spec`, `match_agents`).
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mug.client.match import MatchRunner
from mug.client.runner import Runner
from mug.client.spec import GameSpec
from mug.configurations import Experiment, GameScene
from mug.server.export import export_async
from mug.server.multiplayer import match_agents
from mug.server.scenes import scene_spec
from mug.server.store import Store
from mug.testing.lockstep.network import LinkProfile, SimNetwork


@dataclass
class Recording:
    """What one participant's page recorded in one scene."""

    participant: str
    scene: str
    rows: list[dict[str, Any]]
    seed: int | None = None  # single player: the scene's seed
    match: dict[str, Any] | None = None  # multiplayer: {match_id, seed, members, agents}


@dataclass
class Study:
    experiment: Experiment
    recordings: list[Recording] = field(default_factory=list)


def spec_of(scene: GameScene, seed: int | None) -> GameSpec:
    return GameSpec.parse(scene_spec(scene, seed=seed, completion_code="", params={}))


def play_single(scene: GameScene, participant: str, seed: int, keys: list[str | None], rng_seed: int = 0) -> Recording:
    """Play every episode of `scene` alone, pressing a random key of `keys` (None: nothing) now and then."""
    rng = random.Random(rng_seed)
    runner = Runner()
    runner.start(spec_of(scene, seed), seed, 0)
    rows: list[dict[str, Any]] = []
    held: list[str] = []
    for tick in range(20_000):
        pressed: list[str] = []
        if rng.random() < 0.3:
            key = rng.choice(keys)
            held = pressed = [key] if key else []
        out = runner.tick(held, pressed, 1e12 + tick)
        rows += out["rows"]
        if out["episode_done"]:
            if out["scene_done"]:
                break
            runner.next_episode()
    assert runner.scene_done, "the scene did not finish"
    runner.close()
    return Recording(participant, scene.id, rows, seed=seed)


def play_match(
    scene: GameScene, members: list[str], seed: int, keys: list[str | None], match_id: str = "m-1"
) -> list[Recording]:
    """Play a match of `scene` between `members` over a lossy in-memory network until every runner is done."""
    agents = match_agents(scene, len(members))
    start = {"match_id": match_id, "seed": seed, "members": members, "agents": agents, "input_delay": "auto"}
    runners = [MatchRunner(spec_of(scene, None), start | {"slot": i}) for i in range(len(members))]
    net = SimNetwork(seed=seed, default=LinkProfile(latency_ms=8, jitter_ms=4, loss=0.05))
    rng = random.Random(seed)
    rows: list[list[dict[str, Any]]] = [[] for _ in members]
    held: list[list[str]] = [[] for _ in members]
    now = 0.0
    while now < 600_000 and not all(r.state in ("done", "peer_gone") for r in runners):
        for src, dst, data in net.deliver(now):
            runners[members.index(dst)].receive(src, data)
        for i, r in enumerate(runners):
            if rng.random() < 0.05:
                key = rng.choice(keys)
                held[i] = [key] if key else []
            res = r.poll(now, held[i], [], 1e12 + now)
            for peer, data, reliable in res["sends"]:
                net.send(members[i], peer, data, now, reliable=reliable)
            if res["frame"]:
                rows[i] += res["frame"]["rows"]
        now += 2.0
    assert all(r.state == "done" for r in runners), [r.state for r in runners]
    for r in runners:
        r.close()
    match = {"match_id": match_id, "seed": seed, "members": members, "agents": agents}
    return [Recording(pid, scene.id, rows[i], match=match) for i, pid in enumerate(members)]


async def _store(url: str, study: Study) -> None:
    store = await Store.open(url)
    try:
        known: set[str] = set()
        matches: set[str] = set()
        for rec in study.recordings:
            if rec.participant not in known:
                known.add(rec.participant)
                token = hashlib.sha256(rec.participant.encode()).hexdigest()
                await store.create_participant(rec.participant, token, study.experiment.id, "CODE", {}, None)
        for rec in study.recordings:
            index = study.experiment.index(rec.scene)
            await store.enter_scene(rec.participant, rec.scene, index, rec.seed)
            if rec.match is not None and rec.match["match_id"] not in matches:
                matches.add(rec.match["match_id"])
                m = rec.match
                await store.add_match(m["match_id"], rec.scene, m["seed"], m["members"], m["agents"], 1.0)
            for i in range(0, len(rec.rows), 100):  # batches, as the page sends them
                stored, _ = await store.add_steps(rec.participant, rec.scene, rec.rows[i : i + 100])
                assert stored == len(rec.rows[i : i + 100])
    finally:
        await store.close()


def store_and_export(tmp: Path, study: Study) -> tuple[str, Path]:
    """Store the study's rows in a new SQLite database and export it; returns (database URL, export folder)."""
    url = f"sqlite:///{tmp / 'data.sqlite3'}"
    out = tmp / "export"
    asyncio.run(_store(url, study))
    asyncio.run(export_async(url, out, experiment=study.experiment))
    return url, out
