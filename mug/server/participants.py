"""Participants: identity (unguessable tokens), one live tab each, and their way through the scenes."""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any, Protocol

from mug.configurations import EndScene, Experiment, GameScene, Outcome, Scene, StaticScene
from mug.server.assets import Assets
from mug.server.scenes import scene_spec
from mug.server.store import ENTRY_SCENE, Plan, Store
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
    "ended_by_admin": "ended_by_admin",
    "inactive": "inactive",
    "partner_inactive": "partner_inactive",
    "no_webrtc": "no_webrtc",
}
EXCLUDED = "excluded"  # the outcome of a participant excluded from the admin view (`Experiment.excluded`)


def can_webrtc(msg: Hello) -> bool:
    """Whether a hello's browser can join multiplayer lobbies. The page reports `client.webrtc` (whether it has
    `RTCPeerConnection`); only `false` keeps it out. A `client` without the field is a page loaded before MUG
    asked (a tab open across a redeploy, reconnecting with its old script): ending it on `no_webrtc` would
    say something untrue of a browser that played before. A hello with no `client` at all comes from a
    scripted peer (load tools, tests), which brings its own transport."""
    return msg.client is None or msg.client.webrtc is not False


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
    if outcome == "ended_by_admin":
        return scene.ended_by_admin
    if outcome == "inactive":
        return scene.inactive
    if outcome == "partner_inactive":
        return scene.partner_inactive
    if outcome == "no_webrtc":
        return scene.no_webrtc
    raise ValueError(f"unknown outcome {outcome!r}; known: {sorted(OUTCOME_FIELDS)}")


def _outcome_code(outcome: Outcome) -> str:
    """The completion code an outcome page gives: its own, a random one, or none ("")."""
    return (outcome.completion_code or new_completion_code()) if outcome.give_code else ""


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
    scenes: list[Scene] = field(default_factory=list)  # the participant's resolved scene list
    condition: str | None = None
    webrtc: bool = True  # what this connection's hello said (`can_webrtc`)


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

    async def hello(
        self, sid: str, msg: Hello, user_agent: str | None, refused: str | None = None
    ) -> tuple[dict[str, Any], str | None]:
        """Identify (or create) the participant behind a connection.

        Args:
            refused: for a newcomer, the entry outcome the screening gave them (`mug.server.entry`), if any:
                they are stored with it and shown its page.

        Returns:
            The acknowledgement, and the sid of an older connection of the same tab to drop (a refresh).
        """
        ack, stale = await self._hello(sid, msg, user_agent, refused)
        self.by_sid[sid].webrtc = can_webrtc(msg)
        return ack, stale

    async def _hello(
        self, sid: str, msg: Hello, user_agent: str | None, refused: str | None
    ) -> tuple[dict[str, Any], str | None]:
        if sid in self.by_sid:
            raise WireError("already_identified", "this connection already said hello")
        if msg.token is None:
            return await self._create(sid, msg, user_agent, refused), None
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
        scenes = self._scenes_of(row)
        live = Live(
            pid,
            sid,
            msg.tab,
            min(row["scene_index"], len(scenes) - 1),
            row["completion_code"],
            row["outcome"],
            row["outcome_scene"],
            scenes,
            row["condition"],
        )
        self.by_sid[sid] = live
        self.by_pid[pid] = live
        rejoin = await self.matchbook.returned(pid, msg.match_id)
        spec = await self._enter(live)
        resume: dict[str, Any] = {}
        if rejoin is not None and spec["kind"] == "game" and spec["id"] == rejoin["scene_id"]:
            resume["match"] = rejoin
        if spec["kind"] == "game" and live.outcome is None:
            scene = self.experiment.scene(spec["id"])
            resume["episode"] = await self.store.next_episode(pid, scene.id)
            if isinstance(scene, GameScene) and scene.multiplayer and await self.store.finished_a_match(pid, scene.id):
                resume["played"] = True
        log.info("hello %s scene=%s resumed", pid, spec["id"])
        return self._welcome(token, live, spec, resume), stale_sid

    def _scenes_of(self, row: dict[str, Any]) -> list[Scene]:
        """A stored participant's resolved scene list (refused at entry: the written one, never shown)."""
        if not row.get("scene_order"):
            return self.experiment.default_scenes
        try:
            return [self.experiment.scene(entry["id"]) for entry in json.loads(row["scene_order"])]
        except KeyError as exc:
            # the experiment was changed under a running study: this participant's scenes are gone
            raise WireError(
                "experiment_changed", f"scene {exc.args[0]!r} of this participant is no longer in the experiment"
            ) from None

    async def _create(self, sid: str, msg: Hello, user_agent: str | None, refused: str | None) -> dict[str, Any]:
        # one transaction and no read-back: everything a new participant's first page needs is known here
        token = secrets.token_urlsafe(32)
        pid = "p_" + secrets.token_hex(8)
        entry = self.experiment.entry
        params = dict(msg.params)

        def plan(condition: str | None) -> Plan:
            order_seed = secrets.randbelow(2**31)
            placed = self.experiment.plan(condition, order_seed)
            end = placed[-1].scene
            code = (end.completion_code if isinstance(end, EndScene) else None) or new_completion_code()
            return Plan(order_seed, [p.entry() for p in placed], _fresh_seed(placed[0].scene), code)

        admission = await self.store.admit(
            pid,
            hash_token(token),
            self.experiment.id,
            "",
            params,
            user_agent,
            plan=plan,
            conditions=self.experiment.condition_ids,
            balance=self.experiment.balance,
            unique=entry.unique_params,
            refused=None if refused is None else (refused, _outcome_code(entry.outcome(refused))),
            duplicate_code=_outcome_code(entry.duplicate),
        )
        if admission.outcome is not None:
            live = Live(
                pid,
                sid,
                msg.tab,
                0,
                admission.completion_code,
                admission.outcome,
                ENTRY_SCENE,
                self.experiment.default_scenes,
            )
            await self.presence.claim(pid, sid, msg.tab)
            self.by_sid[sid] = live
            self.by_pid[pid] = live
            log.info("hello %s (new) refused at entry: %s", pid, admission.outcome)
            return self._welcome(token, live, await self.outcome_spec(live), {})
        chosen = admission.plan
        assert chosen is not None
        scenes = [self.experiment.scene(e["id"]) for e in chosen.order]
        live = Live(pid, sid, msg.tab, 0, chosen.completion_code, scenes=scenes, condition=admission.condition)
        await self.presence.claim(pid, sid, msg.tab)
        self.by_sid[sid] = live
        self.by_pid[pid] = live
        first = scenes[0]
        spec = scene_spec(
            first, seed=chosen.first_seed, completion_code=live.completion_code, params=params, assets=self.assets
        )
        log.info("hello %s (new) condition=%s scene=%s", pid, admission.condition, first.id)
        return self._welcome(token, live, spec, {"episode": 0} if spec["kind"] == "game" else {})

    def _welcome(self, token: str, live: Live, spec: dict[str, Any], resume: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "token": token,
            "participant": live.pid,
            "scene": spec,
            "scene_index": live.scene_index,
            "scene_count": len(live.scenes),
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
        scene = live.scenes[live.scene_index]
        if live.outcome is not None and scene_id is not None and scene_id == live.outcome_scene:
            # the game that ended on an outcome still takes its last records
            return self.experiment.scene(scene_id)
        if scene_id is not None and scene_id != scene.id:
            raise WireError("wrong_scene", f"you are in scene {scene.id!r}, not {scene_id!r}")
        return scene

    async def _enter(self, live: Live) -> dict[str, Any]:
        if live.outcome is not None:
            return await self.outcome_spec(live)
        scene = live.scenes[live.scene_index]
        seed = await self.store.enter_scene(live.pid, scene.id, live.scene_index, _fresh_seed(scene))
        params = await self.store.params(live.pid) if isinstance(scene, EndScene) else {}
        return scene_spec(scene, seed=seed, completion_code=live.completion_code, params=params, assets=self.assets)

    def _outcome_page(self, outcome_scene: str, outcome: str) -> tuple[str, Outcome]:
        """The id and configured page of an outcome: of entry, of a declined consent, or of a game scene."""
        if outcome_scene == ENTRY_SCENE:
            return ENTRY_SCENE, self.experiment.entry.outcome(outcome)
        if outcome == EXCLUDED:
            return outcome_scene, self.experiment.excluded
        scene = self.experiment.scene(outcome_scene)
        if isinstance(scene, StaticScene) and outcome == "consent_declined":
            return scene.id, scene.declined
        if isinstance(scene, StaticScene) and outcome == "comprehension_failed":
            return scene.id, scene.comprehension_failed
        assert isinstance(scene, GameScene)
        return scene.id, outcome_config(scene, outcome)

    async def outcome_spec(self, live: Live) -> dict[str, Any]:
        """The outcome page (an end SceneSpec with `outcome`) of a participant who ended on an outcome."""
        assert live.outcome_scene is not None and live.outcome is not None
        where, outcome = self._outcome_page(live.outcome_scene, live.outcome)
        end = EndScene(
            id=f"{where}-{live.outcome}".replace("_", "-")[:64],
            title=outcome.title,
            body=outcome.body,
            redirect_url=outcome.redirect_url,
        )
        params = await self.store.params(live.pid)
        spec = scene_spec(
            end, seed=None, completion_code=live.completion_code, params=params, assets=self.assets, assets_of=where
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
            where, ended, scenes = live.scene_index, live.outcome is not None, live.scenes
        else:
            row = await self.store.participant(pid)
            if row is None:
                return None
            where, ended, scenes = row["scene_index"], row["outcome"] is not None, self._scenes_of(row)
        if ended or scenes[min(where, len(scenes) - 1)].id != scene_id:
            log.info("outcome %s of %s not applied: the participant is elsewhere", outcome, pid)
            return None
        code = _outcome_code(outcome_config(scene, outcome))
        await self.store.set_outcome(pid, scene_id, outcome, code)
        live = self.by_pid.get(pid)  # they may have said hello meanwhile: their page gets this outcome too
        if live is None:
            return None
        live.outcome, live.outcome_scene, live.completion_code = outcome, scene_id, code
        return await self.outcome_spec(live)

    async def exclude(self, pid: str) -> str:
        """End a participant's way through the experiment on the `Experiment.excluded` page, wherever they are
        (an action of the admin view); their data so far stays.

        Returns:
            The scene they were in (stored as their `outcome_scene`).

        Raises:
            LookupError: no such participant in this experiment.
            ValueError: they finished, or have an outcome, already.
        """
        row = await self.store.participant(pid)
        if row is None or row["experiment_id"] != self.experiment.id:
            raise LookupError(f"there is no participant {pid!r} in experiment {self.experiment.id!r}")
        live = self.by_pid.get(pid)
        outcome = row["outcome"] or (live.outcome if live is not None else None)
        if outcome is not None or row["finished_at"] is not None:
            raise ValueError(f"participant {pid!r} has ended already ({outcome or 'finished'})")
        if live is not None:
            where = live.scenes[live.scene_index].id
        else:
            scenes = self._scenes_of(row)
            where = scenes[min(row["scene_index"], len(scenes) - 1)].id
        code = _outcome_code(self.experiment.excluded)
        await self.store.set_outcome(pid, where, EXCLUDED, code)
        live = self.by_pid.get(pid)
        if live is not None:
            live.outcome, live.outcome_scene, live.completion_code = EXCLUDED, where, code
        log.info("%s excluded in scene %s", pid, where)
        return where

    async def refreshed_outcome(self, pid: str) -> dict[str, Any] | None:
        """The outcome page of a connected participant whose outcome another server process stored (their
        copy here learns it), or None when they are not connected here or have no outcome."""
        live = self.by_pid.get(pid)
        row = None if live is None else await self.store.participant(pid)
        if live is None or row is None or row["outcome"] is None:
            return None
        live.outcome, live.outcome_scene = row["outcome"], row["outcome_scene"]
        live.completion_code = row["completion_code"]
        return await self.outcome_spec(live)

    async def jump(self, pid: str, scene_id: str) -> dict[str, Any] | None:
        """Move a participant from their current scene to a later one (a lobby timeout's `timeout_scene`,
        a scene id as written: its first visit after the current scene in the participant's list)."""
        live = self.by_pid.get(pid)
        if live is None:
            return None
        current = live.scenes[live.scene_index]
        later = [
            i
            for i in range(live.scene_index + 1, len(live.scenes))
            if scene_id in (live.scenes[i].id, self.experiment.placed(live.scenes[i].id).base_id)
        ]
        if not later:
            log.warning("jump of %s to %r: no such scene after %r in their list", pid, scene_id, current.id)
            return None
        await self.store.leave_scene(pid, current.id, {}, finished=False)
        live.scene_index = later[0]
        return await self._enter(live)

    async def advance(self, sid: str, msg: Advance) -> dict[str, Any]:
        """Leave the current scene (storing answers) and enter the next one; or, on a consent page the
        participant declined (`msg.decline`), end on its `declined` outcome."""
        live = self.live(sid)
        if live.outcome is not None:
            raise WireError("finished", "this participant has finished; there is nothing after this page")
        scene = self._current(live, msg.scene_id)
        if isinstance(scene, EndScene):
            raise WireError("finished", "this is the last scene; there is nothing after it")
        if msg.decline:
            return await self._decline(live, scene)
        if isinstance(scene, GameScene) and self.experiment.entry.require_play:
            await self._check_played(live, scene)
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
        if isinstance(scene, StaticScene) and scene.checks:
            failed = await self._check_comprehension(live, scene, answers)
            if failed is not None:
                return failed
        live.scene_index += 1
        nxt = live.scenes[live.scene_index]
        await self.store.leave_scene(live.pid, scene.id, answers, finished=isinstance(nxt, EndScene))
        spec = await self._enter(live)
        return {"ok": True, "scene": spec, "scene_index": live.scene_index}

    async def _decline(self, live: Live, scene: Scene) -> dict[str, Any]:
        if not isinstance(scene, StaticScene) or not scene.consent:
            raise WireError("not_consent", f"scene {scene.id!r} is not a consent page; it cannot be declined")
        code = _outcome_code(scene.declined)
        await self.store.set_outcome(live.pid, scene.id, "consent_declined", code)
        live.outcome, live.outcome_scene, live.completion_code = "consent_declined", scene.id, code
        log.info("%s declined consent in %s", live.pid, scene.id)
        return {"ok": True, "scene": await self.outcome_spec(live), "scene_index": live.scene_index}

    async def _check_comprehension(
        self, live: Live, scene: StaticScene, answers: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Record an attempt at the scene's comprehension checks. A right one returns None (the participant
        moves on); the last wrong one ends on `comprehension_failed`; an earlier wrong one is refused with
        `wrong_answers`, naming the checks that are wrong."""
        wrong = [q.id for q in scene.checks if not q.is_correct(answers[q.id])]
        attempt = await self.store.add_attempt(live.pid, scene.id, answers, wrong)
        log.info("%s comprehension attempt %d in %s: wrong %s", live.pid, attempt, scene.id, wrong)
        if not wrong:
            return None
        left = None if scene.max_attempts is None else scene.max_attempts - attempt
        if left is not None and left <= 0:
            code = _outcome_code(scene.comprehension_failed)
            await self.store.set_outcome(live.pid, scene.id, "comprehension_failed", code)
            live.outcome, live.outcome_scene, live.completion_code = "comprehension_failed", scene.id, code
            return {"ok": True, "scene": await self.outcome_spec(live), "scene_index": live.scene_index}
        some = "one answer is" if len(wrong) == 1 else f"{len(wrong)} answers are"
        tries = "" if left is None else f" ({left} attempt{'s' if left != 1 else ''} left)"
        raise WireError(
            "wrong_answers",
            f"{some} not right: {', '.join(wrong)}; check them and submit again{tries}",
            details={"wrong": wrong, "attempt": attempt, "attempts_left": left},
        )

    async def _check_played(self, live: Live, scene: GameScene) -> None:
        """`Entry.require_play`: a game scene is left only once its episodes are recorded (multiplayer: once
        the participant reported finishing the match)."""
        if scene.multiplayer:
            if await self.store.finished_a_match(live.pid, scene.id):
                return
            played = "the match is not finished"
        else:
            episodes = await self.store.next_episode(live.pid, scene.id)
            if episodes >= scene.num_episodes:
                return
            played = f"{episodes} of its {scene.num_episodes} episodes are recorded"
        raise WireError("not_played", f"scene {scene.id!r} cannot be skipped: {played}")

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
        scene: Scene = live.scenes[live.scene_index]
        if scene.id != scene_id:
            known = {s.id: s for s in live.scenes}
            if scene_id not in known or not await self.store.visited(live.pid, scene_id):
                raise WireError("wrong_scene", f"you have not been in scene {scene_id!r}")
            scene = known[scene_id]
        if not isinstance(scene, GameScene):
            raise WireError("not_a_game", f"scene {scene.id!r} is not a game scene; it records no steps")
        return scene

    async def event(self, sid: str, msg: Event) -> dict[str, Any]:
        """Store a bookkeeping event from the page."""
        live = self.live(sid)
        if msg.scene_id is not None and msg.scene_id not in {s.id for s in live.scenes}:
            # events may trail their scene (a late visibility change), so any scene of the experiment will do
            raise WireError("wrong_scene", f"there is no scene {msg.scene_id!r}")
        await self.store.add_event(live.pid, msg.scene_id, msg.kind, msg.data)
        return {"ok": True}
