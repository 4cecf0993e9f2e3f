"""`mug replay`: real play recorded by the browser's runners, stored, exported, re-simulated and confirmed."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from recording import Study, play_match, play_single, store_and_export

from mug.configurations import EndScene, Experiment, GameScene, Policy
from mug.replay.cli import cli
from mug.replay.data import load_experiment_config

ARROWS: list[str | None] = ["ArrowLeft", "ArrowRight", None]
CELLS = {str(i + 1): i for i in range(9)}
CELL_KEYS: list[str | None] = [*CELLS, None, None, None]


def experiment(*scenes: GameScene) -> Experiment:
    return Experiment(id="study", scenes=[*scenes, EndScene(id="end")])


def replay(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str], str]:
    code = cli(list(args))
    out = capsys.readouterr()
    return code, out.out.splitlines(), out.err


def catch(**kw: Any) -> GameScene:
    base: dict[str, Any] = {
        "id": "catch",
        "env": "mug.demos.catch:make_env",
        "key_bindings": {"ArrowLeft": 0, "ArrowRight": 2},
        "default_action": 1,
        "num_episodes": 2,
        "max_steps": 40,
    }
    return GameScene(**(base | kw))


def tictactoe(**kw: Any) -> GameScene:
    base: dict[str, Any] = {
        "id": "ttt",
        "env": "mug_e2e_envs.tictactoe:env",
        "agents": {"player_1": "human", "player_2": Policy(ref="mug_e2e_envs.tictactoe:make_random_legal")},
        "key_bindings": CELLS,
        "default_action": 4,
        "input_mode": "press",
        "num_episodes": 4,
        "turn_time_limit_s": 0.1,
        "turn_fallback": "default_action",
    }
    return GameScene(**(base | kw))


def test_single_player_gymnasium_parallel_and_aec_replay_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    walkers = GameScene(
        id="walk",
        env="mug_e2e_envs.walkers:make_env",
        agents={0: "human", 1: Policy(ref="client_envs:make_random_policy")},
        key_bindings={"ArrowLeft": 0, "ArrowRight": 2},
        default_action=1,
        num_episodes=2,
        max_steps=30,
    )
    ttt = tictactoe()
    study = Study(experiment(catch(), walkers, ttt))
    study.recordings = [
        play_single(catch(), "p_1", 11, ARROWS),
        play_single(catch(), "p_2", 12, ARROWS, rng_seed=1),
        play_single(walkers, "p_1", 13, ARROWS),
        play_single(ttt, "p_1", 14, CELL_KEYS),
    ]
    ttt_rows = study.recordings[-1].rows
    frames = [r["frame"] for r in ttt_rows]
    assert any(b - a > 1 for a, b in zip(frames, frames[1:], strict=False)), "a human turn that waited"
    _, out = store_and_export(tmp_path, study)
    code, lines, err = replay(capsys, "--export", str(out))
    assert code == 0, (lines, err)
    assert len(lines) == 2 + 2 + 2 + 4 + 1
    assert "participant p_1 scene catch match - episode 0 steps 40 OK" in lines
    assert all(line.endswith(" OK") for line in lines[:-1])
    assert lines[
        -1
    ] == f"replayed 10 episodes ({sum(len(r.rows) for r in study.recordings)} steps) of 2 participants: " + (
        "every step agrees"
    )
    # one participant, one scene
    code, lines, _ = replay(capsys, "--export", str(out), "--participant", "p_1", "--scene", "ttt")
    assert code == 0 and len(lines) == 5 and all(" scene ttt " in line for line in lines[:-1])


def test_a_turn_fallback_policy_and_its_timing_replay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ttt = tictactoe(turn_fallback=Policy(ref="replay_envs:make_legal_policy"), turn_time_limit_s=0.2)
    rec = play_single(ttt, "p_1", 5, [*CELL_KEYS, None, None, None, None], rng_seed=3)
    _, out = store_and_export(tmp_path, Study(experiment(ttt), [rec]))
    code, lines, err = replay(capsys, "--export", str(out))
    assert code == 0, (lines, err)


def test_a_match_with_an_ai_slot_and_a_turn_based_match_replay_ok(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    party = GameScene(
        id="party",
        env="mug.demos.catch_party:make_env",
        env_kwargs={"players": 3},
        agents={
            "p0": "human",
            "p1": "human",
            "p2": Policy(ref="mug.demos.policies:make_catcher", kwargs={"epsilon": 0.3}),
        },
        key_bindings={"ArrowLeft": 0, "ArrowRight": 2},
        default_action=1,
        num_episodes=2,
        max_steps=60,
    )
    turns = GameScene(
        id="turns",
        env="client_envs:make_turns",
        agents={"first": "human", "second": "human", "bot": Policy(ref="client_envs:make_turn_policy")},
        key_bindings={"ArrowLeft": 0, "ArrowRight": 1},
        default_action=0,
        num_episodes=2,
    )
    study = Study(experiment(party, turns))
    study.recordings = [
        *play_match(party, ["p_a", "p_b"], 1234, ARROWS, match_id="m-party"),
        *play_match(turns, ["p_a", "p_b"], 99, ARROWS, match_id="m-turns"),
    ]
    assert len({r["action"]["p2"] for r in study.recordings[0].rows}) == 3  # the AI's moves are in the rows
    _, out = store_and_export(tmp_path, study)
    code, lines, err = replay(capsys, "--export", str(out))
    assert code == 0, (lines, err)
    assert "participant p_b scene party match m-party episode 1 steps 60 OK" in lines
    assert "participant p_a scene turns match m-turns episode 1 steps 15 OK" in lines
    assert len(lines) == 2 * 2 * 2 + 1


def _tamper(out: Path, scene: str, row: int, column: str, value: str) -> None:
    path = out / f"steps_{scene}.csv"
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    rows[row][column] = value
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def test_a_tampered_action_or_checksum_fails_naming_the_step(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    party = GameScene(
        id="party",
        env="mug.demos.catch_party:make_env",
        env_kwargs={"players": 2},
        agents={"p0": "human", "p1": Policy(ref="mug.demos.policies:make_catcher")},
        key_bindings={"ArrowLeft": 0, "ArrowRight": 2},
        default_action=1,
        num_episodes=1,
        max_steps=50,
    )
    study = Study(experiment(catch(), party), [play_single(catch(), "p_1", 11, ARROWS)])
    study.recordings += play_match(party, ["p_2"], 7, ARROWS, match_id="m-solo")
    _, out = store_and_export(tmp_path, study)
    assert replay(capsys, "--export", str(out))[0] == 0
    # a human's action changed on step 10 of episode 0: the ball lands elsewhere
    with (out / "steps_catch.csv").open(newline="") as f:
        row = list(csv.DictReader(f))[9]
    assert (row["episode"], row["step"]) == ("0", "10")
    _tamper(out, "catch", 9, "action", "0" if row["action"] != "0" else "2")
    code, lines, _ = replay(capsys, "--export", str(out))
    assert code == 1
    (bad,) = [line for line in lines if "MISMATCH" in line]
    assert bad.startswith("participant p_1 scene catch match - episode 0 steps 40 MISMATCH at step 10 (frame 10): ")
    assert f"checksum expected {row['obs_checksum']} got " in bad
    assert lines[-1].endswith("1 with a mismatch")
    # a checksum changed in a match row
    with (out / "steps_party.csv").open(newline="") as f:
        mrow = list(csv.DictReader(f))[20]
    _tamper(out, "party", 20, "obs_checksum", "0123456789abcdef")
    code, lines, _ = replay(capsys, "--export", str(out), "--scene", "party")
    assert code == 1
    assert lines[0].startswith(
        f"participant p_2 scene party match m-solo episode 0 steps 50 MISMATCH at step {mrow['step']} "
        f"(frame {mrow['frame']}): checksum expected 0123456789abcdef got {mrow['obs_checksum']}"
    )
    # an AI's recorded action changed: the policy, reseeded from the match seed, disagrees
    _tamper(out, "party", 20, "obs_checksum", mrow["obs_checksum"])
    action = json.loads(mrow["action"])
    action["p1"] = 0 if action["p1"] != 0 else 2
    _tamper(out, "party", 20, "action", json.dumps(action, sort_keys=True, separators=(",", ":")))
    code, lines, _ = replay(capsys, "--export", str(out), "--scene", "party")
    assert code == 1 and f"MISMATCH at step {mrow['step']}" in lines[0] and "action expected" in lines[0]


def test_envs_from_gymnasium_and_pettingzoo_themselves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cartpole = GameScene(
        id="cartpole",
        env="replay_envs:cartpole",
        key_bindings={"ArrowLeft": 0, "ArrowRight": 1},
        default_action=0,
        num_episodes=3,
    )
    ttt = GameScene(
        id="pz_ttt",
        env="replay_envs:pettingzoo_tictactoe",
        agents={"player_1": "human", "player_2": Policy(ref="mug_e2e_envs.tictactoe:make_random_legal")},
        key_bindings=CELLS,
        input_mode="press",
        num_episodes=3,
        pygame_stub=True,
    )
    study = Study(experiment(cartpole, ttt))
    study.recordings = [play_single(cartpole, "p_1", 3, ARROWS), play_single(ttt, "p_1", 4, CELL_KEYS)]
    _, out = store_and_export(tmp_path, study)
    code, lines, err = replay(capsys, "--export", str(out))
    assert code == 0, (lines, err)
    assert len(lines) == 7


def test_the_database_and_the_demo_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from mug.demo import experiment as demo

    monkeypatch.delenv("MUG_EXPERIMENT", raising=False)
    scene = demo.scene("catch")
    assert isinstance(scene, GameScene)
    url, _ = store_and_export(tmp_path, Study(demo, [play_single(scene, "p_1", 21, ARROWS)]))
    code, lines, err = replay(capsys, "--database", url)
    assert code == 0, (lines, err)
    assert lines[-1].startswith(f"replayed {scene.num_episodes} episodes")


def test_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    study = Study(experiment(catch()), [play_single(catch(), "p_1", 11, ARROWS)])
    _, out = store_and_export(tmp_path, study)
    code, _, err = replay(capsys, "--export", str(out), "--participant", "p_9")
    assert code == 2 and "participant 'p_9' has no recorded steps (participants with steps: ['p_1'])" in err
    code, _, err = replay(capsys, "--export", str(out), "--scene", "nope")
    assert code == 2 and "scene 'nope' has no recorded steps here (scenes with steps: ['catch'])" in err
    code, _, err = replay(capsys, "--export", str(tmp_path / "missing"))
    assert code == 2 and "does not exist" in err
    meta = json.loads((out / "metadata.json").read_text())
    meta["experiment"]["scenes"][0]["env"] = "their_env_package.envs:make_env"
    (out / "metadata.json").write_text(json.dumps(meta))
    code, _, err = replay(capsys, "--export", str(out))
    assert code == 2 and "their_env_package" in err and "Install the experiment's env package" in err, err
    assert "Traceback" not in err


def test_metadata_is_listed_and_reproducible(tmp_path: Path) -> None:
    from mug.server.export import export_csv

    study = Study(experiment(catch()), [play_single(catch(), "p_1", 11, ARROWS)])
    url, out = store_and_export(tmp_path, study)
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "pyodide-lock.json").write_text('{"packages": {}}')
    (bundle / "mug-bundle.json").write_text('{"bundle_id": "b-1"}')
    first = export_csv(url, tmp_path / "a", experiment=study.experiment, bundle_dir=bundle)
    export_csv(url, tmp_path / "b", experiment=study.experiment, bundle_dir=bundle)
    for path in first:
        assert path.read_bytes() == (tmp_path / "b" / path.name).read_bytes(), path.name
    meta = json.loads((tmp_path / "a" / "metadata.json").read_text())
    assert load_experiment_config(meta["experiment"]) == study.experiment
    assert meta["experiment_ids"] == ["study"] and meta["schema_version"] == 4
    assert set(meta["packages"]) == {"gymnasium", "numpy", "pettingzoo"} and all(meta["packages"].values())
    assert meta["bundle"]["bundle_id"] == "b-1" and len(meta["bundle"]["lock_sha256"]) == 64
    with (tmp_path / "a" / "MANIFEST.csv").open(newline="") as f:
        manifest = {r["file"]: r for r in csv.DictReader(f)}
    assert manifest["metadata.json"]["rows"] == ""
    # an export given another experiment than the data's keeps none, and says why
    other = Experiment(id="other", scenes=[catch(), EndScene(id="end")])
    export_csv(url, tmp_path / "c", experiment=other)
    meta = json.loads((tmp_path / "c" / "metadata.json").read_text())
    assert meta["experiment"] is None and "'other'" in meta["note"] and meta["bundle"] is None
    assert (out / "metadata.json").is_file()


async def test_play_recorded_through_the_real_server_replays(
    serve: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The page's path: the server's SceneSpec and seed go to the worker's runner; its rows go back in
    `records` batches; `mug export` and `mug replay` see what the server stored."""
    import random

    import socketio

    from mug.client.runner import Runner
    from mug.server.export import export_async

    study = experiment(catch(num_episodes=3))
    live = serve(study)
    sio = socketio.AsyncClient(reconnection=False)
    await sio.connect(live.url, transports=["websocket"])
    try:
        hello = await sio.call("hello", {"v": 1, "token": None, "tab": "tab-one", "params": {}}, timeout=10)
        scene = hello["scene"]
        assert scene["kind"] == "game" and isinstance(scene["seed"], int)
        runner, rng, rows, held = Runner(), random.Random(5), [], []  # type: ignore[var-annotated]
        runner.start(scene, scene["seed"], 0)
        for tick in range(1000):
            if rng.random() < 0.3:
                held = [rng.choice(["ArrowLeft", "ArrowRight"])]
            out = runner.tick(held, [], 1.7e12 + tick)
            rows += out["rows"]
            if out["scene_done"]:
                break
            if out["episode_done"]:
                runner.next_episode()
        for batch, start in enumerate(range(0, len(rows), 50)):
            payload = {"v": 1, "scene_id": "catch", "batch": batch, "rows": rows[start : start + 50]}
            ack = await sio.call("records", payload, timeout=10)
            assert ack["ok"], ack
        assert (await sio.call("advance", {"v": 1, "scene_id": "catch"}, timeout=10))["ok"]
    finally:
        await sio.disconnect()
    out_dir = tmp_path / "export"
    await export_async(live.database_url, out_dir, experiment=study)
    code, lines, err = replay(capsys, "--export", str(out_dir))
    assert code == 0, (lines, err)
    assert lines[-1] == "replayed 3 episodes (120 steps) of 1 participants: every step agrees"


def test_the_mug_command_exits_with_the_verdict(tmp_path: Path) -> None:
    import subprocess
    import sys

    study = Study(experiment(catch()), [play_single(catch(), "p_1", 11, ARROWS)])
    _, out = store_and_export(tmp_path, study)
    env = {"PYTHONPATH": str(Path(__file__).parent)}

    def mug(*args: str) -> subprocess.CompletedProcess[str]:
        import os

        return subprocess.run(
            [sys.executable, "-m", "mug.cli", "replay", *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=os.environ | env,
        )

    ok = mug("--export", str(out))
    assert ok.returncode == 0 and ok.stdout.splitlines()[-1].endswith("every step agrees"), ok
    _tamper(out, "catch", 0, "obs_checksum", "ffffffffffffffff")
    bad = mug("--export", str(out))
    assert bad.returncode == 1 and "MISMATCH at step 1 (frame 1): checksum expected ffffffffffffffff" in bad.stdout
    missing = mug("--export", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_a_reloaded_page_replays(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Single player: a reload starts a new runner at the next episode (frames from 0); a match: the
    reloaded member rejoined by replaying its peers' history, and both members' rows replay."""
    from recording import Recording, spec_of
    from test_client_match import DUO, run, start
    from test_client_match import scene as duo_spec

    from mug.client.runner import Runner

    scene = catch(num_episodes=3)
    first = play_single(catch(num_episodes=1), "p_1", 11, ARROWS)  # the page's episode 0 (of 3), then a reload
    runner = Runner()
    runner.start(spec_of(scene, 11), 11, 1)  # the reloaded page resumes at episode 1
    rows = list(first.rows)
    for tick in range(200):
        out = runner.tick(["ArrowLeft"] if tick % 7 else [], [], float(tick))
        rows += out["rows"]
        if out["scene_done"]:
            break
        if out["episode_done"]:
            runner.next_episode()
    assert [r["frame"] for r in rows if r["step"] == 1] == [1, 1, 41]
    duo = GameScene(
        id="duo",
        env="mug.demos.catch_duo:make_env",
        agents={"left": "human", "right": "human"},
        key_bindings={"ArrowLeft": 0, "ArrowRight": 2},
        default_action=1,
        num_episodes=2,
        max_steps=60,
        reconnect_grace_s=20,
    )
    plan = start(DUO, 2)
    peers = run(duo_spec(reconnect_grace_s=20), plan, seed=1, reload=(1, 1500.0, 3500.0))
    assert peers[1]["runner"].replayed > 0
    match = {k: plan[k] for k in ("match_id", "seed", "members", "agents")}
    study = Study(experiment(scene, duo), [Recording("p_1", "catch", rows, seed=11)])
    for pid, peer in zip(plan["members"], peers, strict=True):
        kept: dict[tuple[int, int], dict[str, Any]] = {}
        for r in peer["rows"]:
            kept.setdefault((r["episode"], r["step"]), r)  # the server stores the first copy of a step
        study.recordings.append(Recording(pid, "duo", list(kept.values()), match=match))
    _, out_dir = store_and_export(tmp_path, study)
    code, lines, err = replay(capsys, "--export", str(out_dir))
    assert code == 0, (lines, err)
    assert len(lines) == 3 + 2 * 2 + 1


def test_a_turn_recorded_after_its_time_ran_out_is_a_mismatch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ttt = tictactoe(num_episodes=1)
    rec = play_single(ttt, "p_1", 14, CELL_KEYS)
    _, out = store_and_export(tmp_path, Study(experiment(ttt), [rec]))
    # the human's second move (a row of player_1) recorded 10 frames later than it was made; later frames too
    with (out / "steps_ttt.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    human = [i for i, r in enumerate(rows) if '"player_1"' in r["action"]][1]
    for i in range(human, len(rows)):
        _tamper(out, "ttt", i, "frame", str(int(rows[i]["frame"]) + 10))
    code, lines, _ = replay(capsys, "--export", str(out))
    assert code == 1
    step = rows[human]["step"]
    assert (
        f"MISMATCH at step {step} (frame {int(rows[human]['frame']) + 10}): the replay played this step at frame"
        in (lines[0])
    )
