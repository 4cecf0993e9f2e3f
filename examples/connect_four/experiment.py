"""Connect four for two people, played with clicks: a standard PettingZoo AEC environment, unchanged.

Run it (builds the browser bundle with ./connect_four_env, then serves on http://127.0.0.1:8000), and open
the address in two browser windows (or on two machines): the lobby pairs them into a match.

    .venv/bin/mug serve examples/connect_four/experiment.py

The environment (`connect_four_env/connect_four_env/game.py`) is written as PettingZoo's documentation
writes AEC environments: `agent_selection` set in `reset()`, a Dict observation with an `action_mask`,
no no-op action. MUG waits for the player whose turn it is; a click in a full column or out of turn does
nothing. A click anywhere in a column drops a disc there (`PointerGrid(rows=1, cols=7)` over the env's
picture); keys 1 to 7 do the same.
"""

from mug.configurations import EndScene, Experiment, GameScene, PointerGrid, StaticScene

INSTRUCTIONS = """
## Connect four

You play with another participant. **Red** moves first; the page says whose turn it is.

- **Click a column** (or press **1**-**7**) to drop your disc into it.
- Four of your discs in a row, across, down or diagonally, win.
"""

experiment = Experiment(
    id="connect-four-example",
    title="Connect four",
    scenes=[
        StaticScene(id="instructions", title="Instructions", body=INSTRUCTIONS, button_label="Find a partner"),
        GameScene(
            id="connect_four",
            title="Connect four",
            instructions="Click a column to drop your disc. Red moves first.",
            env="connect_four_env.game:make_env",
            packages=["./connect_four_env"],  # a local project folder, next to this file
            agents={"player_0": "human", "player_1": "human"},
            pointer=PointerGrid(rows=1, cols=7, actions=list(range(7))),
            key_bindings={str(c + 1): c for c in range(7)},
            input_mode="press",
            fps=15,
            num_episodes=1,
            canvas_width=448,
            canvas_height=416,
        ),
        EndScene(id="end", title="Thank you", body="The game is over. Thank you for playing!"),
    ],
)
