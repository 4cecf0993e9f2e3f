"""Scene models: what a participant sees, one after another.

An experiment is a list of scenes: static pages (consent, instructions, surveys), game scenes (an environment
played in the browser) and an end scene (completion code, optional redirect).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self

from markdown_it import MarkdownIt
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from mug.client import agents as agent_ids
from mug.client.lockstep.timing import MAX_INPUT_DELAY, MIN_INPUT_DELAY
from mug.refs import check_ref

_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MARKDOWN = MarkdownIt("commonmark", {"html": True})

HUMAN = "human"


def _check_redirect(value: str) -> str:
    if not value.startswith(("https://", "http://")):
        raise ValueError(f"redirect_url {value!r} must be an http(s) URL")
    return value


RedirectUrl = Annotated[str, AfterValidator(_check_redirect)]


class _MarkdownBody:
    """For models with a Markdown `body` field."""

    body: str

    @property
    def body_html(self) -> str:
        """The body rendered from Markdown to HTML."""
        html: str = _MARKDOWN.render(self.body)
        return html


class _Scene(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Unique scene id: letters, digits, '-' and '_' (it names the scene in the data).")
    title: str = ""
    assets: str | None = Field(
        default=None,
        description="A folder of files (sprites, images) this scene uses besides the experiment's `assets`, "
        "served under content-versioned URLs; relative to the experiment file's folder.",
    )

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError(f"scene id {value!r}: use 1-64 letters, digits, '-' or '_'")
        return value


class Question(BaseModel):
    """A survey question on a static scene; answers are stored and exported per participant."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    prompt: str
    kind: Literal["text", "choice", "scale", "number"] = "text"
    options: list[str] = Field(default_factory=list)
    scale_min: int = 1
    scale_max: int = 7
    required: bool = True

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not _ID.match(self.id):
            raise ValueError(f"question id {self.id!r}: use 1-64 letters, digits, '-' or '_'")
        if self.kind == "choice" and len(self.options) < 2:
            raise ValueError(f"question {self.id!r}: kind 'choice' needs at least two options")
        if self.kind == "scale" and self.scale_max <= self.scale_min:
            raise ValueError(f"question {self.id!r}: scale_max must be greater than scale_min")
        return self

    def validate_answer(self, value: Any) -> Any:
        """Return the answer normalised, or raise ValueError saying what is wrong with it."""
        if value is None or value == "":
            if self.required:
                raise ValueError(f"question {self.id!r} needs an answer")
            return None
        if self.kind == "text":
            if not isinstance(value, str) or len(value) > 10_000:
                raise ValueError(f"question {self.id!r}: the answer must be text of at most 10,000 characters")
            return value
        if self.kind == "choice":
            if value not in self.options:
                raise ValueError(f"question {self.id!r}: {value!r} is not one of the options")
            return value
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"question {self.id!r}: the answer must be a number") from None
        if self.kind == "scale":
            if number != int(number) or not self.scale_min <= number <= self.scale_max:
                raise ValueError(
                    f"question {self.id!r}: the answer must be a whole number from {self.scale_min} to {self.scale_max}"
                )
            return int(number)
        return int(number) if number.is_integer() else number


class StaticScene(_MarkdownBody, _Scene):
    """A page of text (HTML or Markdown) with a continue button, and optionally survey questions."""

    kind: Literal["static"] = "static"
    body: str = Field(default="", description="Markdown (HTML allowed) shown on the page.")
    button_label: str = "Continue"
    questions: list[Question] = Field(default_factory=list)
    consent: bool = Field(
        default=False,
        description="A consent page: besides the continue (agree) button it shows `decline_label`, which ends "
        "the study on the `declined` page (outcome `consent_declined`).",
    )
    decline_label: str = "I do not agree"
    declined: Outcome = Field(
        default_factory=lambda: Outcome(
            title="Consent declined", body="You chose not to take part. Thank you for your time.", give_code=False
        ),
        description="With consent=True: the page of a participant who declines (its own code and redirect).",
    )

    @model_validator(mode="after")
    def _check_questions(self) -> Self:
        ids = [q.id for q in self.questions]
        if len(ids) != len(set(ids)):
            raise ValueError(f"scene {self.id!r}: question ids must be unique, got {ids}")
        return self


class Policy(BaseModel):
    """An AI controller: `ref` names a factory `make_policy(agent, action_space, **kwargs)` that returns
    `act(observation, rng) -> action`. It runs in the browser; `rng` is a numpy Generator seeded from the
    scene (or match) seed, so its choices are reproducible."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ref: str
    kwargs: dict[str, Any] = Field(default_factory=dict)

    @field_validator("ref")
    @classmethod
    def _check_ref(cls, value: str) -> str:
        return check_ref(value, "policy")


Controller = Annotated[Literal["human"] | Policy, Field(union_mode="left_to_right")]


def _controller(value: Any) -> Any:
    if isinstance(value, str) and value != HUMAN:
        return Policy(ref=value)
    return value


def _default_agents() -> dict[str | int, Controller]:
    agents: dict[str | int, Controller] = {"player": "human"}
    return agents


def _agent_keys(value: Any, field: str) -> Any:
    """Check the keys of a dict keyed by agent id (a str or an int, as PettingZoo's `possible_agents`)."""
    if isinstance(value, dict):
        for agent in value:
            try:
                agent_ids.check_agent_id(agent)
            except ValueError as exc:
                raise ValueError(f"{field}: {exc}") from None
        labels = [agent_ids.label(a) for a in value]
        if len(set(labels)) != len(labels):
            raise ValueError(f"{field}: agent ids {list(value)} collide")
    return value


class Outcome(_MarkdownBody, BaseModel):
    """An end page reached by something other than finishing: a lobby timeout, a partner who left.

    The participant finishes there with this outcome's own completion code (or a random one), or with no
    code at all when `give_code` is False.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = "Thank you"
    body: str = "Thank you for taking part."
    completion_code: str | None = None
    give_code: bool = Field(default=True, description="False: the page shows no completion code.")
    redirect_url: RedirectUrl | None = None

    @model_validator(mode="after")
    def _check_code(self) -> Self:
        if not self.give_code and self.completion_code:
            raise ValueError("an outcome with give_code=False cannot have a completion_code")
        return self


class Lobby(BaseModel):
    """Where participants of a multiplayer game scene wait for each other.

    Groups form first come first served. After `timeout_s` a participant still waiting gets `on_timeout`:
    `"end"` shows the `timeout_end` page (its own completion code), `"scene"` jumps to `timeout_scene`, and
    `"ai"` starts the game with the participants waiting so far, AI policies (`GameScene.ai_fallback`)
    taking the empty human slots.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    timeout_s: float = Field(default=120.0, gt=0, le=3600)
    on_timeout: Literal["end", "scene", "ai"] = "end"
    timeout_scene: str | None = None
    timeout_end: Outcome = Field(
        default_factory=lambda: Outcome(
            title="No partner found", body="Sorry, no other participant arrived in time. Thank you for waiting."
        )
    )


class PointerGrid(BaseModel):
    """Clicks and taps on the canvas as actions: the surface cut into `rows` x `cols` equal cells.

    `actions` lists one action per cell, row by row from the top left (`actions[row * cols + col]`); a
    `None` cell does nothing. The cells cover the env's render surface (its `Surface` or `rgb_array` size),
    whatever size the canvas is shown at.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    rows: int = Field(ge=1, le=256)
    cols: int = Field(ge=1, le=256)
    actions: list[Any] = Field(description="One action per cell, row by row; None: the cell does nothing.")

    @model_validator(mode="after")
    def _check_actions(self) -> Self:
        cells = self.rows * self.cols
        if len(self.actions) != cells:
            raise ValueError(
                f"PointerGrid(rows={self.rows}, cols={self.cols}) has {cells} cells but {len(self.actions)} "
                f"actions: give one action per cell, row by row (None for a cell that does nothing)"
            )
        return self

    def spec(self) -> dict[str, Any]:
        """The grid for the page: `{"kind": "grid", "rows", "cols", "actions"}`."""
        return {"kind": "grid", "rows": self.rows, "cols": self.cols, "actions": list(self.actions)}


class GameScene(_Scene):
    """An environment played in the browser.

    The environment factory is imported and called inside the participant's browser (Pyodide); the server
    never imports it. Gymnasium environments have one agent, named `player` unless `agents` says otherwise.
    """

    kind: Literal["game"] = "game"
    env: str = Field(
        description="Environment factory, 'package.module:callable', returning a Gymnasium or PettingZoo environment."
    )
    env_kwargs: dict[str, Any] = Field(default_factory=dict)
    packages: list[str] = Field(
        default_factory=list,
        description="Local project folders or pip requirements "
        "the environment needs; they are built into the Pyodide bundle.",
    )
    agents: dict[str | int, Controller] = Field(
        default_factory=_default_agents,
        description="Agent id (str or int, as the env's possible_agents) -> 'human' or a policy.",
    )
    key_bindings: dict[str, Any] = Field(default_factory=dict, description="KeyboardEvent.key -> action.")
    pointer: PointerGrid | str | None = Field(
        default=None,
        description="Clicks and taps on the canvas -> actions: a PointerGrid, or a 'package.module:callable' "
        "called in the browser as f(x, y, width, height) -> action or None, in the env's surface coordinates.",
    )
    default_action: Any = 0
    input_mode: Literal["held", "press"] = "held"
    fps: int = Field(default=30, ge=1, le=120)
    num_episodes: int = Field(default=1, ge=1, le=10_000)
    max_steps: int | None = Field(default=None, ge=1, description="Step limit per episode (truncation).")
    seed: int | None = Field(
        default=None,
        ge=0,
        lt=2**31,
        description="Fixed root seed; default: a random seed per participant, recorded in the data.",
    )
    pygame_stub: bool = Field(
        default=False,
        description="Give `import pygame` an inert stand-in in the browser (pygame is not in the bundle), for "
        "envs such as pettingzoo.classic that import pygame but are drawn by a Surface or rgb_array renderer "
        "of your own; using pygame itself raises an error saying so.",
    )
    instructions: str = ""
    canvas_width: int = Field(default=600, ge=50, le=4096)
    canvas_height: int = Field(default=400, ge=50, le=4096)
    show_score: bool = True
    lobby: Lobby = Field(default_factory=Lobby, description="Multiplayer only: waiting, grouping, timeouts.")
    ai_fallback: dict[str | int, Policy] = Field(
        default_factory=dict,
        description="Multiplayer with lobby.on_timeout='ai': the policy for each human agent left empty.",
    )
    input_delay: int | Literal["auto"] = Field(
        default="auto",
        description=f"Multiplayer: frames between a key press and its step ({MIN_INPUT_DELAY} to "
        f"{MAX_INPUT_DELAY}); 'auto' picks it from the measured round trip.",
    )
    turn_time_limit_s: float | None = Field(
        default=None,
        gt=0,
        le=3600,
        description="Turn-based (AEC) games: seconds a human has for a move before `turn_fallback` plays "
        "it; default: the game waits for the move.",
    )
    turn_fallback: Literal["default_action"] | Policy | None = Field(
        default=None,
        description="With turn_time_limit_s: what plays a human's move when the time is up: "
        "'default_action' (or the lowest legal action if the action mask forbids it) or a policy.",
    )
    partner_left: Outcome = Field(
        default_factory=lambda: Outcome(
            title="Your partner left", body="Another participant left the game, so it ended early. Thank you!"
        ),
        description="Multiplayer: the page of those who stayed when a member left the match.",
    )
    left: Outcome = Field(
        default_factory=lambda: Outcome(
            title="You left the game",
            body="You left the game before it ended, so it could not go on without you.",
            give_code=False,
        ),
        description="Multiplayer: the page of a member who left the match (closed or reloaded the page, or "
        "stayed away longer than reconnect_grace_s); by default it gives no completion code.",
    )
    no_connection: Outcome = Field(
        default_factory=lambda: Outcome(
            title="Could not connect",
            body="We could not connect you with the other participants (a firewall or network may block it), "
            "so the game could not start. Thank you for trying!",
        ),
        description="Multiplayer: the page of members whose browsers could not connect to each other within "
        "connect_timeout_s (no direct path, the TURN relay unreachable or refusing them).",
    )
    no_webrtc: Outcome = Field(
        default_factory=lambda: Outcome(
            title="Browser cannot play with others",
            body="This browser cannot connect to other participants (it has no WebRTC), so you cannot take part "
            "in this game. Thank you for your interest!",
        ),
        description="Multiplayer: the page of a participant whose browser has no WebRTC, shown when they reach "
        "the lobby instead of waiting (with lobby.on_timeout='ai' they play with AI partners at once instead).",
    )
    connect_timeout_s: float = Field(
        default=20.0,
        ge=2,
        le=300,
        description="Multiplayer: how long the members' browsers may take to connect to each other before the "
        "match ends with the `no_connection` outcome.",
    )
    reconnect_grace_s: float = Field(
        default=20.0,
        ge=0,
        le=600,
        description="Multiplayer: how long a member's connection to the server may be gone (a network drop, a "
        "server restart) before the match ends for them with the `left` outcome.",
    )

    @field_validator("env")
    @classmethod
    def _check_env(cls, value: str) -> str:
        return check_ref(value, "env")

    @field_validator("pointer")
    @classmethod
    def _check_pointer(cls, value: PointerGrid | str | None) -> PointerGrid | str | None:
        if isinstance(value, str):
            return check_ref(value, "pointer")
        return value

    @field_validator("ai_fallback", mode="before")
    @classmethod
    def _parse_fallback(cls, value: Any) -> Any:
        if isinstance(value, dict):
            _agent_keys(value, "ai_fallback")
            return {agent: Policy(ref=ref) if isinstance(ref, str) else ref for agent, ref in value.items()}
        return value

    @field_validator("agents", mode="before")
    @classmethod
    def _parse_agents(cls, value: Any) -> Any:
        if isinstance(value, dict):
            _agent_keys(value, "agents")
            return {agent: _controller(ctrl) for agent, ctrl in value.items()}
        return value

    @field_validator("turn_fallback", mode="before")
    @classmethod
    def _parse_turn_fallback(cls, value: Any) -> Any:
        if isinstance(value, str) and value != "default_action":
            return Policy(ref=value)
        return value

    @model_validator(mode="after")
    def _check_agents(self) -> Self:
        if not self.agents:
            raise ValueError(f"scene {self.id!r}: agents must name at least one agent")
        if isinstance(self.input_delay, int) and not MIN_INPUT_DELAY <= self.input_delay <= MAX_INPUT_DELAY:
            raise ValueError(
                f"scene {self.id!r}: input_delay={self.input_delay} is outside what the lockstep accepts: "
                f"use 'auto' or {MIN_INPUT_DELAY} to {MAX_INPUT_DELAY} frames"
            )
        if (self.turn_time_limit_s is None) != (self.turn_fallback is None):
            raise ValueError(
                f"scene {self.id!r}: turn_time_limit_s and turn_fallback go together: with a time limit, "
                "set turn_fallback='default_action' or a policy ref; without one, the game waits for each move"
            )
        unknown = sorted(set(map(agent_ids.label, self.ai_fallback)) - set(map(agent_ids.label, self.agents)))
        if unknown:
            raise ValueError(f"scene {self.id!r}: ai_fallback names agents {unknown} that are not in agents")
        if self.lobby.on_timeout == "scene" and not self.lobby.timeout_scene:
            raise ValueError(f"scene {self.id!r}: lobby.on_timeout='scene' needs lobby.timeout_scene")
        if self.lobby.on_timeout == "ai" and self.multiplayer:
            missing = sorted(set(self.human_agents) - set(self.ai_fallback))
            if missing:
                raise ValueError(f"scene {self.id!r}: lobby.on_timeout='ai' needs ai_fallback policies for {missing}")
        if len(self.human_agents) > 8:
            raise ValueError(f"scene {self.id!r}: at most 8 human agents play together")
        if self.human_agents and not self.key_bindings and self.pointer is None:
            raise ValueError(
                f"scene {self.id!r}: a human plays, so key_bindings must map keys to actions, "
                "e.g. {'ArrowLeft': 0, 'ArrowRight': 1}, or pointer must map clicks to actions"
            )
        return self

    @property
    def human_agents(self) -> list[str | int]:
        """Agents controlled by participants, in agent order (their slot order; see `mug.client.agents`)."""
        return agent_ids.ordered(a for a, c in self.agents.items() if c == HUMAN)

    def agents_spec(self) -> dict[str, Any]:
        """The agents for the page: label (see `mug.client.agents`) -> "human" or a policy dict, in order."""
        return {
            agent_ids.label(a): c if isinstance(c, str) else c.model_dump()
            for a, c in ((a, self.agents[a]) for a in agent_ids.ordered(self.agents))
        }

    @property
    def turn_spec(self) -> dict[str, Any] | None:
        """The turn time limit for the page: `{"time_limit_s", "fallback"}` (a policy dict or
        "default_action"), or None when the game waits for every move."""
        if self.turn_time_limit_s is None or self.turn_fallback is None:
            return None
        fallback = self.turn_fallback if isinstance(self.turn_fallback, str) else self.turn_fallback.model_dump()
        return {"time_limit_s": self.turn_time_limit_s, "fallback": fallback}

    @property
    def pointer_spec(self) -> dict[str, Any] | None:
        """The pointer mapping for the page: a grid (`PointerGrid.spec`), `{"kind": "function", "ref"}`, or
        None (no pointer input)."""
        if self.pointer is None:
            return None
        if isinstance(self.pointer, str):
            return {"kind": "function", "ref": self.pointer}
        return self.pointer.spec()

    @property
    def multiplayer(self) -> bool:
        """Whether several participants play this scene together (peer to peer)."""
        return len(self.human_agents) > 1

    @property
    def instructions_html(self) -> str:
        """The instructions rendered from Markdown to HTML."""
        html: str = _MARKDOWN.render(self.instructions)
        return html


class EndScene(_MarkdownBody, _Scene):
    """The last page: a completion code and an optional redirect (e.g. a Prolific completion link).

    `redirect_url` may contain `{completion_code}` and any URL parameter the participant arrived with,
    e.g. `{PROLIFIC_PID}`.
    """

    kind: Literal["end"] = "end"
    body: str = "Thank you for taking part."
    completion_code: str | None = Field(default=None, description="Fixed code; default: a random code per participant.")
    redirect_url: RedirectUrl | None = None
    redirect_delay_s: float = Field(default=3.0, ge=0, le=600)


Scene = Annotated[StaticScene | GameScene | EndScene, Field(discriminator="kind")]

StaticScene.model_rebuild()  # `declined` names Outcome, defined below it
