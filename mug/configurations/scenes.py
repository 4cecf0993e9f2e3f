"""Scene models: what a participant sees, one after another.

An experiment is a list of scenes: static pages (consent, instructions, surveys), game scenes (an environment
played in the browser) and an end scene (completion code, optional redirect).
"""

from __future__ import annotations

import math
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


QuestionKind = Literal["text", "choice", "scale", "number", "likert", "multi", "slider"]
_STEP_TOLERANCE = 1e-6  # a slider value off its step grid by less than this (of a step) is on it


class Question(BaseModel):
    """A survey question on a static scene; answers are stored and exported per participant.

    Kinds and their answers:

    - `text`: free text; `number`: any number.
    - `choice`: one of `options`.
    - `scale`, `likert`: a whole number from `scale_min` to `scale_max`; a `likert` question shows `anchors`,
      either two labels (the two ends) or one per point.
    - `multi`: a list of distinct `options`, between `min_selected` and `max_selected` of them.
    - `slider`: a number from `slider_min` to `slider_max` in steps of `slider_step`, with optional `anchors`
      (two end labels). The slider starts at `slider_start` (default: the middle) and counts as answered only
      once the participant has moved it.

    A comprehension check has a `correct` answer: for `multi`, the exact list of options to select; for the
    other kinds, one value or a list of accepted values (text is compared without case and surrounding
    spaces). The page never learns the correct answers; the server checks them (`StaticScene.max_attempts`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    prompt: str
    kind: QuestionKind = "text"
    options: list[str] = Field(default_factory=list)
    scale_min: int = 1
    scale_max: int = 7
    anchors: list[str] = Field(
        default_factory=list, description="likert: 2 end labels or one per point; slider: 2 end labels."
    )
    min_selected: int = Field(default=0, ge=0, description="multi: the fewest options to select.")
    max_selected: int | None = Field(default=None, ge=1, description="multi: the most options to select.")
    slider_min: float = 0.0
    slider_max: float = 100.0
    slider_step: float = Field(default=1.0, gt=0)
    slider_start: float | None = Field(default=None, description="slider: where it starts (default: the middle).")
    correct: Any = Field(default=None, description="A comprehension check's correct answer(s); never sent to the page.")
    required: bool = True

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not _ID.match(self.id):
            raise ValueError(f"question id {self.id!r}: use 1-64 letters, digits, '-' or '_'")
        where = f"question {self.id!r}"
        if self.kind in ("choice", "multi") and len(self.options) < 2:
            raise ValueError(f"{where}: kind {self.kind!r} needs at least two options")
        if len(set(self.options)) != len(self.options):
            raise ValueError(f"{where}: options must be distinct, got {self.options}")
        if self.kind in ("scale", "likert") and self.scale_max <= self.scale_min:
            raise ValueError(f"{where}: scale_max must be greater than scale_min")
        if self.kind == "likert":
            points = self.scale_max - self.scale_min + 1
            if len(self.anchors) not in (0, 2, points):
                raise ValueError(
                    f"{where}: a likert scale of {points} points takes 2 anchors (its two ends) or {points} "
                    f"(one per point), got {len(self.anchors)}"
                )
        if self.kind == "slider":
            self._check_slider(where)
        elif self.anchors and self.kind != "likert":
            raise ValueError(f"{where}: anchors label likert and slider questions, not kind {self.kind!r}")
        if self.kind == "multi":
            most = len(self.options) if self.max_selected is None else self.max_selected
            if most > len(self.options) or self.min_selected > most:
                raise ValueError(
                    f"{where}: min_selected={self.min_selected} and max_selected={self.max_selected} must satisfy "
                    f"min_selected <= max_selected <= {len(self.options)} (the number of options)"
                )
        if self.correct is not None:
            self._check_correct(where)
        return self

    def _check_slider(self, where: str) -> None:
        if self.slider_max <= self.slider_min:
            raise ValueError(f"{where}: slider_max must be greater than slider_min")
        if not self._on_grid(self.slider_max):
            raise ValueError(f"{where}: slider_max - slider_min must be a whole number of slider_step")
        if self.slider_start is not None and not (
            self.slider_min <= self.slider_start <= self.slider_max and self._on_grid(self.slider_start)
        ):
            raise ValueError(f"{where}: slider_start must be a step of the slider from slider_min to slider_max")
        if len(self.anchors) not in (0, 2):
            raise ValueError(f"{where}: a slider takes 2 anchors (its two end labels), got {len(self.anchors)}")

    def _check_correct(self, where: str) -> None:
        if not self.required:
            raise ValueError(f"{where}: a comprehension check (with `correct`) must be required")
        accepted = [self.correct] if self.kind == "multi" or not isinstance(self.correct, list) else self.correct
        if not accepted:
            raise ValueError(f"{where}: correct must name at least one accepted answer")
        for value in accepted:
            try:
                self.validate_answer(value)
            except ValueError as exc:
                raise ValueError(f"{where}: correct answer {value!r} is not a valid answer: {exc}") from None

    def _on_grid(self, value: float) -> bool:
        steps = (value - self.slider_min) / self.slider_step
        return abs(steps - round(steps)) < _STEP_TOLERANCE

    @property
    def start(self) -> float:
        """slider: where the handle starts (the nearest step to the middle unless `slider_start` is set)."""
        if self.slider_start is not None:
            return self.slider_start
        middle = round((self.slider_max - self.slider_min) / self.slider_step / 2)
        return self.slider_min + middle * self.slider_step

    def page_spec(self) -> dict[str, Any]:
        """The question for the page: every field but `correct` (whether it is a check is `check`)."""
        return self.model_dump(exclude={"correct"}) | {"check": self.correct is not None, "slider_start": self.start}

    def validate_answer(self, value: Any) -> Any:
        """Return the answer normalised, or raise ValueError saying what is wrong with it."""
        if value is None or value == "" or value == []:
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
        if self.kind == "multi":
            return self._validate_multi(value)
        if isinstance(value, bool):
            raise ValueError(f"question {self.id!r}: the answer must be a number")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"question {self.id!r}: the answer must be a number") from None
        if not math.isfinite(number):
            raise ValueError(f"question {self.id!r}: the answer must be a finite number")
        if self.kind in ("scale", "likert"):
            if number != int(number) or not self.scale_min <= number <= self.scale_max:
                raise ValueError(
                    f"question {self.id!r}: the answer must be a whole number from {self.scale_min} to {self.scale_max}"
                )
            return int(number)
        if self.kind == "slider":
            if not (self.slider_min <= number <= self.slider_max and self._on_grid(number)):
                raise ValueError(
                    f"question {self.id!r}: the answer must be from {self.slider_min:g} to {self.slider_max:g} "
                    f"in steps of {self.slider_step:g}"
                )
            steps = round((number - self.slider_min) / self.slider_step)
            number = self.slider_min + steps * self.slider_step
        return int(number) if number.is_integer() else number

    def _validate_multi(self, value: Any) -> list[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"question {self.id!r}: the answer must be a list of options")
        unknown = [v for v in value if v not in self.options]
        if unknown:
            raise ValueError(f"question {self.id!r}: {unknown} are not among the options")
        if len(set(value)) != len(value):
            raise ValueError(f"question {self.id!r}: an option is selected twice")
        most = len(self.options) if self.max_selected is None else self.max_selected
        least = max(self.min_selected, 1 if self.required else 0)
        if not least <= len(value) <= most:
            raise ValueError(f"question {self.id!r}: select from {least} to {most} options, not {len(value)}")
        return [o for o in self.options if o in value]  # in the options' order

    def is_correct(self, answer: Any) -> bool:
        """Whether a normalised answer (`validate_answer`) is a correct answer of this comprehension check."""
        if self.correct is None:
            raise ValueError(f"question {self.id!r} has no correct answer")
        if self.kind == "multi":
            return answer is not None and set(answer) == set(self.correct)
        accepted = self.correct if isinstance(self.correct, list) else [self.correct]
        if self.kind == "text":
            return isinstance(answer, str) and answer.strip().casefold() in {
                str(a).strip().casefold() for a in accepted
            }
        return any(answer == self.validate_answer(a) for a in accepted)


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
    max_attempts: int | None = Field(
        default=None,
        ge=1,
        le=100,
        description="Comprehension checks (questions with `correct`): how many submissions a participant has. "
        "A wrong one shows which checks are wrong and lets them try again; the last wrong one ends the study "
        "on the `comprehension_failed` page. Default: no limit.",
    )
    comprehension_failed: Outcome = Field(
        default_factory=lambda: Outcome(
            title="Thank you",
            body="The answers to the comprehension questions were not right within the attempts allowed, so "
            "the study ends here. Thank you for your time.",
        ),
        description="With max_attempts: the page of a participant whose last attempt was wrong (its own code "
        "and redirect); outcome `comprehension_failed`.",
    )

    @model_validator(mode="after")
    def _check_questions(self) -> Self:
        ids = [q.id for q in self.questions]
        if len(ids) != len(set(ids)):
            raise ValueError(f"scene {self.id!r}: question ids must be unique, got {ids}")
        if self.max_attempts is not None and not self.checks:
            raise ValueError(
                f"scene {self.id!r}: max_attempts limits comprehension checks, but no question has a `correct` answer"
            )
        return self

    @property
    def checks(self) -> list[Question]:
        """The comprehension checks: questions with a `correct` answer."""
        return [q for q in self.questions if q.correct is not None]


class Policy(BaseModel):
    """An AI controller: `ref` names a factory `make_policy(agent, action_space, **kwargs)` that returns
    `act(observation, rng) -> action`. It runs in the browser; `rng` is a numpy Generator seeded from the
    scene (or match) seed, so its choices are reproducible. With `act_every=k` it acts on every k-th of
    its agent's steps (the first of each episode included) and holds its last action in between."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ref: str
    kwargs: dict[str, Any] = Field(default_factory=dict)
    act_every: int = Field(default=1, ge=1, le=10_000, description="Act every k steps; hold the action between.")

    @field_validator("ref")
    @classmethod
    def _check_ref(cls, value: str) -> str:
        return check_ref(value, "policy")


ONNX_OUTPUT_RULES = ("argmax", "sample")


class OnnxPolicy(BaseModel):
    """An AI controller exported to ONNX, run in the browser by onnxruntime-web (wasm, one thread).

    Attributes:
        model: the `.onnx` file; a relative path is taken from the experiment file's folder. It is hashed
            and served under a content-versioned URL, like assets.
        input: how an observation becomes the model's input. None (default): the observation flattened
            to float32 of shape [1, n] (a Dict observation's `action_mask` left out, other keys in sorted
            order), fed to the model's single input. Or `"module:callable"`, called in the browser as
            `f(observation) -> {input name: numpy array}` (float32, int32, int64, uint8 or bool).
        output: how the model's first output (shape [1, n] or [n], one value per discrete action) becomes
            the action. "argmax" (default): the highest value; "sample": drawn with the policy's seeded
            numpy generator from the softmax of the values (they are taken as logits). Both leave out the
            actions the agent's mask forbids. Or `"module:callable"`, called as
            `f(outputs, rng, action_mask) -> action` with `outputs` {output name: numpy array}.
        act_every: act on every k-th step of its agent (the first of each episode included) and hold the
            last action in between.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: str = Field(description="Path to the .onnx file (relative: from the experiment file's folder).")
    input: str | None = None
    output: str = "argmax"
    act_every: int = Field(default=1, ge=1, le=10_000, description="Act every k steps; hold the action between.")

    @field_validator("model")
    @classmethod
    def _check_model(cls, value: str) -> str:
        if not value.endswith(".onnx"):
            raise ValueError(f"OnnxPolicy model {value!r}: name a .onnx file, e.g. 'policies/partner.onnx'")
        return value

    @field_validator("input")
    @classmethod
    def _check_input(cls, value: str | None) -> str | None:
        return None if value is None else check_ref(value, "OnnxPolicy input")

    @field_validator("output")
    @classmethod
    def _check_output(cls, value: str) -> str:
        if value in ONNX_OUTPUT_RULES:
            return value
        if ":" not in value:
            raise ValueError(
                f"OnnxPolicy output {value!r}: use 'argmax', 'sample' or a 'package.module:callable' function"
            )
        return check_ref(value, "OnnxPolicy output")

    def spec(self, url: str, sha256: str) -> dict[str, Any]:
        """The controller as the page sees it: the model's versioned URL and hash instead of its path."""
        return {
            "kind": "onnx",
            "model": url,
            "sha256": sha256,
            "input": self.input,
            "output": self.output,
            "act_every": self.act_every,
        }


AnyPolicy = Annotated[Policy | OnnxPolicy, Field(union_mode="left_to_right")]
Controller = Annotated[Literal["human"] | Policy | OnnxPolicy, Field(union_mode="left_to_right")]


def _controller(value: Any) -> Any:
    if isinstance(value, str) and value != HUMAN:
        return Policy(ref=value)
    return value


def controller_spec(controller: str | Policy | OnnxPolicy) -> Any:
    """A controller as JSON: "human", a Policy's fields, or an OnnxPolicy's fields with `kind: "onnx"` (the
    server swaps its `model` path for the file's versioned URL, `mug.server.assets`)."""
    if isinstance(controller, str):
        return controller
    if isinstance(controller, OnnxPolicy):
        return {"kind": "onnx", **controller.model_dump()}
    fields = controller.model_dump()
    if fields["act_every"] == 1:
        del fields["act_every"]  # the default: every step
    return fields


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

    `keep_group=True`: a participant whose latest match had as many people as this scene needs waits for
    the same people again (partners meet again in round 2), not for whoever comes. When one of them has
    left the study (their page finished on an outcome: left, excluded, timed out...) the others are grouped
    with whoever comes, as without `keep_group`; a member who has not arrived yet is waited for until
    `timeout_s`, like anyone else.

    `slots`: `"arrival"` (slot `i` to the `i`-th to arrive), `"rotate"` (a kept group moves every member one
    slot down from their last match: the two members of a pair swap roles; a new group takes arrival order),
    or `"balanced"` (the order in which each member has had each slot least often so far, over every match
    of the experiment; ties alternate from match to match).

    `max_rtt_ms`: the server measures each participant's round trip to it as they enter the lobby (the median
    of 3 pings their page answers), and strangers are grouped only when, for every two of them, the two
    round trips add up to at most `max_rtt_ms`. This is what their link would take through a relay at the
    server, not a measurement between the peers (a direct link is usually shorter). Someone who does not fit
    anyone waits, until `timeout_s`; kept groups are not held to it.
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
    keep_group: bool = False
    slots: Literal["arrival", "balanced", "rotate"] = "arrival"
    max_rtt_ms: float | None = Field(default=None, gt=0, le=5000)

    @model_validator(mode="after")
    def _check_slots(self) -> Self:
        if self.slots == "rotate" and not self.keep_group:
            raise ValueError(
                "lobby.slots='rotate' turns the slots of a kept group: set keep_group=True too, or use "
                "slots='balanced' to balance slots between changing partners"
            )
        return self


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
    ai_fallback: dict[str | int, AnyPolicy] = Field(
        default_factory=dict,
        description="Multiplayer with lobby.on_timeout='ai': the policy for each human agent left empty.",
    )
    input_delay: int | Literal["auto"] = Field(
        default="auto",
        description=f"Multiplayer: frames between a key press and its step ({MIN_INPUT_DELAY} to "
        f"{MAX_INPUT_DELAY}), the same for every member throughout; 'auto' picks it from the measured round trip "
        "and lets each member's own delay follow what its partners measure while playing (a slow env or a "
        "loaded machine gets more, a quiet one gives it back).",
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
    ended_by_admin: Outcome = Field(
        default_factory=lambda: Outcome(
            title="The game was ended",
            body="The researchers ended this game. Thank you for taking part!",
        ),
        description="Multiplayer: the page of the members of a match the researchers ended from the admin view "
        "(`/admin`); their records so far are kept.",
    )
    inactivity_s: float | None = Field(
        default=None,
        gt=0,
        le=3600,
        description="Seconds without a key press or click (a hidden tab gets none) after which the page warns "
        "the participant; default: not watched.",
    )
    inactivity_warning_s: float = Field(
        default=10.0,
        ge=1,
        le=600,
        description="With inactivity_s: how long the warning counts down before the participant ends on the "
        "`inactive` page (a key press or click in that time dismisses it).",
    )
    inactive: Outcome = Field(
        default_factory=lambda: Outcome(
            title="The game ended",
            body="You did not respond for a while, so the game ended.",
            give_code=False,
        ),
        description="With inactivity_s: the page of a participant who did not respond to the warning; by "
        "default it gives no completion code.",
    )
    partner_inactive: Outcome = Field(
        default_factory=lambda: Outcome(
            title="Your partner stopped playing",
            body="Another participant stopped responding, so the game ended early. Thank you!",
        ),
        description="Multiplayer with inactivity_s: the page of the other members when one became inactive.",
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
        if isinstance(value, OnnxPolicy) or (isinstance(value, dict) and "model" in value):
            raise ValueError(
                "turn_fallback: an OnnxPolicy cannot stand in for a human's timed-out move (its inference runs "
                "asynchronously, between frames); use 'default_action' or a Python Policy"
            )
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
            agent_ids.label(a): controller_spec(c)
            for a, c in ((a, self.agents[a]) for a in agent_ids.ordered(self.agents))
        }

    def onnx_models(self) -> list[tuple[str, str]]:
        """(field, model path) of every OnnxPolicy of the scene (agents and ai_fallback)."""
        found = [(f"agents[{a!r}]", c.model) for a, c in self.agents.items() if isinstance(c, OnnxPolicy)]
        found += [(f"ai_fallback[{a!r}]", c.model) for a, c in self.ai_fallback.items() if isinstance(c, OnnxPolicy)]
        return found

    @property
    def turn_spec(self) -> dict[str, Any] | None:
        """The turn time limit for the page: `{"time_limit_s", "fallback"}` (a policy dict or
        "default_action"), or None when the game waits for every move."""
        if self.turn_time_limit_s is None or self.turn_fallback is None:
            return None
        fallback = controller_spec(self.turn_fallback)
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
