"""Participants: identity (unguessable tokens), one live tab each, and their way through the scenes."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mug.configurations import EndScene, Experiment, GameScene, Scene, StaticScene
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


@dataclass
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

    Connection bookkeeping is in memory (one server process); everything that must survive is in the store.
    """

    def __init__(self, experiment: Experiment, store: Store) -> None:
        self.experiment = experiment
        self.store = store
        self.by_sid: dict[str, Live] = {}
        self.by_pid: dict[str, Live] = {}
        # set by the multiplayer service: the id of a participant's latest match, to check step rows against
        self.match_of: Callable[[str], str | None] = lambda _pid: None

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
        stale_sid = None
        current = self.by_pid.get(pid)
        if current is not None:
            if current.tab != msg.tab:
                raise WireError("second_tab", "this study is already open in another tab or window")
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
        spec = await self._enter(live)
        resume = {"episode": await self.store.next_episode(pid, spec["id"])} if spec["kind"] == "game" else {}
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
        self.by_sid[sid] = live
        self.by_pid[pid] = live
        spec = scene_spec(first, seed=seed, completion_code=code, params=dict(msg.params))
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
        return scene_spec(scene, seed=seed, completion_code=live.completion_code, params=params)

    async def _outcome_spec(self, live: Live) -> dict[str, Any]:
        assert live.outcome_scene is not None
        scene = self.experiment.scene(live.outcome_scene)
        assert isinstance(scene, GameScene)
        outcome = scene.lobby.timeout_end if live.outcome == "lobby_timeout" else scene.partner_left
        end = EndScene(
            id=f"{scene.id}-{live.outcome}".replace("_", "-")[:64],
            title=outcome.title,
            body=outcome.body,
            redirect_url=outcome.redirect_url,
        )
        params = await self.store.params(live.pid)
        return scene_spec(end, seed=None, completion_code=live.completion_code, params=params) | {
            "outcome": live.outcome
        }

    async def finish_with_outcome(self, pid: str, scene_id: str, outcome: str) -> dict[str, Any] | None:
        """End a participant's way through the experiment on an outcome page of game scene `scene_id`.

        Returns:
            The outcome page's SceneSpec for a connected participant (None if not connected).
        """
        scene = self.experiment.scene(scene_id)
        assert isinstance(scene, GameScene)
        fixed = scene.lobby.timeout_end if outcome == "lobby_timeout" else scene.partner_left
        code = fixed.completion_code or new_completion_code()
        await self.store.set_outcome(pid, scene_id, outcome, code)
        live = self.by_pid.get(pid)
        if live is None:
            return None
        live.outcome, live.outcome_scene, live.completion_code = outcome, scene_id, code
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
        """Store a batch of step rows of the current game scene."""
        live = self.live(sid)
        scene = self._current(live, msg.scene_id)
        if not isinstance(scene, GameScene):
            raise WireError("not_a_game", f"scene {scene.id!r} is not a game scene; it records no steps")
        rows = [r.model_dump() for r in msg.rows]
        match_id = self.match_of(live.pid)
        for row in rows:
            if row["match_id"] is not None and row["match_id"] != match_id:
                raise WireError("bad_rows", "step rows name a match this participant is not in")
            if row["episode"] >= scene.num_episodes:
                raise WireError("bad_rows", f"episode {row['episode']} is beyond the scene's {scene.num_episodes}")
        stored, dupes = await self.store.add_steps(live.pid, scene.id, rows)
        return {"ok": True, "batch": msg.batch, "stored": stored, "duplicates": dupes}

    async def event(self, sid: str, msg: Event) -> dict[str, Any]:
        """Store a bookkeeping event from the page."""
        live = self.live(sid)
        if msg.scene_id is not None and msg.scene_id not in {s.id for s in self.experiment.scenes}:
            # events may trail their scene (a late visibility change), so any scene of the experiment will do
            raise WireError("wrong_scene", f"there is no scene {msg.scene_id!r}")
        await self.store.add_event(live.pid, msg.scene_id, msg.kind, msg.data)
        return {"ok": True}
