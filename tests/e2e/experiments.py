"""Experiments for the browser tests, loaded by the server with MUG_EXPERIMENT=<this file>:<name>."""

from mug.configurations import (
    Condition,
    EndScene,
    Entry,
    Experiment,
    GameScene,
    Outcome,
    PointerGrid,
    Policy,
    StaticScene,
)

# Action 7 is not a Catch action: pressing ArrowLeft makes env.step raise inside the browser.
broken_step = Experiment(
    id="e2e-broken-step",
    title="Broken step",
    scenes=[
        GameScene(
            id="game",
            env="mug.demos.catch:make_env",
            key_bindings={"ArrowLeft": 7},
            default_action=1,
            fps=30,
            num_episodes=1,
            max_steps=300,
        ),
        EndScene(id="end"),
    ],
)

# The factory raises: max_misses must be a number.
broken_factory = Experiment(
    id="e2e-broken-factory",
    title="Broken factory",
    scenes=[
        StaticScene(id="intro", body="Hello"),
        GameScene(
            id="game",
            env="mug.demos.catch:make_env",
            env_kwargs={"max_misses": "many"},
            key_bindings={"ArrowLeft": 0},
            num_episodes=1,
        ),
        EndScene(id="end"),
    ],
)

# An rgb_array env from the tests' own package (tests/e2e/envpkg), drawn scaled onto a 400 x 400 canvas.
pixels = Experiment(
    id="e2e-pixels",
    title="Pixels",
    scenes=[
        GameScene(
            id="game",
            env="mug_e2e_envs:make_env",
            key_bindings={"ArrowRight": 2},
            default_action=1,
            fps=30,
            num_episodes=1,
            max_steps=60,
            canvas_width=400,
            canvas_height=400,
        ),
        EndScene(id="end"),
    ],
)

# One 8-second episode of Catch (for a server killed and restarted while it is played).
catch_long = Experiment(
    id="e2e-catch-long",
    title="Catch, one long episode",
    scenes=[
        GameScene(
            id="game",
            env="mug.demos.catch:make_env",
            env_kwargs={"max_misses": 1000},
            key_bindings={"ArrowLeft": 0, "ArrowRight": 2},
            default_action=1,
            fps=30,
            num_episodes=1,
            max_steps=240,
        ),
        EndScene(id="end", completion_code="DONE"),
    ],
)

# Tic-tac-toe (PettingZoo-docs AEC, no no-op, action masks) against a policy that takes the lowest free cell.
tictactoe_vs_policy = Experiment(
    id="e2e-tictactoe",
    title="Tic-tac-toe",
    scenes=[
        GameScene(
            id="ttt",
            env="mug_e2e_envs.tictactoe:make_env",
            agents={"player_1": "human", "player_2": Policy(ref="mug_e2e_envs.tictactoe:make_first_legal")},
            key_bindings={str(i + 1): i for i in range(9)},
            input_mode="press",
            num_episodes=1,
            canvas_width=270,
            canvas_height=270,
        ),
        EndScene(id="end"),
    ],
)

# The same game played by clicks and taps only (no keys): a 3 x 3 grid over the env's 90 x 90 frame.
tictactoe_clicks = Experiment(
    id="e2e-tictactoe-clicks",
    title="Tic-tac-toe",
    scenes=[
        GameScene(
            id="ttt",
            env="mug_e2e_envs.tictactoe:make_env",
            agents={"player_1": "human", "player_2": Policy(ref="mug_e2e_envs.tictactoe:make_first_legal")},
            pointer=PointerGrid(rows=3, cols=3, actions=list(range(9))),
            num_episodes=1,
            canvas_width=270,
            canvas_height=270,
        ),
        EndScene(id="end"),
    ],
)

# A sprite from the experiment's assets folder (tests/e2e/assets, relative to this file), drawn by a Surface
# from the first frame on (2 fps: the first frame stays up for half a second); the instructions show another.
sprite = Experiment(
    id="e2e-sprite",
    title="Sprite",
    assets="assets",
    scenes=[
        GameScene(
            id="game",
            env="mug_e2e_envs.sprite:make_env",
            key_bindings={"ArrowLeft": 0},
            instructions="The green square: ![green square](assets/green-square.png)",
            fps=2,
            num_episodes=1,
            max_steps=3,
            canvas_width=200,
            canvas_height=200,
        ),
        EndScene(id="end"),
    ],
)

# PettingZoo's own tictactoe_v3 (imports pygame) with a Surface renderer: pygame gets MUG's stand-in.
classic_tictactoe = Experiment(
    id="e2e-classic-tictactoe",
    title="Tic-tac-toe",
    scenes=[
        GameScene(
            id="ttt",
            env="mug_e2e_envs.classic:make_env",
            agents={"player_1": "human", "player_2": Policy(ref="mug_e2e_envs.tictactoe:make_first_legal")},
            key_bindings={str(3 * row + col + 1): 3 * col + row for row in range(3) for col in range(3)},
            input_mode="press",
            num_episodes=1,
            pygame_stub=True,
            canvas_width=270,
            canvas_height=270,
        ),
        EndScene(id="end"),
    ],
)


# ---- multiplayer (test_e2e_multiplayer.py) -------------------------------------------------------------
import os  # noqa: E402
from typing import Any  # noqa: E402

from mug.configurations import Lobby, RemoteConfig  # noqa: E402
from mug.demo import demo_experiment, duo_scene  # noqa: E402

MP_KEYS = {"ArrowLeft": 0, "ArrowRight": 2}
NO_STUN = RemoteConfig().webrtc(stun_urls=[], load_env_file=False)  # no internet here: host candidates only


def _mp(name: str, players: int, remote: RemoteConfig, **kw: Any) -> Experiment:
    if players == 2:
        env, agents, kwargs = "mug.demos.catch_duo:make_env", {"left": "human", "right": "human"}, {}
    else:
        env, agents = "mug.demos.catch_party:make_env", {f"p{i}": "human" for i in range(players)}
        kwargs = {"players": players}
    fields: dict[str, Any] = {
        "id": "duo",
        "env": env,
        "env_kwargs": kwargs,
        "agents": agents,
        "key_bindings": MP_KEYS,
        "default_action": 1,
        "fps": 30,
        "num_episodes": 2,
        "max_steps": 90,
        "lobby": Lobby(timeout_s=60, on_timeout="end"),
        "partner_left": Outcome(body="Your partner left.", completion_code="PARTNERLEFT"),
    }
    scene = GameScene(**(fields | kw))
    return Experiment(id=name, title=name, scenes=[scene, EndScene(id="end", completion_code="DONE")], remote=remote)


mp_duo = _mp("e2e-mp-duo", 2, NO_STUN)
mp_party = _mp("e2e-mp-party", 3, NO_STUN)
# a closed tab is awaited for reconnect_grace_s before the match ends: 3 s keeps the test short
mp_duo_long = _mp("e2e-mp-duo-long", 2, NO_STUN, num_episodes=1, max_steps=900, reconnect_grace_s=3)

# Two rounds of the duo game: the partners of round 1 meet again in round 2, their roles swapped.
_rounds = {"num_episodes": 1, "max_steps": 60}
_round1 = _mp("e2e-mp-rounds", 2, NO_STUN, id="round1", **_rounds).scenes[0]
_kept = Lobby(timeout_s=60, keep_group=True, slots="rotate")
_round2 = _mp("e2e-mp-rounds", 2, NO_STUN, id="round2", lobby=_kept, **_rounds).scenes[0]
mp_rounds = Experiment(
    id="e2e-mp-rounds",
    title="Two rounds",
    scenes=[
        _round1,
        _round2,
        EndScene(id="end", completion_code="DONE"),
    ],
    remote=NO_STUN,
)

# Turn-based (PettingZoo AEC, tests/e2e/envpkg/mug_e2e_envs/race.py): "left" then "right" move by 1 or 2
# (ArrowLeft, ArrowRight) to race to 10; action 0 waits (the turn stays). A human's turn waits for a move, so
# a one-frame turn time limit with the default action (0) makes pressing nothing wait frame by frame, as a
# real-time game would. The env truncates waiting.
mp_turns = _mp(
    "e2e-mp-turns",
    2,
    NO_STUN,
    env="mug_e2e_envs.race:make_env",
    key_bindings={"ArrowLeft": 1, "ArrowRight": 2},
    default_action=0,
    max_steps=None,
    turn_time_limit_s=1 / 30,
    turn_fallback="default_action",
)

# Tic-tac-toe written as PettingZoo's docs write AEC envs (mug_e2e_envs/tictactoe.py: no no-op, Dict
# observation with an action mask, PettingZoo's wrappers): keys "1".."9" mark cells 0..8, one key per move.
mp_tictactoe = _mp(
    "e2e-mp-tictactoe",
    2,
    NO_STUN,
    env="mug_e2e_envs.tictactoe:make_env",
    agents={"player_1": "human", "player_2": "human"},
    key_bindings={str(i + 1): i for i in range(9)},
    default_action=0,
    input_mode="press",
    num_episodes=1,
    max_steps=None,
)

# The same match played by clicks: the researcher's function maps a click to the cell under it.
mp_tictactoe_clicks = _mp(
    "e2e-mp-tictactoe-clicks",
    2,
    NO_STUN,
    env="mug_e2e_envs.tictactoe:make_env",
    agents={"player_1": "human", "player_2": "human"},
    key_bindings={},
    pointer="mug_e2e_envs.tictactoe:click_to_cell",
    default_action=0,
    input_mode="press",
    num_episodes=1,
    max_steps=None,
)

# A PettingZoo parallel env whose agents are the integers 0 and 1 (mug_e2e_envs/walkers.py).
mp_int_ids = _mp("e2e-mp-int-ids", 2, NO_STUN, env="mug_e2e_envs.walkers:make_env", agents={0: "human", 1: "human"})

# A Gymnasium env with a joint action Tuple((Discrete(3), Discrete(3))): entry 0 is "left", 1 is "right".
mp_joint = _mp("e2e-mp-joint", 2, NO_STUN, env="mug_e2e_envs.tug:make_env")


def _turn(query: str = "") -> RemoteConfig:
    return RemoteConfig().webrtc(
        turn_secret=os.environ.get("E2E_TURN_SECRET", "unset"),
        turn_urls=[f"turn:127.0.0.1:{os.environ.get('E2E_TURN_PORT', '3478')}{query}"],
        stun_urls=[],
        force_relay=True,
        load_env_file=False,
    )


# TURN: the test's coturn (port and secret from the environment), relay candidates only; over UDP, or over
# TCP as for participants behind a firewall that blocks UDP.
mp_duo_turn = _mp("e2e-mp-duo-turn", 2, _turn())
mp_duo_turn_tcp = _mp("e2e-mp-duo-turn-tcp", 2, _turn("?transport=tcp"))

# A TURN relay that is not there (nothing listens on the port), relay forced: the browsers cannot connect.
mp_no_connection = _mp(
    "e2e-mp-no-connection",
    2,
    RemoteConfig().webrtc(
        turn_username="nobody",
        turn_credential="nothing",
        turn_urls=[f"turn:127.0.0.1:{os.environ.get('E2E_DEAD_TURN_PORT', '9')}"],
        stun_urls=[],
        force_relay=True,
        load_env_file=False,
    ),
    connect_timeout_s=4,
    no_connection=Outcome(body="We could not connect you.", completion_code="NOCONN"),
)

# The demo, with a short lobby wait and a short two-player game (a lone visitor plays with the AI).
demo_short = demo_experiment(duo_scene(lobby_timeout_s=1.0, num_episodes=1, max_steps=60))

# A consent page that can be declined (its own code and redirect), then a study in two conditions.
_catch = GameScene(
    id="catch",
    env="mug.demos.catch:make_env",
    key_bindings={"ArrowLeft": 0, "ArrowRight": 2},
    default_action=1,
    num_episodes=1,
    max_steps=60,
)
conditioned = Experiment(
    id="e2e-conditioned",
    title="Conditioned",
    scenes=[
        StaticScene(
            id="consent",
            body="Do you agree?",
            consent=True,
            declined=Outcome(
                title="No consent",
                body="You chose not to take part.",
                completion_code="NOCONSENT",
                redirect_url="https://example.org/declined?cc={completion_code}&pid={PROLIFIC_PID}",
            ),
        ),
        _catch,
        EndScene(id="end", completion_code="DONE"),
    ],
    conditions=[Condition(id="easy"), Condition(id="hard", overrides={"catch": {"env_kwargs": {"max_misses": 1}}})],
    entry=Entry(require_play=True),
)

# the admin view ends this match from its page (test_e2e_admin.py): long enough to be running when it does
admin_duo = _mp(
    "e2e-admin-duo",
    2,
    NO_STUN,
    num_episodes=1,
    max_steps=900,
    ended_by_admin=Outcome(title="The game was ended", body="The researchers ended it.", completion_code="ADMINEND"),
)

# ---- surveys and inactivity (test_e2e_surveys.py) ------------------------------------------------------
from mug.configurations.scenes import Question  # noqa: E402

survey = Experiment(
    id="e2e-survey",
    title="Survey",
    scenes=[
        StaticScene(
            id="quiz",
            body="A few questions.",
            questions=[
                Question(id="mood", prompt="How do you feel?", kind="likert", scale_max=5, anchors=["Bad", "Good"]),
                Question(
                    id="colours",
                    prompt="Pick one or two",
                    kind="multi",
                    options=["red", "green", "blue"],
                    max_selected=2,
                ),
                Question(id="warmth", prompt="How warm is it?", kind="slider", slider_max=10, anchors=["cold", "hot"]),
                Question(
                    id="goal", prompt="What is the goal?", kind="choice", options=["catch", "avoid"], correct="catch"
                ),
            ],
            max_attempts=2,
            comprehension_failed=Outcome(
                title="Not passed", body="The check was not passed.", completion_code="NOPASS"
            ),
        ),
        EndScene(id="end", completion_code="DONE"),
    ],
)

# Catch in one long episode, watched for inactivity: 2 s without a key, then a 3 s warning.
idle_solo = Experiment(
    id="e2e-idle-solo",
    title="Idle",
    scenes=[
        GameScene(
            id="catch",
            env="mug.demos.catch:make_env",
            env_kwargs={"max_misses": 1000},
            key_bindings={"ArrowLeft": 0, "ArrowRight": 2},
            default_action=1,
            num_episodes=1,
            max_steps=3000,
            inactivity_s=2,
            inactivity_warning_s=3,
            inactive=Outcome(title="Game over", body="You stopped playing.", completion_code="IDLE"),
        ),
        EndScene(id="end", completion_code="DONE"),
    ],
)

# A long match watched for inactivity (the scenario's --idle-slot presses nothing).
mp_duo_idle = _mp(
    "e2e-mp-duo-idle",
    2,
    NO_STUN,
    num_episodes=1,
    max_steps=3000,
    inactivity_s=3,
    inactivity_warning_s=2,
    inactive=Outcome(body="You stopped playing.", completion_code="IDLE"),
    partner_inactive=Outcome(body="Your partner stopped playing.", completion_code="PIDLE"),
)


# ONNX partners (tests/e2e/models/beacon_partner.onnx, a linear layer; mug_e2e_envs/beacon.py says what each
# agent observes at each step, so a test can recompute every action the model chose).
from pathlib import Path  # noqa: E402

from mug.configurations import OnnxPolicy  # noqa: E402

PARTNER_MODEL = str(Path(__file__).parent / "models" / "beacon_partner.onnx")
onnx_solo = Experiment(
    id="e2e-onnx-solo",
    title="ONNX partner",
    scenes=[
        GameScene(
            id="beacon",
            env="mug_e2e_envs.beacon:make_env",
            env_kwargs={"agents": ["ai", "player"]},
            agents={"player": "human", "ai": OnnxPolicy(model=PARTNER_MODEL)},
            key_bindings={"ArrowLeft": 0, "ArrowRight": 2},
            default_action=1,
            fps=30,
            num_episodes=1,
            max_steps=60,
        ),
        EndScene(id="end", completion_code="DONE"),
    ],
)
# Two humans and the ONNX partner, acting every 2 steps: slot 0's page runs the model for everyone.
mp_onnx = _mp(
    "e2e-mp-onnx",
    2,
    NO_STUN,
    env="mug_e2e_envs.beacon:make_env",
    env_kwargs={"agents": ["left", "right", "zai"]},
    agents={"left": "human", "right": "human", "zai": OnnxPolicy(model=PARTNER_MODEL, act_every=2)},
)
# Turn-based (mug_e2e_envs/trio.py): two humans and an ONNX player take turns racing to 10, moves past it
# masked. Each human turn waits for a key; the ONNX player's turn waits for slot 0's page to run the model.
mp_onnx_turns = _mp(
    "e2e-mp-onnx-turns",
    2,
    NO_STUN,
    env="mug_e2e_envs.trio:make_env",
    agents={
        "a": "human",
        "b": "human",
        "zai": OnnxPolicy(model=str(Path(__file__).parent / "models" / "trio_partner.onnx")),
    },
    key_bindings={"ArrowLeft": 0, "ArrowRight": 2},
    default_action=0,
    max_steps=None,
)

# ---- other browsers (test_browsers.py) ------------------------------------------------------------------
# A duo without an AI fallback: a browser without WebRTC ends on its own page when it reaches the lobby.
mp_duo_no_webrtc = _mp(
    "e2e-mp-no-webrtc",
    2,
    NO_STUN,
    no_webrtc=Outcome(body="This browser cannot play with others.", completion_code="NORTC"),
)
# The demo whose lobby waits 10 minutes for a partner before the AI steps in: a browser without WebRTC that
# plays the two-player scene within a test's time was never made to wait there.
demo_long_lobby = demo_experiment(duo_scene(lobby_timeout_s=600.0, num_episodes=1, max_steps=60))


# A whole study (test_e2e_study.py): consent (which can be declined), a comprehension check with a retry limit,
# two balanced conditions, a game with an AI partner watched for inactivity, and an end page with a redirect.
whole_study = Experiment(
    id="e2e-whole-study",
    title="Whole study",
    scenes=[
        StaticScene(
            id="consent",
            body="Do you agree to take part?",
            consent=True,
            declined=Outcome(
                title="No consent",
                body="You chose not to take part.",
                completion_code="NOCONSENT",
                redirect_url="https://example.org/declined?cc={completion_code}&pid={PROLIFIC_PID}",
            ),
        ),
        StaticScene(
            id="quiz",
            body="Before you play: what is the goal?",
            questions=[
                Question(
                    id="goal",
                    prompt="What is the goal?",
                    kind="choice",
                    options=["catch", "avoid"],
                    correct="catch",
                )
            ],
            max_attempts=2,
            comprehension_failed=Outcome(
                title="Not passed", body="The check was not passed.", completion_code="NOPASS"
            ),
        ),
        GameScene(
            id="catch",
            env="mug.demos.catch_duo:make_env",
            agents={"left": "human", "right": Policy(ref="mug.demos.policies:make_catcher")},
            key_bindings={"ArrowLeft": 0, "ArrowRight": 2},
            default_action=1,
            fps=30,
            num_episodes=1,
            max_steps=150,
            inactivity_s=2,
            inactivity_warning_s=2,
            inactive=Outcome(title="Game over", body="You stopped playing.", completion_code="IDLE"),
        ),
        EndScene(
            id="end",
            completion_code="DONE",
            redirect_url="https://example.org/done?cc={completion_code}&pid={PROLIFIC_PID}",
            redirect_delay_s=60,  # the test reads the link; a study would leave the default
        ),
    ],
    conditions=[
        Condition(id="narrow", overrides={"catch": {"env_kwargs": {"paddle_width": 0.1}}}),
        Condition(id="wide", overrides={"catch": {"env_kwargs": {"paddle_width": 0.2}}}),
    ],
    entry=Entry(require_play=True),
)

# ---- a package from PyPI, unchanged (examples/minigrid): Farama's minigrid, one short episode ----------------
from mug.configurations import load_experiment  # noqa: E402

_minigrid = load_experiment(str(Path(__file__).resolve().parents[2] / "examples" / "minigrid" / "experiment.py"))
minigrid_short = _minigrid.model_copy(
    update={
        "scenes": [
            _minigrid.scene("doorkey").model_copy(update={"num_episodes": 1, "max_steps": 60}),
            _minigrid.scene("end"),
        ]
    }
)
