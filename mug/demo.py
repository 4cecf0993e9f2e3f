"""The embedded demo experiment, served by `uvicorn mug.app:app` when MUG_EXPERIMENT names none."""

from __future__ import annotations

from mug.configurations import (
    EndScene,
    Experiment,
    GameScene,
    Lobby,
    Policy,
    Question,
    RemoteConfig,
    StaticScene,
)

CONSENT = """
This is a short demonstration of **Multi-User Gymnasium**. You will play a small game in your browser
and answer two questions. Your key presses are recorded for research purposes.

Press the button below if you agree to take part.
"""

INSTRUCTIONS = """
Catch the falling balls with your paddle. Move with the **left** and **right arrow keys** (or A and D).
A catch scores a point; a miss costs one.
"""

DUO_INSTRUCTIONS = """
Now catch together with another participant: you each move a paddle under the same falling balls
(**left** and **right arrow keys**, or A and D). Open this page in a second browser window to play against
yourself; if nobody comes within a minute, a computer partner takes the other paddle.
"""

CATCHER = "mug.demos.policies:make_catcher"


def duo_scene(lobby_timeout_s: float = 60.0, num_episodes: int = 2, max_steps: int = 450) -> GameScene:
    """The demo's two-player scene (`mug.demos.catch_duo`), peer to peer; AI fills an empty slot on timeout."""
    return GameScene(
        id="catch-duo",
        title="Catch together",
        instructions=DUO_INSTRUCTIONS,
        env="mug.demos.catch_duo:make_env",
        agents={"left": "human", "right": "human"},
        key_bindings={"ArrowLeft": 0, "a": 0, "ArrowRight": 2, "d": 2},
        default_action=1,
        fps=30,
        num_episodes=num_episodes,
        max_steps=max_steps,
        lobby=Lobby(timeout_s=lobby_timeout_s, on_timeout="ai"),
        ai_fallback={"left": Policy(ref=CATCHER), "right": Policy(ref=CATCHER)},
    )


def demo_experiment(duo: GameScene | None = None) -> Experiment:
    """The demo: consent, a solo game, a two-player game, a survey, the end (`duo` replaces the duo scene)."""
    return Experiment(
        id="mug-demo",
        title="MUG demo",
        scenes=_scenes(duo or duo_scene()),
        remote=RemoteConfig().webrtc(),
    )


def _scenes(duo: GameScene) -> list[StaticScene | GameScene | EndScene]:
    return [
        StaticScene(id="consent", title="Consent", body=CONSENT, button_label="I agree"),
        GameScene(
            id="catch",
            title="Catch",
            instructions=INSTRUCTIONS,
            env="mug.demos.catch:make_env",
            key_bindings={"ArrowLeft": 0, "a": 0, "ArrowRight": 2, "d": 2},
            default_action=1,
            fps=30,
            num_episodes=2,
            max_steps=450,
        ),
        duo,
        StaticScene(
            id="survey",
            title="Two questions",
            questions=[
                Question(id="fun", prompt="How much did you enjoy the game?", kind="scale", scale_min=1, scale_max=7),
                Question(id="comment", prompt="Anything you would like to tell us?", required=False),
            ],
        ),
        EndScene(id="end", title="Thank you", body="Thank you for playing. Your completion code is below."),
    ]


experiment = demo_experiment()
