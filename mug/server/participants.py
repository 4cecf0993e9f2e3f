"""Participants: identity (unguessable tokens), one live tab each, and their way through the scenes."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import Any, Protocol

from mug.configurations import EndScene, Experiment, GameScene, Outcome, Scene, StaticScene
from mug.server.assets import Assets
from mug.server.scenes import scene_spec
from mug.server.store import Store
from mug.server.wire import Advance, Event, Hello, Records, WireError

log = logging.getLogger("mug.participants")

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes are typed by hand


def hash_token(token: str) -> str:
    """Tokens are stored hashed: a copy of the database cannot be used to take over a session."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_completion_code() -> str:
    """A random completion code of 10 unambiguous characters."""
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(10))


def _fresh_seed(scene: Scene) -> int | None:
    """A game scene's root seed for a participant entering it: the scene's fixed seed, else a random one."""
    if not isinstance(scene, GameScene):
        return None
    return scene.seed if scene.seed is not None else secrets.randbelow(2**31)


class MatchBook(Protocol):
    """What participants need to know of matches (the multiplayer service; `NoMatches` without one)."""

    async def returned(self, pid: str, match_id: str | None) -> dict[str, Any] | None:
        """A participant said hello again; `match_id` is the match their page is playing, if any. Returns the
        `match_start` of a running match their reloaded page should rejoin, if any."""

    async def is_member(self, pid: str, match_id: str) -> bool:
        """Whether the participant is (or was) a member of that match."""
        ...


class Presence(Protocol):
    """Who is connected where, when several server processes serve the experiment (`mug.server.live`)."""

    async def claim(self, pid: str, sid: str, tab: str) -> str | None:
        """Make `sid` the participant's connection; returns one to drop on another process (a refresh);
        raises WireError `second_tab` if another process holds a connection of another tab."""
        ...


class OneProcess:
    """The Presence of a server that is the only one: `Participants` knows every connection itself."""

    async def claim(self, pid: str, sid: str, tab: str) -> str | None:
        return None


class NoMatches:
    """The MatchBook of an experiment served without multiplayer bookkeeping."""

    async def returned(self, pid: str, match_id: str | None) -> dict[str, Any] | None:
        return None

    async def is_member(self, pid: str, match_id: str) -> bool:
        return False


# outcome -> the GameScene field that configures its page
OUTCOME_FIELDS = {
    "lobby_timeout": "lobby.timeout_end",
    "partner_left": "partner_left",
    "left": "left",
    "no_connection": "no_connection",
}


def outcome_config(scene: GameScene, outcome: str) -> Outcome:
    """The configured page of an outcome of a game scene."""
    if outcome == "lobby_timeout":
        return scene.lobby.timeout_end
    if outcome == "partner_left":
        return scene.partner_left
    if outcome == "left":
        return scene.left
    if outcome == "no_connection":
        return scene.no_connection
    raise ValueError(f"unknown outcome {outcome!r}; known: {sorted(OUTCOME_FIELDS)}")


@dataclass(slots=True)
class Live:
    """A participant's current connection."""

    pid: str
    sid: str
    tab: str
    scene_index: int
    completion_code: str
    outcome: str | None = None
    outcome_scene: str | None = None


class Participants:
    """Hello, advance, records and events for connected participants.

    Connection bookkeeping is in memory (the connections of this process; `presence` knows those of other
    processes serving the experiment); everything that must survive is in the store.
    """

    def __init__(
        self, experiment: Experiment, store: Store, assets: Assets | None = None, presence: Presence | None = None
    ) -> None:
        self.experiment = experiment
        self.store = store
        self.assets = assets or Assets()  # the asset URLs of the scenes' Markdown and sprites
        self.presence: Presence = presence or OneProcess()
        self.by_sid: dict[str, Live] = {}
        self.by_pid: dict[str, Live] = {}
        # replaced by the multiplayer service when the experiment has multiplayer scenes
        self.matchbook: MatchBook = NoMatches()

    async def hello(self, sid: str, msg: Hello, user_agent: str | None) -> tuple[dict[str, Any], str | None]:
        """Identify (or create) the participant behind a connection.

        Returns:
            The acknowledgement, and the sid of an older connection of the same tab to drop (a refresh).
        """
        if sid in self.by_sid:
            raise WireError("already_identified", "this connection already said hello")
        if msg.token is None:
            return await self._create(sid, msg, user_agent), None
        token = msg.token
        row = await self.store.participant_by_token_hash(hash_token(token))
        if row is None or row["experiment_id"] != self.experiment.id:
            raise WireError("unknown_token", "this participant is not known here; reload the study link")
        pid = row["id"]
        current = self.by_pid.get(pid)
        if current is not None and current.tab != msg.tab:
            raise WireError("second_tab", "this study is already open in another tab or window")
        stale_sid = await self.presence.claim(pid, sid, msg.tab)  # raises second_tab (held by another process)
        if current is not None:
            stale_sid = current.sid
            self.by_sid.pop(current.sid, None)
        live = Live(
            pid,
            sid,
            msg.tab,
            min(row["scene_index"], len(self.experiment.scenes) - 1),
            row["completion_code"],
            row["outcome"],
            row["outcome_scene"],
        )
        self.by_sid[sid] = live
        self.by_pid[pid] = live
        rejoin = await self.matchbook.returned(pid, msg.match_id)
        spec = await self._enter(live)
        resume: dict[str, Any] = {}
        if rejoin is not None and spec["kind"] == "game" and spec["id"] == rejoin["scene_id"]:
            resume["match"] = rejoin
        if spec["kind"] == "game":
            scene = self.experiment.scene(spec["id"])
            resume["episode"] = await self.store.next_episode(pid, scene.id)
            if isinstance(scene, GameScene) and scene.multiplayer and await self.store.finished_a_match(pid, scene.id):
                resume["played"] = True
        log.info("hello %s scene=%s resumed", pid, spec["id"])
        return self._welcome(token, live, spec, resume), stale_sid

    async def _create(self, sid: str, msg: Hello, user_agent: str | None) -> dict[str, Any]:
        # one transaction and no read-back: everything a new participant's first page needs is known here
        token = secrets.token_urlsafe(32)
        pid = "p_" + secrets.token_hex(8)
        fixed = next((s.completion_code for s in self.experiment.scenes if isinstance(s, EndScene)), None)
        code = fixed or new_completion_code()
        first = self.experiment.scenes[0]
        seed = _fresh_seed(first)
        await self.store.create_participant(
            pid, hash_token(token), self.experiment.id, code, dict(msg.params), user_agent, first_scene=(first.id, seed)
        )
        live = Live(pid, sid, msg.tab, 0, code)
        await self.presence.claim(pid, sid, msg.tab)
        self.by_sid[sid] = live
        self.by_pid[pid] = live
        spec = scene_spec(first, seed=seed, completion_code=code, params=dict(msg.params), assets=self.assets)
        log.info("hello %s (new) scene=%s", pid, first.id)
        return self._welcome(token, live, spec, {"episode": 0} if spec["kind"] == "game" else {})

    def _welcome(self, token: str, live: Live, spec: dict[str, Any], resume: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "token": token,
            "participant": live.pid,
            "scene": spec,
            "scene_index": live.scene_index,
            "scene_count": len(self.experiment.scenes),
            "resume": resume,
        }

    def disconnect(self, sid: str) -> str | None:
        """Forget a connection; return its participant id."""
        live = self.by_sid.pop(sid, None)
        if live is None:
            return None
        if self.by_pid.get(live.pid) is live:
            del self.by_pid[live.pid]
        return live.pid

    def live(self, sid: str) -> Live:
        """The participant behind a connection, or a WireError if it has not said hello."""
        live = self.by_sid.get(sid)
        if live is None:
            raise WireError("no_hello", "say hello (with your token) before anything else")
        return live

    def _current(self, live: Live, scene_id: str | None) -> Any:
        scene = self.experiment.scenes[live.scene_index]
        if live.outcome is not None and scene_id is not None and scene_id == live.outcome_scene:
            # the game that ended on an outcome still takes its last records
            return self.experiment.scene(scene_id)
        if scene_id is not None and scene_id != scene.id:
            raise WireError("wrong_scene", f"you are in scene {scene.id!r}, not {scene_id!r}")
        return scene

    async def _enter(self, live: Live) -> dict[str, Any]:
        if live.outcome is not None:
            return await self._outcome_spec(live)
        scene = self.experiment.scenes[live.scene_index]
        seed = await self.store.enter_scene(live.pid, scene.id, live.scene_index, _fresh_seed(scene))
        params = await self.store.params(live.pid) if isinstance(scene, EndScene) else {}
        return scene_spec(scene, seed=seed, completion_code=live.completion_code, params=params, assets=self.assets)

    async def _outcome_spec(self, live: Live) -> dict[str, Any]:
        assert live.outcome_scene is not None and live.outcome is not None
        scene = self.experiment.scene(live.outcome_scene)
        assert isinstance(scene, GameScene)
        outcome = outcome_config(scene, live.outcome)
        end = EndScene(
            id=f"{scene.id}-{live.outcome}".replace("_", "-")[:64],
            title=outcome.title,
            body=outcome.body,
            redirect_url=outcome.redirect_url,
        )
        params = await self.store.params(live.pid)
        spec = scene_spec(
            end, seed=None, completion_code=live.completion_code, params=params, assets=self.assets, assets_of=scene.id
        )
        return spec | {"outcome": live.outcome}

    async def finish_with_outcome(self, pid: str, scene_id: str, outcome: str) -> dict[str, Any] | None:
        """End a participant's way through the experiment on an outcome page of game scene `scene_id`.

        An outcome applies only to a participant who is in that scene and has no outcome yet (one who moved
        on, or ended otherwise already, keeps where they are).

        Returns:
            The outcome page's SceneSpec for a connected participant it applied to, else None.
        """
        scene = self.experiment.scene(scene_id)
        assert isinstance(scene, GameScene)
        live = self.by_pid.get(pid)
        if live is not None:
            where, ended = live.scene_index, live.outcome is not None
        else:
            row = await self.store.participant(pid)
            if row is None:
                return None
            where, ended = row["scene_index"], row["outcome"] is not None
        if ended or self.experiment.scenes[min(where, len(self.experiment.scenes) - 1)].id != scene_id:
            log.info("outcome %s of %s not applied: the participant is elsewhere", outcome, pid)
            return None
        config = outcome_config(scene, outcome)
        code = (config.completion_code or new_completion_code()) if config.give_code else ""
        await self.store.set_outcome(pid, scene_id, outcome, code)
        live = self.by_pid.get(pid)  # they may have said hello meanwhile: their page gets this outcome too
        if live is None:
            return None
        live.outcome, live.outcome_scene, live.completion_code = outcome, scene_id, code
        return await self._outcome_spec(live)

    async def refreshed_outcome(self, pid: str) -> dict[str, Any] | None:
        """The outcome page of a connected participant whose outcome another server process stored (their
        copy here learns it), or None when they are not connected here or have no outcome."""
        live = self.by_pid.get(pid)
        row = None if live is None else await self.store.participant(pid)
        if live is None or row is None or row["outcome"] is None:
            return None
        live.outcome, live.outcome_scene = row["outcome"], row["outcome_scene"]
        live.completion_code = row["completion_code"]
        return await self._outcome_spec(live)

    async def jump(self, pid: str, scene_id: str) -> dict[str, Any] | None:
        """Move a participant from their current scene to a later one (a lobby timeout's `timeout_scene`)."""
        live = self.by_pid.get(pid)
        if live is None:
            return None
        current = self.experiment.scenes[live.scene_index]
        await self.store.leave_scene(pid, current.id, {}, finished=False)
        live.scene_index = self.experiment.index(scene_id)
        return await self._enter(live)

    async def advance(self, sid: str, msg: Advance) -> dict[str, Any]:
        """Leave the current scene (storing answers) and enter the next one."""
        live = self.live(sid)
        if live.outcome is not None:
            raise WireError("finished", "this participant has finished; there is nothing after this page")
        scene = self._current(live, msg.scene_id)
        if isinstance(scene, EndScene):
            raise WireError("finished", "this is the last scene; there is nothing after it")
        answers: dict[str, Any] = {}
        questions = scene.questions if isinstance(scene, StaticScene) else []
        unknown = sorted(set(msg.answers) - {q.id for q in questions})
        if unknown:
            raise WireError("bad_answers", f"scene {scene.id!r} has no questions {unknown}")
        for question in questions:
            try:
                answers[question.id] = question.validate_answer(msg.answers.get(question.id))
            except ValueError as exc:
                raise WireError("bad_answers", str(exc)) from None
        live.scene_index += 1
        nxt = self.experiment.scenes[live.scene_index]
        await self.store.leave_scene(live.pid, scene.id, answers, finished=isinstance(nxt, EndScene))
        spec = await self._enter(live)
        return {"ok": True, "scene": spec, "scene_index": live.scene_index}

    async def records(self, sid: str, msg: Records) -> dict[str, Any]:
        """Store a batch of step rows of a game scene the participant has entered."""
        live = self.live(sid)
        scene = await self._scene_for_rows(live, msg.scene_id)
        rows = [r.model_dump() for r in msg.rows]
        for match_id in sorted({r["match_id"] for r in rows if r["match_id"] is not None}):
            if not await self.matchbook.is_member(live.pid, match_id):
                raise WireError("bad_rows", "step rows name a match this participant is not in")
        for row in rows:
            if row["episode"] >= scene.num_episodes:
                raise WireError("bad_rows", f"episode {row['episode']} is beyond the scene's {scene.num_episodes}")
        stored, dupes = await self.store.add_steps(live.pid, scene.id, rows)
        return {"ok": True, "batch": msg.batch, "stored": stored, "duplicates": dupes}

    async def _scene_for_rows(self, live: Live, scene_id: str) -> GameScene:
        # rows may trail their scene (a batch acknowledged after the page moved on, or sent again after a
        # restart): any game scene the participant entered takes them
        scene: Scene = self.experiment.scenes[live.scene_index]
        if scene.id != scene_id:
            known = {s.id: s for s in self.experiment.scenes}
            if scene_id not in known or not await self.store.visited(live.pid, scene_id):
                raise WireError("wrong_scene", f"you have not been in scene {scene_id!r}")
            scene = known[scene_id]
        if not isinstance(scene, GameScene):
            raise WireError("not_a_game", f"scene {scene.id!r} is not a game scene; it records no steps")
        return scene

    async def event(self, sid: str, msg: Event) -> dict[str, Any]:
        """Store a bookkeeping event from the page."""
        live = self.live(sid)
        if msg.scene_id is not None and msg.scene_id not in {s.id for s in self.experiment.scenes}:
            # events may trail their scene (a late visibility change), so any scene of the experiment will do
            raise WireError("wrong_scene", f"there is no scene {msg.scene_id!r}")
        await self.store.add_event(live.pid, msg.scene_id, msg.kind, msg.data)
        return {"ok": True}
