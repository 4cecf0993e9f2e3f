"""CartPole: Gymnasium's built-in `CartPole-v1` played by a human in the browser.

Run it (builds the browser bundle with ./cartpole_browser, then serves on http://127.0.0.1:8000):

    .venv/bin/mug serve examples/cartpole/experiment.py

Gymnasium draws CartPole with pygame, which the browser (Pyodide) does not have. The local package
`./cartpole_browser` wraps the unchanged environment: one wrapper draws it with `mug.rendering.Surface`,
another adds a "no push" action so that letting go of the keys does not push the cart.
"""

from mug.configurations import EndScene, Experiment, GameScene, Question, StaticScene

INSTRUCTIONS = """
## Balance the pole

A pole stands on a cart. Keep it upright for as long as you can.

- Hold **&larr;** or **&rarr;** to push the cart left or right; let go to stop pushing.
- A round ends when the pole leans more than 12&deg; (outside the green wedge), when the cart hits the
  red end of the track, or after 500 steps (about 17 seconds).
- You play **3 rounds**.

Tip: to catch a pole falling to the right, push the cart to the right, under it.
"""

experiment = Experiment(
    id="cartpole-example",
    title="CartPole",
    scenes=[
        StaticScene(
            id="consent",
            title="Consent",
            button_label="I agree",
            body="This demonstration records your key presses in a balancing game. Press **I agree** to take part.",
        ),
        StaticScene(id="instructions", title="Instructions", body=INSTRUCTIONS, button_label="Start"),
        GameScene(
            id="cartpole",
            title="CartPole",
            instructions="Hold **&larr;** / **&rarr;** to push the cart. Keep the pole inside the green wedge.",
            env="cartpole_browser.env:make_env",
            packages=["./cartpole_browser"],  # a local project folder, next to this file
            key_bindings={"ArrowLeft": 0, "ArrowRight": 1},
            default_action=2,  # CoastAction's "no push"
            fps=30,
            num_episodes=3,
            max_steps=500,  # CartPole-v1's own limit
        ),
        StaticScene(
            id="survey",
            title="One question",
            questions=[
                Question(
                    id="control",
                    prompt="How much did you feel in control of the pole?",
                    kind="scale",
                    scale_min=1,
                    scale_max=7,
                ),
            ],
        ),
        EndScene(id="end", title="Thank you", body="Thank you for playing. Your completion code is below."),
    ],
)
