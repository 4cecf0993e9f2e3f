"""Multiplayer bookkeeping: lobbies, matches, signaling relay and outcomes, wired to the participants.

The pure parts live in `lobby`, `signaling` and `ice`; this module turns their notices into events, stores
matches, and applies a scene's configured outcomes (lobby timeout, a partner who left).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from mug.configurations import Experiment, GameScene, agent_label
from mug.server.ice import ice_config
from mug.server.lobby import Ended, Lobby, Match, Matched, Matches, Notice, TimedOut, Waiting
from mug.server.participants import Participants
from mug.server.signaling import route
from mug.server.store import Store
from mug.server.wire import LobbyJoin, MatchReport, Signal, WireError

log = logging.getLogger("mug.multiplayer")

Emit = Callable[[str, str, dict[str, Any]], Awaitable[None]]  # (event, participant id, payload)
TICK_S = 0.25  # how often lobby timeouts are checked: a timeout fires at most this late


def match_agents(scene: GameScene, humans: int) -> dict[str, dict[str, Any]]:
    """Who controls each agent in a match of `humans` members: a slot, or a policy run on every peer.

    Keyed by agent label (`GameScene.agents_spec`: an int id 0 is "0", a str id "0" is '"0"')."""
    agents: dict[str, dict[str, Any]] = {}
    for slot, agent in enumerate(scene.human_agents):
        if slot < humans:
            agents[agent_label(agent)] = {"kind": "human", "slot": slot}
        else:
            agents[agent_label(agent)] = {"kind": "policy", **scene.ai_fallback[agent].model_dump()}
    for label, controller in scene.agents_spec().items():
        if label not in agents and controller != "human":
            agents[label] = {"kind": "policy", **controller}
    return dict(sorted(agents.items()))


class Multiplayer:
    """Lobbies and matches of every multiplayer game scene of one experiment."""

    def __init__(self, experiment: Experiment, store: Store, participants: Participants, emit: Emit) -> None:
        self.experiment = experiment
        self.store = store
        self.participants = participants
        self.emit = emit
        self.matches = Matches()
        self.lobbies = {
            s.id: Lobby(s.id, len(s.human_agents), s.lobby.timeout_s, self.matches)
            for s in experiment.game_scenes
            if s.multiplayer
        }
        self.finished: dict[str, set[str]] = {}
        participants.match_of = self._match_id_of

    def _match_id_of(self, pid: str) -> str | None:
        match = self.matches.member_of(pid)
        return None if match is None else match.id

    def _scene(self, scene_id: str) -> GameScene:
        scene = self.experiment.scene(scene_id)
        assert isinstance(scene, GameScene)
        return scene

    async def join(self, sid: str, msg: LobbyJoin) -> dict[str, Any]:
        """Put a participant who is in a multiplayer scene (with its runtime ready) in that scene's lobby."""
        live = self.participants.live(sid)
        scene = self.experiment.scenes[live.scene_index]
        if live.outcome is not None or scene.id != msg.scene_id:
            raise WireError("wrong_scene", f"you are not in scene {msg.scene_id!r}")
        lobby = self.lobbies.get(scene.id)
        if lobby is None:
            raise WireError("not_multiplayer", f"scene {scene.id!r} is not a multiplayer scene")
        await self.dispatch(lobby.join(live.pid, time.time()))
        return {"ok": True}

    async def leave(self, sid: str, msg: LobbyJoin) -> dict[str, Any]:
        """Take a participant out of a lobby."""
        live = self.participants.live(sid)
        lobby = self.lobbies.get(msg.scene_id)
        if lobby is not None:
            await self.dispatch(lobby.leave(live.pid, time.time()))
        return {"ok": True}

    async def signal(self, sid: str, msg: Signal) -> dict[str, Any]:
        """Relay one WebRTC signaling message to a member of the sender's match, unread."""
        live = self.participants.live(sid)
        target, forwarded = route(self.matches, live.pid, msg.to, {"kind": msg.kind, "data": msg.data})
        await self.emit("signal", target, forwarded)
        return {"ok": True}

    async def report(self, sid: str, msg: MatchReport) -> dict[str, Any]:
        """Store a member's report; `finished` and `peer_gone` also move the match towards its end."""
        live = self.participants.live(sid)
        match = self.matches.member_of(live.pid)
        if match is None or match.id != msg.match_id:
            raise WireError("not_in_match", "you are not a member of that match")
        await self.store.add_match_report(match.id, live.pid, msg.kind, msg.data)
        if msg.kind == "finished":
            done = self.finished.setdefault(match.id, set())
            done.add(live.pid)
            if done >= set(match.members) and not self.matches.is_ended(match.id):
                self.matches.end(match.id, "finished", time.time())
                await self.store.end_match(match.id, "finished")
        elif msg.kind == "peer_gone":
            await self._end_early(match, "peer_lost")
        return {"ok": True}

    async def leaving_scene(self, pid: str) -> None:
        """A participant moves on from their scene: a live match they have not finished ends for the others
        (as if they had left); they themselves go on to the next scene, with no outcome."""
        match = self.matches.live_match_of(pid)
        done = self.finished.setdefault(match.id, set()) if match is not None else set()
        if match is not None and pid not in done:
            done.add(pid)
            await self._end_early(match, "peer_left")

    async def disconnected(self, pid: str) -> None:
        """A participant's connection closed: leave any lobby; a live match ends for everyone."""
        now = time.time()
        for lobby in self.lobbies.values():
            if pid in lobby:
                await self.dispatch(lobby.leave(pid, now))
        match = self.matches.live_match_of(pid)
        if match is not None and pid not in self.finished.get(match.id, set()):
            await self._end_early(match, "peer_left")

    async def _end_early(self, match: Match, reason: str) -> None:
        if self.matches.is_ended(match.id):
            return
        self.matches.end(match.id, reason, time.time())
        done = self.finished.get(match.id, set())
        log.info("match %s ended: %s", match.id, reason)
        try:
            await self.store.end_match(match.id, reason)
        except Exception:
            log.exception("could not record the end of match %s", match.id)
        for pid in match.members:
            if pid in done:
                continue
            try:
                spec = await self.participants.finish_with_outcome(pid, match.scene_id, "partner_left")
            except Exception:
                # the partner must still hear that the match is over, even if recording the outcome failed
                log.exception("could not record the partner_left outcome of %s", pid)
                spec = None
            await self.emit("match_end", pid, {"match_id": match.id, "reason": reason, "scene": spec})

    async def tick(self) -> None:
        """Apply lobby timeouts that fell due."""
        now = time.time()
        for scene_id, lobby in self.lobbies.items():
            if self._scene(scene_id).lobby.on_timeout == "ai":
                # everyone waiting when the first wait runs out plays together, AI taking the empty slots
                deadline = lobby.next_deadline()
                notices = lobby.form_partial(now) if deadline is not None and deadline <= now else []
            else:
                notices = lobby.tick(now)
            if notices:
                await self.dispatch(notices)

    async def run_ticker(self) -> None:
        """Tick until cancelled (started with the server)."""
        while True:
            await asyncio.sleep(TICK_S)
            try:
                await self.tick()
            except Exception:
                log.exception("lobby tick failed")

    async def dispatch(self, notices: list[Notice]) -> None:
        """Send each notice to its recipients, applying timeouts' outcomes on the way."""
        for notice in notices:
            if isinstance(notice, Matched):
                await self._start(notice.match)
            elif isinstance(notice, TimedOut):
                await self._timed_out(notice)
            elif isinstance(notice, Waiting | Ended):
                for pid in notice.to:
                    await self.emit(notice.event, pid, notice.payload(pid))

    async def _start(self, match: Match) -> None:
        scene = self._scene(match.scene_id)
        agents = match_agents(scene, len(match.members))
        await self.store.add_match(match.id, scene.id, match.seed, list(match.members), agents, match.created_at)
        log.info("match %s formed in %s: %s", match.id, scene.id, list(match.members))
        now = time.time()
        for slot, pid in enumerate(match.members):
            await self.emit(
                "match_start",
                pid,
                {
                    "match_id": match.id,
                    "scene_id": scene.id,
                    "seed": match.seed,
                    "slot": slot,
                    "members": list(match.members),
                    "agents": agents,
                    "input_delay": scene.input_delay,
                    "ice": ice_config(self.experiment.remote.webrtc_config, pid, now),
                },
            )

    async def _timed_out(self, notice: TimedOut) -> None:
        scene = self._scene(notice.scene_id)
        pid = notice.participant_id
        outcome = scene.lobby.on_timeout
        base = {"scene_id": scene.id, "waited_s": notice.waited_s, "outcome": outcome}
        if outcome == "scene":
            assert scene.lobby.timeout_scene is not None
            spec = await self.participants.jump(pid, scene.lobby.timeout_scene)
        else:
            spec = await self.participants.finish_with_outcome(pid, scene.id, "lobby_timeout")
        if spec is not None:
            await self.emit("lobby_timeout", pid, base | {"scene": spec})
