"""metadata.json round-trips an experiment with conditions, Repeat and Randomize (integer agent ids too)."""

from __future__ import annotations

import json

from mug.configurations import Condition, EndScene, Experiment, GameScene, Policy, Randomize, Repeat, StaticScene
from mug.replay.data import load_experiment_config
from mug.server.metadata import experiment_config


def test_a_conditioned_experiment_round_trips() -> None:
    game = GameScene(id="g", env="m.e:make", agents={0: "human", 1: Policy(ref="m.p:make")}, key_bindings={"a": 0})
    experiment = Experiment(
        id="x",
        scenes=[Randomize([StaticScene(id="a"), Repeat(game, 2)]), EndScene(id="end")],
        conditions=[
            Condition(id="c1"),
            Condition(id="c2", overrides={"g": {"agents": {0: "m.p:make", 1: "human"}}}),
            Condition(id="c3", scenes=[game.model_copy(update={"id": "g3"}), EndScene(id="end")]),
        ],
    )
    config = json.loads(json.dumps(experiment_config(experiment)))
    assert set(config["conditions"][1]["overrides"]["g"]["agents"]) == {"0", "1"}
    assert load_experiment_config(config) == experiment
