"""OnnxPolicy in the configuration and on the server: validated, hashed, served like assets, sent as URLs."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from pydantic import ValidationError

from mug.configurations import EndScene, Experiment, ExperimentError, GameScene, OnnxPolicy, Policy, load_experiment
from mug.server.assets import Assets
from mug.server.multiplayer import match_agents
from mug.server.scenes import scene_spec
from mug.testing.onnx_models import linear_policy

IMMUTABLE = "public, max-age=31536000, immutable"


def model_file(tmp_path: Path) -> Path:
    path = tmp_path / "policies" / "partner.onnx"
    path.parent.mkdir(parents=True, exist_ok=True)
    linear_policy(np.eye(4, dtype=np.float32), path=path)
    return path


def game(model: str, **kw: Any) -> GameScene:
    return GameScene(
        id="game",
        env="mug_e2e_envs.beacon:make_env",
        agents={"player": "human", "second": "human", "ai": OnnxPolicy(model=model, act_every=2)},
        key_bindings={"ArrowUp": 3},
        **kw,
    )


def test_onnx_policy_fields_are_checked_with_messages_that_say_the_fix() -> None:
    with pytest.raises(ValidationError, match="name a .onnx file"):
        OnnxPolicy(model="partner.pt")
    with pytest.raises(ValidationError, match="'argmax', 'sample' or a 'package.module:callable'"):
        OnnxPolicy(model="p.onnx", output="max")
    with pytest.raises(ValidationError, match="greater than or equal to 1"):
        OnnxPolicy(model="p.onnx", act_every=0)
    with pytest.raises(ValidationError, match="cannot stand in for a human's timed-out move"):
        GameScene(
            id="g",
            env="a.b:c",
            key_bindings={"x": 1},
            turn_time_limit_s=5,
            turn_fallback=OnnxPolicy(model="p.onnx"),  # type: ignore[arg-type]
        )
    assert Policy(ref="a.b:c", act_every=3).act_every == 3


def test_the_model_is_hashed_served_immutably_and_sent_as_its_url(serve: Any, tmp_path: Path) -> None:
    path = model_file(tmp_path)
    scene = game(str(path), ai_fallback={"second": OnnxPolicy(model=str(path))})
    exp = Experiment(id="onnx", scenes=[scene, EndScene(id="end")])
    assets = Assets.of(exp)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    spec = scene_spec(scene, seed=1, completion_code="x", params={}, assets=assets)
    ai = spec["agents"]["ai"]
    assert ai == {
        "kind": "onnx",
        "model": f"/assets/{sha[:16]}/partner.onnx",
        "sha256": sha,
        "input": None,
        "output": "argmax",
        "act_every": 2,
    }
    assert assets.listing() == {"models": {"partner.onnx": sha}}
    solo = match_agents(scene, 1, assets)  # the lobby's AI fallback stands in for the missing human
    assert solo["player"] == {"kind": "human", "slot": 0}
    assert solo["second"]["kind"] == "onnx" and solo["second"]["model"] == ai["model"]
    assert solo["ai"] == ai

    async def fetch() -> httpx.Response:
        async with httpx.AsyncClient(base_url=serve(exp).url) as http:
            return await http.get(ai["model"])

    import asyncio

    resp = asyncio.run(fetch())
    assert resp.status_code == 200 and resp.content == path.read_bytes()
    assert resp.headers["cache-control"] == IMMUTABLE


def test_a_missing_model_stops_the_start_up_naming_the_field(tmp_path: Path) -> None:
    exp = Experiment(id="onnx", scenes=[game(str(tmp_path / "nope.onnx")), EndScene(id="end")])
    with pytest.raises(ExperimentError, match=r"scene 'game': agents\['ai'\]: the OnnxPolicy model .* does not exist"):
        Assets.of(exp)


def test_a_relative_model_path_is_taken_from_the_experiment_files_folder(tmp_path: Path) -> None:
    model_file(tmp_path)
    (tmp_path / "study.py").write_text(
        "from mug.configurations import EndScene, Experiment, GameScene, OnnxPolicy\n"
        "experiment = Experiment(id='s', scenes=[GameScene(id='g', env='a.b:c', key_bindings={'x': 1},"
        " agents={'p': 'human', 'ai': OnnxPolicy(model='policies/partner.onnx')}), EndScene(id='end')])\n"
    )
    exp = load_experiment(str(tmp_path / "study.py"))
    scene = exp.default_scenes[0]
    assert isinstance(scene, GameScene) and scene.agents["ai"].model == str(tmp_path / "policies" / "partner.onnx")  # type: ignore[union-attr]
    assert list(Assets.of(exp).models) == [str(tmp_path / "policies" / "partner.onnx")]
