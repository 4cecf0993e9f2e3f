"""Server <-> page messages (Socket.IO events), version 1.

Every event the page emits carries `v` (the protocol version) and is answered through the Socket.IO
acknowledgement with either `{"ok": true, ...}` or `{"ok": false, "error": {"code": str, "message": str}}`.
Unsolicited server events: `mug_error` `{"code", "message"}`, `mug_kicked` `{"reason"}` and `mug_outcome` `{"outcome"}`.

Every event is one Socket.IO event with exactly one argument, a JSON object; anything else is refused with an
error ack before any handler runs (see `mug.server.edge`):

- `rate_limited`: the connection sent more than `mug.server.limits` allows (events and bytes a second, after a
  burst). The page retries the same message after a pause; a connection that keeps sending while refused is
  disconnected. A connection that does not read what it is sent (more than `MAX_QUEUED_PACKETS` waiting) is
  disconnected too.
- `bad_event` (the name is not a string), `reserved_event` (`connect`, `disconnect` and the other names
  Socket.IO keeps for itself: they have no effect), `unknown_event`.
- `bad_message`: not exactly one argument, not a JSON object, undecodable JSON, or a value the store cannot
  keep: NaN or Infinity, an integer of magnitude 2**63 or more, a binary attachment, nesting deeper than
  `MAX_JSON_DEPTH`; also a field that breaks its model below, e.g. a free-form JSON field (a step's `action`,
  `reward`, `info`; an event's `data`; each survey answer) longer than `MAX_JSON_FIELD_CHARS` characters as
  compact JSON. The message names the field (`rows.3.reward: nan is not JSON; ...`); a refused batch stores
  nothing.
- `too_large`: the message is over `MAX_MESSAGE_BYTES` as JSON.
- `quota_exceeded`: a new participant from a client address that created `new_participants_per_minute` in the
  last minute, or rows, events and match reports beyond a participant's `max_stored_bytes` (both in `mug.settings`).
- `server_error`: the server failed; nothing of the message was stored.

Page -> server (event name: payload -> ack):

- `hello` {v, token: str|null, tab: str, params: {str: str}, match_id: str|null}
    -> {ok, token, participant, scene: SceneSpec, scene_index, scene_count, resume: {episode: int, played?: true}}
    A null token creates a participant (params are the page's URL parameters and are stored); a known token resumes
    its current scene. A newcomer is screened first (`mug.server.entry`, `Experiment.entry`): with `max_rtt_ms` the
    server sends `mug_ping` {n} events the page must acknowledge at once (with any value); `client` {mobile,
    platform} is what the page reads from `navigator.userAgentData`. A refused newcomer gets an outcome page as its
    first scene (`scene.outcome`). One hello per connection: a second one, even while the first is still under way,
    is refused (`already_identified`). `tab` is a random id the page keeps in sessionStorage: the same tab may take
    over its old connection (a refresh), another tab of the same participant is refused (`second_tab`). `match_id`
    is the match the page is playing right now, if any: a page that reconnects (a dropped connection, a restarted
    server) says it and goes on playing; a member of a running match whose page does not name it (a reload, another
    window) has left that match (outcome `left`). `resume.played`:
    the participant played every episode of this multiplayer scene already (the page moves on).
- `advance` {v, scene_id, answers: {question_id: value}, decline?: bool} -> {ok, scene: SceneSpec, scene_index}
    Leaves `scene_id` (which must be the current scene) for the next one, storing survey answers (each
    checked by `Question.validate_answer`: `bad_answers` names the question). A scene with comprehension
    checks records every submission (event `comprehension_attempt`); a wrong one is refused with
    `wrong_answers` and `error.wrong` (the question ids), `error.attempt`, `error.attempts_left`, and the
    last one allowed (`StaticScene.max_attempts`) ends on the `comprehension_failed` outcome page. With
    `decline` on a consent page (`StaticScene.consent`), ends on its `declined` outcome page instead
    (`not_consent` elsewhere). With `Entry.require_play`, leaving a game scene whose episodes are not all
    recorded is refused (`not_played`).
- `records` {v, scene_id, batch: int, rows: [StepRow]} -> {ok, batch, stored, duplicates}
    Step rows of a game scene the participant has entered (the current one or an earlier one: rows may
    trail their scene). Idempotent: a row already stored (same match, episode, agent and step) counts as a
    duplicate, so a batch may be sent again after a lost acknowledgement. A row's `match_id` must name a
    match the participant is a member of (the server remembers matches across restarts).
- `inactive` {v, scene_id} -> {ok, scene: SceneSpec, scene_index}
    The page saw no input for the game scene's `inactivity_s` and its warning went unanswered: the
    participant ends on the scene's `inactive` outcome page; in a running match the other members get
    `match_end` (reason `peer_inactive`) with their `partner_inactive` page. Refused in a scene without
    `inactivity_s` (`not_watched`), outside the current scene (`wrong_scene`), after an outcome (`finished`).
- `event` {v, scene_id, kind: str, data: {}} -> {ok}
    Bookkeeping (runtime ready and its load time, episode start and end, focus lost...).

Multiplayer (game scenes with several human agents):

- `lobby_join` {v, scene_id} -> {ok}; then server events `lobby_waiting`, and `match_start` or
  `lobby_timeout` (see the server -> page models below). Joining again while waiting is acknowledged (a page
  joins again after every reconnection) and keeps the first join's time; a participant who played the
  scene's match already is refused (`already_played`).
- `lobby_leave` {v, scene_id} -> {ok}
- `signal` {v, to: slot, kind: "offer"|"answer"|"candidate"|"bye", data} -> {ok}; the member in slot `to` of
  the sender's match gets `signal` {kind, data, from: {pid, slot}, match_id}. The server never reads `data`.
- `match_report` {v, match_id, kind: "links"|"summary"|"finished"|"peer_gone", data} -> {ok}
  `finished`: this member played every episode; `peer_gone`: the browser lost a peer (the match ends).
- server event `match_end` (see below), with the SceneSpec of the member's outcome page.

Server -> page events are the models at the end of this module (`ServerMessage`), each sent by
`Emit(participant_id, message)` as `message.event` with `message.payload()`; nothing else is sent.

SceneSpec: the scene's public fields as JSON (see `mug.server.scenes.scene_spec`), plus `seed` for game
scenes and `completion_code` and `redirect` (the filled redirect URL) for the end scene.
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

PROTOCOL_VERSION = 1
MAX_MESSAGE_BYTES = 1_000_000  # Socket.IO refuses larger packets before any handler runs
MAX_ROWS_PER_BATCH = 1000
# a free-form JSON field (a step's action, reward or info; an event's data; a survey answer; a match report's
# data) as compact JSON text: an environment's info dict of a few hundred numbers fits with room to spare
MAX_JSON_FIELD_CHARS = 16_000
MAX_PARAMS = 50
# JSON nested deeper than this is refused (a walk of it stays cheap; no real record nests this deep)
MAX_JSON_DEPTH = 32
# integers are stored as SQL BIGINT (and read by numpy and pandas as int64): they must fit in 64 bits, and
# so must their negation (-2**63 has none), so the range is symmetric
MIN_INT, MAX_INT = -(2**63) + 1, 2**63 - 1


def check_plain_json(value: Any) -> int:
    """Check that a decoded message holds only plain JSON the store can keep, and estimate its size.

    Socket.IO's decoder accepts `NaN`, `Infinity` and integers of any size, and replaces binary attachments
    with bytes; none of them can be stored or exported faithfully.

    Returns:
        The approximate size of `value` as JSON text, in bytes.

    Raises:
        WireError: `bad_message`, naming the field (e.g. `rows.3.reward`) and what is wrong with it.
    """
    size = 0
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if len(path) > MAX_JSON_DEPTH:
            raise WireError("bad_message", f"{_where(path)}: JSON nested deeper than {MAX_JSON_DEPTH} levels")
        if isinstance(item, str):
            size += len(item) + 2
        elif item is None or isinstance(item, bool):
            size += 5
        elif isinstance(item, int):
            if not MIN_INT <= item <= MAX_INT:
                raise WireError(
                    "bad_message",
                    f"{_where(path)}: integer {str(item)[:30]} is out of range; integers must lie within ±(2**63 - 1)",
                )
            size += 20
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise WireError("bad_message", f"{_where(path)}: {item} is not JSON; send a finite number or null")
            size += 24
        elif isinstance(item, dict):
            size += 2
            for key, sub in item.items():
                size += len(str(key)) + 4
                stack.append((sub, (*path, key)))
        elif isinstance(item, list):
            size += 2
            stack.extend((sub, (*path, i)) for i, sub in enumerate(item))
        elif isinstance(item, bytes | bytearray):
            raise WireError("bad_message", f"{_where(path)}: binary attachments are not accepted; send JSON")
        else:
            raise WireError("bad_message", f"{_where(path)}: {type(item).__name__} is not JSON")
    return size


def _where(path: tuple[Any, ...]) -> str:
    return ".".join(map(str, path)) or "(message)"


def _json_field(value: Any) -> Any:
    chars = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))
    if chars > MAX_JSON_FIELD_CHARS:
        raise ValueError(f"{chars} characters as JSON; the limit is {MAX_JSON_FIELD_CHARS}")
    return value


JsonField = Annotated[Any, AfterValidator(_json_field)]

Text = Annotated[str, StringConstraints(max_length=200)]
SceneId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    v: int = Field(ge=PROTOCOL_VERSION, le=PROTOCOL_VERSION)


class ClientHints(BaseModel):
    """What the page reads from `navigator.userAgentData`; the server weighs it with the headers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mobile: bool | None = None
    platform: Text | None = None
    # whether the page has RTCPeerConnection: a page without it is kept out of multiplayer lobbies
    # (mug.server.multiplayer); the page always says, so a `client` without it counts as no WebRTC
    webrtc: bool | None = None


class Hello(_Msg):
    token: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{20,100}$")] | None = None
    match_id: Annotated[str, StringConstraints(max_length=64)] | None = None
    tab: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{4,64}$")]
    params: dict[Text, Annotated[str, StringConstraints(max_length=1000)]] = Field(
        default_factory=dict, max_length=MAX_PARAMS
    )
    client: ClientHints | None = None


class Advance(_Msg):
    scene_id: SceneId
    answers: dict[Text, JsonField] = Field(default_factory=dict, max_length=200)
    decline: bool = False  # a consent page declined: the participant ends on its `declined` outcome


class StepRow(BaseModel):
    """One environment step as recorded in the browser."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    episode: int = Field(ge=0, le=1_000_000)
    step: int = Field(ge=0, le=100_000_000)
    agent: Text = ""
    action: JsonField = None
    reward: JsonField = None
    terminated: bool = False
    truncated: bool = False
    info: JsonField = None
    obs_checksum: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{4,64}$")] | None = None
    episode_seed: int | None = None
    t_ms: float = Field(description="Browser wall clock (ms since the epoch) when the step was taken.")
    frame: int | None = None
    turn_fallback: bool = Field(
        default=False, description="The scene's turn_fallback chose this step's move: the human's time ran out."
    )
    match_id: Annotated[str, StringConstraints(max_length=64)] | None = None


class Records(_Msg):
    scene_id: SceneId
    batch: int = Field(ge=0)
    rows: list[StepRow] = Field(max_length=MAX_ROWS_PER_BATCH)


class Event(_Msg):
    scene_id: SceneId | None = None
    kind: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,40}$")]
    data: Annotated[dict[Text, Any], AfterValidator(_json_field)] = Field(default_factory=dict, max_length=50)


class Inactive(_Msg):
    """The participant did not answer the inactivity warning of the game scene they are in."""

    scene_id: SceneId


class LobbyJoin(_Msg):
    scene_id: SceneId


class Signal(_Msg):
    to: int = Field(ge=0, le=7)
    kind: str
    data: Any = None


class MatchReport(_Msg):
    match_id: Annotated[str, StringConstraints(max_length=64)]
    # "status": every STATUS_EVERY_MS of a running match, its live figures (the admin view shows the latest)
    kind: Literal["links", "summary", "finished", "peer_gone", "pause", "resumed", "status"]
    # not limited to MAX_JSON_FIELD_CHARS: a summary lists every desynced frame (see mug.client.match)
    data: dict[Text, Any] = Field(default_factory=dict, max_length=100)


class WireError(Exception):
    """A message the server refuses; `code` is machine-readable, the message says what to fix."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}  # more for the page to act on (e.g. which answers are wrong)

    def as_ack(self) -> dict[str, Any]:
        """The acknowledgement payload for this error (`details` beside `code` and `message`)."""
        return {"ok": False, "error": self.details | {"code": self.code, "message": self.message}}


# Server -> page events. Each is built here and only here; `mug/client/static/wire.js` has their JSDoc types.


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    event: ClassVar[str]

    def payload(self) -> dict[str, Any]:
        """The JSON sent with the event."""
        return self.model_dump(mode="json", by_alias=True)


class LobbyWaiting(_Out):
    """Who waits in the lobby (sent to each waiting participant whenever it changes)."""

    event: ClassVar[str] = "lobby_waiting"
    scene_id: str
    waiting: int
    position: int = Field(description="0-based, in join order")
    needed: int


class LobbyTimeout(_Out):
    """Nobody came in time: `outcome` "end" (an outcome page) or "scene" (another scene), as configured."""

    event: ClassVar[str] = "lobby_timeout"
    scene_id: str
    waited_s: float
    outcome: Literal["end", "scene", "ai"]
    scene: dict[str, Any] = Field(description="SceneSpec of the page to show now")


class MatchStart(_Out):
    """A match formed: the member's slot, everything lockstep needs, and the ICE configuration."""

    event: ClassVar[str] = "match_start"
    match_id: str
    scene_id: str
    seed: int
    slot: int
    members: list[str]
    agents: dict[str, dict[str, Any]]
    input_delay: int | Literal["auto"]
    ice: dict[str, Any]
    rejoin: bool = False  # the member's page was reloaded mid-match: it rejoins the running match


class MatchEnd(_Out):
    """The match ended early (`reason`: peer_left, peer_lost); `scene` is this member's outcome page (None if
    it could not be recorded). Members who played every episode get no match_end."""

    event: ClassVar[str] = "match_end"
    match_id: str
    reason: str
    scene: dict[str, Any] | None


class SignalFrom(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    pid: str
    slot: int


class SignalRelay(_Out):
    """A WebRTC signaling message from another member of the match; `data` is forwarded unread."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    event: ClassVar[str] = "signal"
    kind: str
    data: Any
    sender: SignalFrom = Field(alias="from")
    match_id: str


class Kicked(_Out):
    """This connection was replaced by a newer one of the same tab (`reason` "reopened")."""

    event: ClassVar[str] = "mug_kicked"
    reason: str


class OutcomeSet(_Out):
    """The participant now has an outcome set from outside their page (`outcome` "excluded", from the admin
    view): the page reloads, and its hello shows the outcome page."""

    event: ClassVar[str] = "mug_outcome"
    outcome: str


ServerMessage = LobbyWaiting | LobbyTimeout | MatchStart | MatchEnd | SignalRelay | Kicked | OutcomeSet
