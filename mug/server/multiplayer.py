"""Multiplayer bookkeeping: lobbies, matches, signaling relay and outcomes, wired to the participants.

The pure parts live in `lobby`, `signaling` and `ice`; this module turns their notices into events (the typed
server -> page messages of `mug.server.wire`), stores matches, and applies a scene's configured outcomes
(lobby timeout, a member who left, the partners who stayed).

The database is the source of truth: a match and its members are stored when it forms, `finished` reports
as they come, lobby waits when they start. `restore()` rebuilds the live matches after a restart, so their
records, reports and reconnections are accepted as before. In memory are only caches of that and who is
connected.

Presence. Peers play over their own data channels, so a member whose connection to the server drops (a
network hiccup, a restarted server) is not gone: the match goes on, and the member is counted absent until
their page says hello again naming the match. A match ends early when

- a peer reports that it lost another (`peer_gone`, after the lockstep's own grace period): the members then
  absent `left`, and so does the lost one if its reloaded page was still rejoining;
- a member stays absent longer than the scene's `reconnect_grace_s`: they `left`; so does one whose reloaded
  page has not rejoined within `reconnect_grace_s + connect_timeout_s`;
- a member moves on to another scene without finishing (a page that skips ahead): they go on, no outcome.

A member whose page says hello without naming the running match (it was reloaded, or opened anew) gets the
match's `match_start` again with `rejoin` set (in the hello's `resume`): the page reconnects to the peers and
rebuilds the game from their history (`mug.client.lockstep.rejoin`), and reports `resumed`.

Everyone else who had not finished gets `partner_left`. Members whose browsers never connected to each other
(a peer reports `peer_gone` with reason `connect_failed`, after the scene's `connect_timeout_s`) all get
`no_connection` instead. Each outcome page has its own completion code.

Several processes. The live state (lobby queues, matches, finishers, absences, rejoins, who is connected where) is
behind `mug.server.live.LiveState`: this process's memory, or Redis when several processes serve the
experiment. Events reach a participant's connection on any process (`emit`: a Socket.IO room per participant).
Work that changes a participant's connection (their outcome page, a lobby timeout) runs on the process that
holds it: another process asks it with a command (`command`).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from mug.configurations import Experiment, GameScene, agent_label
from mug.configurations.scenes import controller_spec
from mug.server.assets import Assets
from mug.server.ice import ice_config
from mug.server.live import Command, LiveState, LobbyRules, LocalState
from mug.server.lobby import SEED_BOUND, Group, Match, Matched, Notice, TimedOut, Waiting, new_match_id
from mug.server.participants import EXCLUDED, Participants
from mug.server.signaling import route_match
from mug.server.store import LOBBY_RTT_EVENT, Store
from mug.server.wire import (
    Inactive,
    LobbyJoin,
    LobbyTimeout,
    LobbyWaiting,
    MatchEnd,
    MatchReport,
    MatchStart,
    OutcomeSet,
    ServerMessage,
    Signal,
    WireError,
)

log = logging.getLogger("mug.multiplayer")

Emit = Callable[[str, ServerMessage], Awaitable[None]]  # (participant id, message)
ENDED_BY_ADMIN = "ended_by_admin"  # a match ended from the admin view: its reason, and its members' outcome
TICK_S = 0.25  # how often lobby timeouts and absences are checked: they take effect at most this late
# how often those waiting for a kept group are checked for a member who has left the study meanwhile (a
# database read per member waiting: a slower pace than TICK_S)
KEPT_CHECK_S = 2.0


def match_agents(scene: GameScene, humans: int, assets: Assets | None = None) -> dict[str, dict[str, Any]]:
    """Who controls each agent in a match of `humans` members: a slot, a Python policy run on every peer,
    or an ONNX policy (`kind: "onnx"`, its model's URL from `assets`) run by one peer (`mug.client.match`).

    Keyed by agent label (`GameScene.agents_spec`: an int id 0 is "0", a str id "0" is '"0"')."""
    files = assets or Assets()

    def policy(controller: dict[str, Any]) -> dict[str, Any]:
        if controller.get("kind") == "onnx":
            return dict(files.controller(controller))
        return {"kind": "policy", **controller}

    agents: dict[str, dict[str, Any]] = {}
    for slot, agent in enumerate(scene.human_agents):
        if slot < humans:
            agents[agent_label(agent)] = {"kind": "human", "slot": slot}
        else:
            agents[agent_label(agent)] = policy(controller_spec(scene.ai_fallback[agent]))
    for label, controller in scene.agents_spec().items():
        if label not in agents and controller != "human":
            agents[label] = policy(controller)
    return dict(sorted(agents.items()))


class Multiplayer:
    """Lobbies and matches of every multiplayer game scene of one experiment."""

    def __init__(
        self,
        experiment: Experiment,
        store: Store,
        participants: Participants,
        emit: Emit,
        live: LiveState | None = None,
    ) -> None:
        self.experiment = experiment
        self.store = store
        self.participants = participants
        self.emit = emit
        # lobby queues, matches, finishers and absences: this process's own, or shared with others
        self.live: LiveState = live or LocalState()
        self.lobbies = {
            s.id: LobbyRules(s.id, len(s.human_agents), s.lobby.timeout_s, s.lobby.slots, s.lobby.max_rtt_ms)
            for s in experiment.game_scenes
            if s.multiplayer
        }
        participants.matchbook = self
        self._kept_checked = 0.0

    def _scene(self, scene_id: str) -> GameScene:
        scene = self.experiment.scene(scene_id)
        assert isinstance(scene, GameScene)
        return scene

    async def restore(self) -> int:
        """Rebuild the live matches from the database (at start-up); returns how many were restored.

        Their members count as absent from now on: each has the scene's grace period to reconnect.
        """
        now = time.time()
        restored = 0
        for row in await self.store.live_matches():
            scene = next((s for s in self.experiment.game_scenes if s.id == row["scene_id"]), None)
            if scene is None or not scene.multiplayer:
                log.warning("match %s of scene %r cannot go on: the scene is gone", row["id"], row["scene_id"])
                await self.store.end_match(row["id"], "scene_removed")
                continue
            match = Match(
                row["id"], row["scene_id"], tuple(row["members"]), int(row["seed"]), row["created_at"], row["group_id"]
            )
            if not await self.live.add_match(match):
                continue  # another process serving the experiment holds it already
            for pid in row["finished"]:
                await self.live.add_finished(match.id, pid)
            for pid in match.members:
                if pid not in row["finished"]:
                    await self.live.mark("absent", pid, now)
            restored += 1
        if restored:
            log.info("restored %d running matches from the database", restored)
        return restored

    # MatchBook (what the participants service asks)

    async def is_member(self, pid: str, match_id: str) -> bool:
        """Whether the participant is (or was) a member of that match."""
        match, _ = await self.live.match_of(pid)
        if match is not None and match.id == match_id:
            return True
        return await self.store.is_match_member(match_id, pid)

    async def returned(self, pid: str, match_id: str | None) -> dict[str, Any] | None:
        """A participant said hello again, their page playing `match_id` (or nothing). A page that does not
        play their running match any more (reloaded, or opened anew) gets its `match_start` to rejoin."""
        match = await self.live.live_match_of(pid)
        await self.live.unmark("absent", pid)
        if match is None or pid in await self.live.finished(match.id):
            return None
        if match_id == match.id:
            log.info("%s is back in match %s", pid, match.id)
            return None
        log.info("%s rejoins match %s (page reloaded)", pid, match.id)
        await self.live.mark("rejoining", pid, time.time(), keep_first=True)
        return self._match_start(match, match.members.index(pid), rejoin=True).model_dump()

    # page events

    def max_rtt_ms(self, scene_id: str) -> float | None:
        """The lobby's limit on two strangers' round trips to the server (`Lobby.max_rtt_ms`), or None."""
        lobby = self.lobbies.get(scene_id)
        return None if lobby is None else lobby.max_rtt_ms

    async def join(self, sid: str, msg: LobbyJoin, rtt_ms: float | None = None) -> dict[str, Any]:
        """Put a participant who is in a multiplayer scene (with its runtime ready) in that scene's lobby, with
        their round trip to the server (`rtt_ms`, measured for a lobby with `max_rtt_ms`)."""
        live = self.participants.live(sid)
        scene = live.scenes[live.scene_index]
        if live.outcome is not None or scene.id != msg.scene_id:
            raise WireError("wrong_scene", f"you are not in scene {msg.scene_id!r}")
        lobby = self.lobbies.get(scene.id)
        if lobby is None:
            raise WireError("not_multiplayer", f"scene {scene.id!r} is not a multiplayer scene")
        if await self.live.in_lobby(lobby, live.pid):
            return {"ok": True}  # joined again after a reconnection: still waiting
        if await self.live.live_match_of(live.pid) is None and await self.store.finished_a_match(live.pid, scene.id):
            raise WireError("already_played", f"you have played the match of scene {scene.id!r}; move on")
        if not live.webrtc:
            return await self._without_webrtc(live.pid, self._scene(scene.id))
        now = time.time()
        since = await self.store.lobby_wait(live.pid, scene.id, now)
        keep = self._scene(scene.id).lobby.keep_group
        group = await self._kept_group(live.pid, lobby.group_size) if keep else None
        if lobby.max_rtt_ms is not None:  # recorded (events.csv): who was grouped, or not, on what round trip
            await self.store.add_event(live.pid, scene.id, LOBBY_RTT_EVENT, {"rtt_ms": rtt_ms})
        await self.dispatch(await self.live.lobby_join(lobby, live.pid, now, since, group, rtt_ms))
        return {"ok": True}

    async def _kept_group(self, pid: str, size: int) -> Group | None:
        # the group of their latest match, if it had `size` people and none of the others has left the study
        group = await self.live.group_of(pid)
        if group is None:
            group = await self.store.last_group(pid)  # the live state was lost (a restart): the database has it
        if group is None or len(group.members) != size or await self._left_group(pid, group):
            return None
        return group

    async def _left_group(self, pid: str, group: Group) -> bool:
        # whether another member of the group has left the study (their page finished on an outcome)
        for other in group.members:
            if other == pid:
                continue
            row = await self.store.participant(other)
            if row is None or row["outcome"] is not None:
                log.info("%s's group %s is not kept: %s has left the study", pid, group.id, other)
                return True
        return False

    async def _release_left_groups(self, now: float) -> None:
        # who waits for a kept group of which a member has left since: they wait for whoever comes instead
        for scene_id, lobby in self.lobbies.items():
            if not self._scene(scene_id).lobby.keep_group:
                continue
            for pid, group in (await self.live.lobby_kept(lobby)).items():
                if await self._left_group(pid, group):
                    await self.dispatch(await self.live.lobby_release(lobby, pid, now))

    async def _without_webrtc(self, pid: str, scene: GameScene) -> dict[str, Any]:
        # A browser that cannot connect to peers would wait for a match it cannot play: it never enters the
        # lobby. A scene whose lobby falls back to AI starts its match at once, AI in every other slot (a match
        # of one member opens no peer connection); any other scene ends on its `no_webrtc` outcome page.
        if await self.live.live_match_of(pid) is not None:
            return {"ok": True}  # its solo match is running: the page asked again after a reconnection
        if scene.lobby.on_timeout == "ai":
            now = time.time()
            match = Match(new_match_id(), scene.id, (pid,), secrets.randbelow(SEED_BOUND), now)
            if not await self.live.add_match(match):
                raise WireError("already_in_match", "you are already in a match")
            log.info("%s has no WebRTC: plays %s with AI partners", pid, scene.id)
            await self._start(match)
            return {"ok": True}
        log.info("%s has no WebRTC: kept out of the lobby of %s", pid, scene.id)
        spec = await self.participants.finish_with_outcome(pid, scene.id, "no_webrtc")
        return {"ok": True, "outcome": "no_webrtc", "scene": spec}

    async def leave(self, sid: str, msg: LobbyJoin) -> dict[str, Any]:
        """Take a participant out of a lobby."""
        live = self.participants.live(sid)
        await self._leave_lobbies(live.pid, only=msg.scene_id)
        return {"ok": True}

    async def _leave_lobbies(self, pid: str, only: str | None = None, keep_wait: bool = False) -> None:
        now = time.time()
        for scene_id, lobby in self.lobbies.items():
            if only is None or scene_id == only:
                await self.dispatch(await self.live.lobby_leave(lobby, pid, now))
        if not keep_wait and self.lobbies:
            await self.store.end_lobby_wait(pid, only)

    async def signal(self, sid: str, msg: Signal) -> dict[str, Any]:
        """Relay one WebRTC signaling message to a member of the sender's match, unread."""
        live = self.participants.live(sid)
        match, ended = await self.live.match_of(live.pid)
        target, relayed = route_match(match, ended, live.pid, msg.to, {"kind": msg.kind, "data": msg.data})
        await self.emit(target, relayed)
        return {"ok": True}

    async def report(self, sid: str, msg: MatchReport) -> dict[str, Any]:
        """Store a member's report; `finished` and `peer_gone` also move a live match towards its end."""
        live = self.participants.live(sid)
        if not await self.is_member(live.pid, msg.match_id):
            raise WireError("not_in_match", "you are not a member of that match")
        await self.store.add_match_report(msg.match_id, live.pid, msg.kind, msg.data)
        match = await self.live.live_match_of(live.pid)
        if match is None or match.id != msg.match_id:
            return {"ok": True}  # a late report of an ended match: stored, nothing to decide
        if msg.kind == "finished":
            done = await self.live.add_finished(match.id, live.pid)
            if done >= set(match.members) and await self.live.end(match.id, "finished", time.time()):
                await self._prune(match)
                await self.store.end_match(match.id, "finished")
        elif msg.kind == "peer_gone" and msg.data.get("reason") == "connect_failed":
            # the browsers never reached each other: nobody left, nobody could play
            await self._end_early(match, "no_connection", leavers=set(), stayed="no_connection")
        elif msg.kind == "peer_gone" and msg.data.get("reason") == "rejoin_failed":
            await self._end_early(match, "peer_left", leavers={live.pid})  # its reloaded page could not get back
        elif msg.kind == "peer_gone":
            # the peer it waited for through the grace period: gone if absent, or if its page never rejoined
            slot = msg.data.get("peer_slot")
            lost = match.members[slot] if isinstance(slot, int) and 0 <= slot < len(match.members) else None
            rejoining = await self.live.marked("rejoining", [lost]) if lost is not None else {}
            await self._end_early(match, "peer_lost", leavers={lost} if lost in rejoining else set())
        elif msg.kind == "resumed":
            await self.live.unmark("rejoining", live.pid)
        return {"ok": True}

    async def inactive(self, sid: str, msg: Inactive) -> dict[str, Any]:
        """A participant did not answer their game scene's inactivity warning: they end on its `inactive`
        outcome; in a running match of the scene the others get `partner_inactive` (like a member who left:
        the match ends, every recorded step is kept). When another process ended the match first, the answer
        carries the outcome it stored for them (`partner_left`, `partner_inactive`...)."""
        live = self.participants.live(sid)
        if live.outcome is not None:
            raise WireError("finished", "this participant has finished already")
        scene = live.scenes[live.scene_index]
        if scene.id != msg.scene_id:
            raise WireError("wrong_scene", f"you are in scene {scene.id!r}, not {msg.scene_id!r}")
        if not isinstance(scene, GameScene) or scene.inactivity_s is None:
            raise WireError("not_watched", f"scene {scene.id!r} does not watch for inactivity (no inactivity_s)")
        match = await self.live.live_match_of(live.pid)
        if match is not None and match.scene_id == scene.id and live.pid not in await self.live.finished(match.id):
            await self._end_early(
                match, "peer_inactive", leavers=set(), stayed="partner_inactive", own={live.pid: "inactive"}
            )
        else:
            await self._leave_lobbies(live.pid)
            await self.participants.finish_with_outcome(live.pid, scene.id, "inactive")
        if live.outcome is None:
            # another process ended the match first (a partner left, or went idle too) and stored this
            # participant's outcome: that is the one that applies
            await self.participants.refreshed_outcome(live.pid)
        if live.outcome is None:
            raise WireError("server_error", "the inactive outcome could not be recorded")
        log.info("%s inactive in %s: outcome %s", live.pid, scene.id, live.outcome)
        spec = await self.participants.outcome_spec(live)
        return {"ok": True, "scene": spec, "scene_index": live.scene_index}

    async def leaving_scene(self, pid: str) -> None:
        """A participant moves on from their scene: they leave its lobby; a live match they have not finished
        ends for the others (as if they had left); they themselves go on to the next scene, with no outcome."""
        await self._leave_lobbies(pid)
        match = await self.live.live_match_of(pid)
        if match is not None and pid not in await self.live.finished(match.id):
            await self.live.add_finished(match.id, pid)  # no outcome of their own
            await self._end_early(match, "peer_left", leavers=set())
        elif match is None:
            await self.live.forget(pid)

    async def disconnected(self, pid: str) -> None:
        """A participant's connection closed: they leave any lobby (and join again when they reconnect); a
        member of a live match counts as absent until they say hello again."""
        await self._leave_lobbies(pid, keep_wait=True)
        match = await self.live.live_match_of(pid)
        if match is not None and pid not in await self.live.finished(match.id):
            await self.live.mark("absent", pid, time.time())
        elif match is None:
            await self.live.forget(pid)

    # actions of the admin view (`mug.server.admin`)

    async def end_by_admin(self, match_id: str) -> bool:
        """End a live match: its members who had not finished get the `ended_by_admin` outcome (their records
        so far are kept). Returns False when the match is unknown or has ended already."""
        row = await self.store.match(match_id)
        if row is None or row["ended_at"] is not None:
            return False
        match = None
        for pid in row["members"]:
            match = await self.live.live_match_of(pid)
            if match is not None and match.id == match_id:
                break
        if match is None or match.id != match_id:
            return False
        log.info("match %s ended from the admin view", match_id)
        await self._end_early(match, ENDED_BY_ADMIN, leavers=set(), stayed=ENDED_BY_ADMIN)
        return True

    async def exclude(self, pid: str) -> str:
        """Exclude a participant (`Participants.exclude`): they leave any lobby, a live match of theirs ends
        for the others with `ended_by_admin`, and their page shows the `excluded` page.

        Raises:
            LookupError, ValueError: as `Participants.exclude`.
        """
        match = await self.live.live_match_of(pid)
        where = await self.participants.exclude(pid)
        if self.lobbies:
            await self._leave_lobbies(pid)
        if match is not None and pid not in await self.live.finished(match.id):
            # the excluded member has their outcome already; their match_end (with no page) makes it reload
            await self._end_early(match, ENDED_BY_ADMIN, leavers=set(), stayed=ENDED_BY_ADMIN)
        else:
            await self.emit(pid, OutcomeSet(outcome=EXCLUDED))
        return where

    async def _end_early(
        self,
        match: Match,
        reason: str,
        leavers: set[str],
        stayed: str = "partner_left",
        own: dict[str, str] | None = None,
    ) -> None:
        """End a match before its last episode: `leavers` (and absent members) get `left`, members named in
        `own` their own outcome, everyone else who had not finished `stayed`."""
        if not await self.live.end(match.id, reason, time.time()):
            return  # ended already (here, or by another process)
        done = await self.live.finished(match.id)
        gone = leavers | set(await self.live.marked("absent", match.members))
        log.info("match %s ended: %s (left: %s)", match.id, reason, sorted(gone))
        try:
            await self.store.end_match(match.id, reason)
        except Exception:
            log.exception("could not record the end of match %s", match.id)
        for pid in match.members:
            if pid in done:
                continue  # they played every episode (or moved on): nothing ends for them
            outcome = (own or {}).get(pid) or ("left" if pid in gone else stayed)
            spec = None
            try:
                spec = await self.participants.finish_with_outcome(pid, match.scene_id, outcome)
            except Exception:
                # the partner must still hear that the match is over, even if recording the outcome failed
                log.exception("could not record the %s outcome of %s", outcome, pid)
            await self._tell_ended(pid, MatchEnd(match_id=match.id, reason=reason, scene=spec))
        await self._prune(match)

    async def _tell_ended(self, pid: str, ended: MatchEnd) -> None:
        owner = await self.live.owner(pid)
        if owner is None:
            await self.emit(pid, ended)
        else:
            # their connection is on another process, whose copy of the participant must learn the outcome
            # (stored here already) before it tells the page
            command = {"op": "match_end", "pid": pid, "match_id": ended.match_id, "reason": ended.reason}
            await self.live.send(owner, command)

    async def _prune(self, match: Match) -> None:
        # an ended match keeps no live state: absences, rejoins and finishers go, and members who are not connected
        # are forgotten (connected ones when they move on or disconnect)
        await self.live.prune(match, connected=lambda pid: pid in self.participants.by_pid)

    async def command(self, command: Command) -> None:
        """Run what another process asks of this one for a participant whose connection is here."""
        if command["op"] == "match_end":
            spec = await self.participants.refreshed_outcome(command["pid"])
            ended = MatchEnd(match_id=command["match_id"], reason=command["reason"], scene=spec)
            await self.emit(command["pid"], ended)
        elif command["op"] == "lobby_timeout":
            await self._timed_out(TimedOut(command["scene_id"], command["pid"], float(command["waited_s"])))
        else:
            log.warning("unknown command from another process: %r", command.get("op"))

    async def tick(self) -> None:
        """Apply lobby timeouts and absences that fell due."""
        now = time.time()
        for scene_id, lobby in self.lobbies.items():
            # with on_timeout "ai", everyone waiting when the first wait runs out plays together, AI taking the
            # empty slots
            notices = await self.live.lobby_tick(lobby, now, partial=self._scene(scene_id).lobby.on_timeout == "ai")
            if notices:
                await self.dispatch(notices)
        if now - self._kept_checked >= KEPT_CHECK_S:
            self._kept_checked = now
            await self._release_left_groups(now)
        for pid in await self.live.sweep(now):
            await self.disconnected(pid)  # their connection was on a server process that is gone
        for pid, since in (await self.live.marked("absent")).items():
            match = await self.live.live_match_of(pid)
            if match is None:
                await self.live.unmark("absent", pid)
            elif now - since > self._scene(match.scene_id).reconnect_grace_s:
                await self._end_early(match, "peer_left", leavers={pid})
        for pid, since in (await self.live.marked("rejoining")).items():
            match = await self.live.live_match_of(pid)
            if match is None:
                await self.live.unmark("rejoining", pid)
                continue
            scene = self._scene(match.scene_id)
            if now - since > scene.reconnect_grace_s + scene.connect_timeout_s:
                await self._end_early(match, "peer_left", leavers={pid})

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
            elif isinstance(notice, Waiting):
                for position, pid in enumerate(notice.waiting):
                    waiting = LobbyWaiting(
                        scene_id=notice.scene_id, waiting=len(notice.waiting), position=position, needed=notice.needed
                    )
                    await self.emit(pid, waiting)

    async def _start(self, match: Match) -> None:
        scene = self._scene(match.scene_id)
        agents = match_agents(scene, len(match.members), self.participants.assets)
        since = await self.store.add_match(
            match.id, scene.id, match.seed, list(match.members), agents, match.created_at, match.group.id
        )
        for pid, joined_at in since.items():  # how long each waited (the admin view plots it; exported as events)
            waited = {"match_id": match.id, "waited_s": round(max(0.0, match.created_at - joined_at), 3)}
            await self.store.add_event(pid, scene.id, "lobby_matched", waited)
        log.info("match %s (group %s) formed in %s: %s", match.id, match.group.id, scene.id, list(match.members))
        for slot, pid in enumerate(match.members):
            await self.emit(pid, self._match_start(match, slot))

    def _match_start(self, match: Match, slot: int, rejoin: bool = False) -> MatchStart:
        scene = self._scene(match.scene_id)
        pid = match.members[slot]
        return MatchStart(
            match_id=match.id,
            scene_id=scene.id,
            seed=match.seed,
            slot=slot,
            members=list(match.members),
            agents=match_agents(scene, len(match.members), self.participants.assets),
            input_delay=scene.input_delay,
            ice=ice_config(self.experiment.remote.webrtc_config, pid, time.time()),
            rejoin=rejoin,
        )

    async def _timed_out(self, notice: TimedOut) -> None:
        scene = self._scene(notice.scene_id)
        pid = notice.participant_id
        owner = await self.live.owner(pid)
        if owner is not None:  # their connection is on another process: it moves them on
            command = {"op": "lobby_timeout", "scene_id": scene.id, "pid": pid, "waited_s": notice.waited_s}
            await self.live.send(owner, command)
            return
        await self.store.end_lobby_wait(pid, scene.id)
        outcome = scene.lobby.on_timeout
        if outcome == "scene":
            assert scene.lobby.timeout_scene is not None
            spec = await self.participants.jump(pid, scene.lobby.timeout_scene)
        else:
            spec = await self.participants.finish_with_outcome(pid, scene.id, "lobby_timeout")
        if spec is not None:
            await self.emit(pid, LobbyTimeout(scene_id=scene.id, waited_s=notice.waited_s, outcome=outcome, scene=spec))
