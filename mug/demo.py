"""The embedded demo experiment, served by `uvicorn mug.app:app` when MUG_EXPERIMENT names none."""

from __future__ import annotations

from mug.configurations import EndScene, Experiment, GameScene, Question, RemoteConfig, StaticScene

CONSENT = """
This is a short demonstration of **Multi-User Gymnasium**. You will play a small game in your browser
and answer two questions. Your key presses are recorded for research purposes.

Press the button below if you agree to take part.
"""

INSTRUCTIONS = """
Catch the falling balls with your paddle. Move with the **left** and **right arrow keys** (or A and D).
A catch scores a point; a miss costs one.
"""

experiment = Experiment(
    id="mug-demo",
    title="MUG demo",
    scenes=[
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
        StaticScene(
            id="survey",
            title="Two questions",
            questions=[
                Question(id="fun", prompt="How much did you enjoy the game?", kind="scale", scale_min=1, scale_max=7),
                Question(id="comment", prompt="Anything you would like to tell us?", required=False),
            ],
        ),
        EndScene(id="end", title="Thank you", body="Thank you for playing. Your completion code is below."),
    ],
    remote=RemoteConfig().webrtc(),
)
