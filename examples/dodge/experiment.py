"""Dodge: a single-player MUG experiment with the researcher's own environment package.

Run it (builds the browser bundle with ./dodge_env, then serves on http://127.0.0.1:8000):

    .venv/bin/mug serve examples/dodge/experiment.py

The game lives in the local project `./dodge_env` (its own pyproject.toml). MUG builds it into a wheel and
the participant's browser installs it into Pyodide, where `dodge_env.game:make_env` is called. The server
never imports it.
"""

from mug.configurations import EndScene, Experiment, GameScene, Question, StaticScene

CONSENT = """
You are invited to take part in a short study about how people react to fast-moving hazards.
You will play a small game in your browser for about two minutes and then answer three questions.

- We record your key presses and what happened in the game, linked to an anonymous participant id.
- Taking part is voluntary; you may stop at any time by closing this tab.

By pressing **I agree** you confirm that you are 18 or older and agree to take part.
"""

INSTRUCTIONS = """
## How to play

Your ship flies at the bottom of the screen. **Asteroids** fall from above: steer around them.

- Hold **&larr;** / **&rarr;** (or **A** / **D**) to thrust left or right.
  The ship drifts a little, so plan ahead.
- Every asteroid that falls past you scores **+1**; an **energy crystal**
  (the glowing blue diamond) scores **+5**.
- A hit costs **5 points and a ship**; after a hit your shield protects you for two seconds.
- You have **3 ships** per round and there are **3 rounds** of up to 30 seconds. The asteroids get faster.

"""

experiment = Experiment(
    id="dodge-example",
    title="Asteroid dodge",
    scenes=[
        StaticScene(id="consent", title="Consent", body=CONSENT, button_label="I agree"),
        StaticScene(id="instructions", title="Instructions", body=INSTRUCTIONS, button_label="Start"),
        GameScene(
            id="dodge",
            title="Asteroid dodge",
            instructions="Hold **&larr;** / **&rarr;** (or **A** / **D**) to steer. "
            "Dodge the asteroids, catch the crystals.",
            env="dodge_env.game:make_env",
            env_kwargs={"lives": 3},
            packages=["./dodge_env"],  # a local project folder, next to this file
            key_bindings={"ArrowLeft": 0, "a": 0, "ArrowRight": 2, "d": 2},
            default_action=1,  # coast when no key is held
            fps=30,
            num_episodes=3,
            max_steps=900,  # 30 s at 30 fps; losing all ships ends a round earlier
        ),
        StaticScene(
            id="survey",
            title="A few questions",
            body="Thank you! Please answer these questions about the game.",
            button_label="Submit",
            questions=[
                Question(id="difficulty", prompt="How difficult was the game?", kind="scale", scale_min=1, scale_max=7),
                Question(
                    id="strategy",
                    prompt="What did you mostly do?",
                    kind="choice",
                    options=["Stayed in one place", "Moved a lot", "Chased crystals", "Something else"],
                ),
                Question(id="comments", prompt="Anything else you would like to tell us?", required=False),
            ],
        ),
        EndScene(
            id="end",
            title="Thank you",
            body="Thank you for taking part. Please copy your completion code below.",
            # A fixed code (omit it for a random code per participant):
            completion_code="DODGE2026",
            # Send participants back to Prolific after a few seconds; `{completion_code}` and any URL
            # parameter the participant arrived with (e.g. `{PROLIFIC_PID}`) are filled in:
            # redirect_url="https://app.prolific.com/submissions/complete?cc={completion_code}",
            # redirect_delay_s=5,
        ),
    ],
)
