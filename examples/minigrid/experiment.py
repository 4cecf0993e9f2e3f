"""MiniGrid from PyPI, unchanged: Farama's `minigrid` package, played in the browser.

Run it (the first run builds the browser bundle, downloading minigrid from PyPI; then it serves on
http://127.0.0.1:8000):

    .venv/bin/mug serve examples/minigrid/experiment.py

The environment is made the way Gymnasium's documentation makes it, `gymnasium.make(id)`, with the id's
module prefix (`minigrid:`) importing the package that registers it. Nothing is wrapped or rewritten:

- minigrid imports pygame at the top of its module and declares pygame-ce as a dependency, both for its own
  window only. The scene opts into MUG's stand-in (`pygame_stub=True`): `mug bundle` leaves pygame-ce out
  and says so, `import pygame` succeeds in the browser, and the env draws its `rgb_array` frames with numpy
  as it always does;
- its observation is a Dict with the agent's 7x7 view, its direction and the mission as text; each step's
  row carries its checksum (`obs_checksum`), as for any env;
- its actions are turn left (0), turn right (1), forward (2), pick up (3), drop (4), toggle (5) and done (6),
  which changes nothing here: the scene plays it when no key is pressed (`input_mode="press"`: one action
  per key press).
"""

from mug.configurations import EndScene, Experiment, GameScene, StaticScene

INSTRUCTIONS = """
## MiniGrid: the door and the key

You are the **red triangle**. Pick up the **key**, open the **door** with it, and reach the **green** square.

- **Left / right arrows** turn, **up arrow** moves forward.
- **Space** picks up the key in front of you; **T** opens the door in front of you.
- Each key press is one move; three rounds.
"""

experiment = Experiment(
    id="minigrid-example",
    title="MiniGrid",
    scenes=[
        StaticScene(id="instructions", title="Instructions", body=INSTRUCTIONS, button_label="Start"),
        GameScene(
            id="doorkey",
            title="The door and the key",
            instructions="Arrows turn and move; Space picks up; T opens the door.",
            env="gymnasium:make",
            env_kwargs={"id": "minigrid:MiniGrid-DoorKey-5x5-v0"},
            packages=["minigrid==3.2.0"],
            pygame_stub=True,
            key_bindings={"ArrowLeft": 0, "ArrowRight": 1, "ArrowUp": 2, " ": 3, "t": 5},
            default_action=6,
            input_mode="press",
            fps=15,
            num_episodes=3,
            canvas_width=480,
            canvas_height=480,
        ),
        EndScene(id="end", title="Thank you", body="You have finished.", completion_code="MINIGRID"),
    ],
)
