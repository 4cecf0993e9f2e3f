"""The ONNX partner example: its model is what make_partner.py builds, and it plays Catch (CPython, with
onnx's reference evaluator running the model where the browser runs onnxruntime-web)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np
from onnx.reference import ReferenceEvaluator

from mug.client.runner import Runner
from mug.configurations import GameScene, OnnxPolicy, load_experiment
from mug.server.assets import Assets
from mug.server.scenes import scene_spec
from mug.testing.onnx_models import linear_policy

HERE = Path(__file__).resolve().parents[2] / "examples" / "onnx_partner"


def builder() -> Any:
    spec = importlib.util.spec_from_file_location("make_partner", HERE / "make_partner.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_model_is_the_one_make_partner_builds() -> None:
    made = builder()
    assert (HERE / "partner.onnx").read_bytes() == linear_policy(made.WEIGHTS, made.BIAS)


def test_the_partner_catches_fruit() -> None:
    experiment = load_experiment(str(HERE / "experiment.py"))
    scene = experiment.scene("catch")
    assert isinstance(scene, GameScene) and isinstance(scene.agents["right"], OnnxPolicy)
    assert scene.agents["right"].model == str(HERE / "partner.onnx")
    spec = scene_spec(scene, seed=3, completion_code="x", params={}, assets=Assets.of(experiment))
    session = ReferenceEvaluator((HERE / "partner.onnx").read_bytes())
    runner = Runner()
    runner.start(spec | {"max_steps": 600, "num_episodes": 1}, 3)
    rewards = []
    for _ in range(600):
        outputs = {}
        for req in runner.inference():
            feed = req["feeds"][""]
            x = np.asarray(feed["data"], dtype=np.float32).reshape(feed["dims"])
            result: Any = session.run(None, {"obs": x})
            logits = np.asarray(result[0])
            outputs[req["agent"]] = {"logits": {"type": "float32", "dims": [1, 3], "data": logits.ravel().tolist()}}
        frame = runner.tick([], [], 0.0, outputs=outputs)
        rewards += [r["reward"]["right"] for r in frame["rows"]]
        if frame["episode_done"]:
            break
    assert rewards.count(1.0) >= 3, "the partner catches fruit on its own"
