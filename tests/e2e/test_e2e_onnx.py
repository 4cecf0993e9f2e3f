"""ONNX partners in real Chromium: onnxruntime-web from the bundle runs the model in the Pyodide worker.

Single player: every recorded action of the partner is the model's argmax of the observation it acted on
(recomputed here with numpy). A match of two humans and the partner (acting every 2 steps): slot 0's page runs
the model and the lockstep carries its actions, so both peers record the same rows. A turn-based match of two
humans and an ONNX player: its turn waits for slot 0's page to run the model, and its move honours the mask.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from test_e2e_multiplayer import check_complete_match, netns_prefix, scenario, steps, table
from tests_e2e_helpers import HERE_EXPERIMENTS, wait_phase

from mug.testing.bundle import BuiltBundle
from mug.testing.onnx_models import linear_logits, linear_policy

sys.path.insert(0, str(Path(__file__).parent / "envpkg"))  # the envs, as the browser imports them
from mug_e2e_envs import trio
from mug_e2e_envs.beacon import PARTNER_B, PARTNER_W, beacon_obs

pytestmark = pytest.mark.browser
MODEL = Path(__file__).parent / "models" / "beacon_partner.onnx"
RUNTIME = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")


def predicted(t: int, k: int) -> int:
    return int(np.argmax(linear_logits(beacon_obs(t, k), PARTNER_W, PARTNER_B)))


def export(database_url: str, out: Path) -> None:
    cmd = [sys.executable, "-c", "import sys; from mug.cli import main; sys.exit(main())", "export"]
    subprocess.run([*cmd, "--database", database_url, "--out", str(out)], check=True)


def test_the_committed_model_is_the_linear_partner_built_by_onnx_helper() -> None:
    assert MODEL.read_bytes() == linear_policy(PARTNER_W, PARTNER_B)


def play_to_the_end(page: Any, url: str) -> list[str]:
    fetched: list[str] = []
    page.on("request", lambda req: fetched.append(req.url))
    page.goto(url + "/")
    wait_phase(page, "game")
    page.wait_for_function("window.mug?.status().runtime.ready", timeout=60_000)
    page.click("[data-testid=mug-continue]")
    wait_phase(page, "playing", timeout=30_000)
    page.keyboard.down("ArrowRight")
    wait_phase(page, "end", timeout=60_000)
    page.keyboard.up("ArrowRight")
    return fetched


def test_an_onnx_partner_in_single_player_plays_the_models_argmax(mug_server: Any, page: Any, tmp_path: Path) -> None:
    server = mug_server(f"{HERE_EXPERIMENTS}:onnx_solo")
    fetched = play_to_the_end(page, server.url)
    assert page.wait_for_selector("[data-testid=mug-completion-code]").text_content().strip() == "DONE"
    names = {u.rsplit("/", 1)[-1] for u in fetched}
    assert set(RUNTIME) <= names, "the runtime came from the bundle"
    assert any(u.endswith("/beacon_partner.onnx") and "/assets/" in u for u in fetched)
    assert all(u.startswith(server.url) for u in fetched), "nothing from anywhere else (no CDN)"
    export(server.database_url, tmp_path / "export")
    with open(tmp_path / "export" / "steps_beacon.csv", newline="") as f:
        rows = sorted(csv.DictReader(f), key=lambda r: int(r["step"]))
    assert [int(r["step"]) for r in rows] == list(range(1, 61))
    actions = [json.loads(r["action"]) for r in rows]
    # the partner is agent 0 ("ai") of the env; at step s it acted on the observation before step s - 1
    assert [a["ai"] for a in actions] == [predicted(t, 0) for t in range(60)]
    assert {a["player"] for a in actions} == {2}


def test_a_scene_without_onnx_policies_fetches_no_runtime(mug_server: Any, page: Any) -> None:
    server = mug_server(f"{HERE_EXPERIMENTS}:pixels")
    fetched: list[str] = []
    page.on("request", lambda req: fetched.append(req.url))
    page.goto(server.url + "/")
    wait_phase(page, "game")
    page.wait_for_function("window.mug?.status().runtime.ready", timeout=60_000)
    page.click("[data-testid=mug-continue]")
    wait_phase(page, "playing", timeout=30_000)
    page.wait_for_function("window.mug?.status().frame > 10")
    assert any(u.endswith("pyodide.asm.wasm") for u in fetched), "the worker's requests are seen"
    names = {u.rsplit("/", 1)[-1].split("?")[0] for u in fetched}
    assert not names & set(RUNTIME) and not [n for n in names if n.endswith(".onnx")]


@pytest.mark.netns
def test_two_humans_and_an_onnx_partner_record_identical_rows(bundle: BuiltBundle, tmp_path: Path) -> None:
    result = scenario(netns_prefix(), "mp_onnx", 2, bundle.path, tmp_path)
    check_complete_match(result, tmp_path, 2, "direct")
    by = steps(tmp_path)
    rows = sorted(next(iter(by.values())), key=lambda r: (int(r["episode"]), int(r["step"])))
    for episode in ("0", "1"):
        acts = [json.loads(r["action"])["zai"] for r in rows if r["episode"] == episode]
        assert len(set(acts)) > 1, "the partner's actions change with what it observes"
        # every action is the model's argmax of an observation the owner saw at a decision step (even t),
        # a few frames (the input delay, and the run's time) before it applied
        delay = max(p["status"]["match"]["input_delay"] for p in result["players"])
        decided = [
            any(acts[s] == predicted(t, 2) for t in range(max(0, s - delay - 8), s + 1) if t % 2 == 0)
            for s in range(delay + 8, 90)
        ]
        assert sum(decided) >= 0.9 * len(decided), decided
    (match,) = table(tmp_path, "matches.csv")
    zai = json.loads(match["agents"])["zai"]
    assert zai["kind"] == "onnx" and zai["act_every"] == 2 and len(zai["sha256"]) == 64


def test_the_committed_trio_model_is_the_linear_player_of_the_env() -> None:
    assert (MODEL.parent / "trio_partner.onnx").read_bytes() == linear_policy(trio.PARTNER_W, trio.PARTNER_B)


@pytest.mark.netns
def test_two_humans_and_an_onnx_player_take_turns_with_identical_rows(bundle: BuiltBundle, tmp_path: Path) -> None:
    result = scenario(netns_prefix(), "mp_onnx_turns", 2, bundle.path, tmp_path)
    assert [p["code"] for p in result["players"]] == ["DONE"] * 2, result["players"]
    by = steps(tmp_path)
    keyed = [
        {(r["episode"], r["step"]): (r["frame"], r["obs_checksum"], r["action"]) for r in rows} for rows in by.values()
    ]
    assert len(keyed) == 2 and keyed[0] == keyed[1], "both peers recorded the same frames, actions, checksums"
    (match,) = table(tmp_path, "matches.csv")
    assert match["end_reason"] == "finished" and match["steps_differing"] == "0"
    rows = sorted(next(iter(by.values())), key=lambda r: (int(r["episode"]), int(r["step"])))
    for episode in ("0", "1"):
        moves = [next(iter(json.loads(r["action"]).items())) for r in rows if r["episode"] == episode]
        live = [(agent, act) for agent, act in moves if act is not None]  # then the three dead steps
        assert [agent for agent, _ in live] == [("a", "b", "zai")[i % 3] for i in range(len(live))], "turns in order"
        counters = {"a": 0, "b": 0, "zai": 0}
        for turn, (agent, act) in enumerate(live):
            assert trio.legal(counters[agent])[act], f"a masked move was played: {agent} {act} at {counters[agent]}"
            if agent == "zai":  # the model's argmax over the legal moves, of the observation at its turn
                logits = np.array([turn, counters[agent]], dtype=np.float32) @ trio.PARTNER_W + trio.PARTNER_B
                assert act == int(np.argmax(np.where(trio.legal(counters[agent]) == 1, logits, -np.inf))), (
                    turn,
                    counters,
                )
            counters[agent] += act + 1
        last = [r for r in rows if r["episode"] == episode][-1]
        assert max(counters.values()) == trio.GOAL and last["terminated"] == "1", counters
        assert sum(agent == "zai" for agent, _ in live) >= 2
