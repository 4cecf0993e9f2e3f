"""Gather: a PettingZoo parallel env with integer agent ids, played unchanged, with an AI partner.

Run it (builds the browser bundle with ./gather_env, then serves on http://127.0.0.1:8000):

    .venv/bin/mug serve examples/gather/experiment.py

`gather_env` is written as a PettingZoo package on PyPI would be: its agents are the integers 0 and 1 and it
renders `rgb_array` frames. The scene names them as integers, `agents={0: "human", 1: Policy(...)}`, and
the exported tables label them "0" and "1".
"""

from mug.configurations import EndScene, Experiment, GameScene, Policy, StaticScene

INSTRUCTIONS = """
## Gather

You are the **blue** square; an AI partner plays the **orange** one. Walk onto the **green** apples:
each one scores a point, and a new one appears.

- Move with the **arrow keys** (or **W A S D**); no key: stand still.
- A round lasts 20 seconds.
"""

experiment = Experiment(
    id="gather-example",
    title="Gather",
    scenes=[
        StaticScene(id="instructions", title="Instructions", body=INSTRUCTIONS, button_label="Start"),
        GameScene(
            id="gather",
            title="Gather",
            instructions="Arrow keys (or W A S D) move the blue square onto the apples.",
            env="gather_env.gridworld:parallel_env",
            env_kwargs={"size": 8, "apples": 4, "max_cycles": 300},
            packages=["./gather_env"],  # a local project folder, next to this file
            agents={0: "human", 1: Policy(ref="gather_env.partner:make_greedy")},
            key_bindings={
                "ArrowUp": 1,
                "w": 1,
                "ArrowDown": 2,
                "s": 2,
                "ArrowLeft": 3,
                "a": 3,
                "ArrowRight": 4,
                "d": 4,
            },
            default_action=0,
            fps=15,
            num_episodes=1,
            canvas_width=480,
            canvas_height=480,
        ),
        EndScene(id="end", title="Thank you", body="Thank you for playing!"),
    ],
)
