"""Experiments for the browser tests, loaded by the server with MUG_EXPERIMENT=<this file>:<name>."""

from mug.configurations import EndScene, Experiment, GameScene, StaticScene

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
