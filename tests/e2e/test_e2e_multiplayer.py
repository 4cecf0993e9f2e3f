"""Peer-to-peer multiplayer in real browsers: direct links in a private network namespace, relay via coturn.

Each scenario (a server and N Chromium participants, `mp_scenario.py`) runs as a subprocess: under
`netns-run` for direct links (headless Chromium never offers 127.0.0.1 candidates; the namespace has a veth
address), or in the normal namespace with a coturn on 127.0.0.1 and relay forced.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mug.testing.bundle import BuiltBundle
from mug.testing.coturn import Coturn, CoturnNotInstalled

pytestmark = pytest.mark.browser

HERE = Path(__file__).resolve().parent
SCENARIO = HERE / "mp_scenario.py"
TICTACTOE = HERE / "mp_tictactoe.py"  # a scripted match: see its docstring
EXPERIMENTS = HERE / "experiments.py"
NETNS_RUN = HERE.parent.parent.parent / "shared" / "tools" / "netns-run"
NETNS_INLINE = (  # the same as netns-run, for machines without the shared tools folder
    "ip link set lo up && ip link add v0 type veth peer name v1 && ip addr add 10.77.0.1/24 dev v0 && "
    'ip link set v0 up && ip link set v1 up && ip route add default dev v0 && exec "$@"'
)


def netns_prefix() -> list[str]:
    if os.geteuid() != 0:
        pytest.skip("direct peer-to-peer needs a private network namespace, which needs root")
    if NETNS_RUN.exists():
        return [str(NETNS_RUN)]
    if not (shutil.which("unshare") and shutil.which("ip")):
        pytest.skip("needs unshare and ip (iproute2) to make a private network namespace")
    return ["unshare", "-n", "sh", "-c", NETNS_INLINE, "netns-run"]


def scenario(
    prefix: list[str],
    experiment: str,
    players: int,
    bundle: Path,
    work: Path,
    *extra: str,
    env: dict[str, str] | None = None,
    program: Path = SCENARIO,
) -> dict[str, Any]:
    cmd = [
        *prefix,
        sys.executable,
        str(program),
        "--experiment",
        f"{EXPERIMENTS}:{experiment}",
        "--players",
        str(players),
        "--bundle",
        str(bundle),
        "--work",
        str(work),
        *extra,
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=os.environ | (env or {}))
    if proc.returncode != 0:
        pages = (work / "result.json").read_text()[-3000:] if (work / "result.json").exists() else ""
        raise AssertionError(f"scenario failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}\npages: {pages}")
    result: dict[str, Any] = json.loads((work / "result.json").read_text())
    print("\n".join(result["log"][-40:]))
    return result


def steps(work: Path) -> dict[str, list[dict[str, str]]]:
    with open(work / "export" / "steps_duo.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    by: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by.setdefault(r["participant_id"], []).append(r)
    return by


def table(work: Path, name: str) -> list[dict[str, str]]:
    with open(work / "export" / name, newline="") as f:
        return list(csv.DictReader(f))


def check_complete_match(result: dict[str, Any], work: Path, players: int, link_type: str) -> None:
    assert [p["code"] for p in result["players"]] == ["DONE"] * players, result["players"]
    by = steps(work)
    assert len(by) == players
    keyed = [
        {(r["episode"], r["step"]): (r["frame"], r["obs_checksum"], r["action"]) for r in rows} for rows in by.values()
    ]
    assert all(k == keyed[0] for k in keyed), "every peer recorded the same frames, actions and checksums"
    for episode in ("0", "1"):
        ep = sorted(int(s) for (e, s) in keyed[0] if e == episode)
        assert ep == list(range(1, 91)), "complete episodes of max_steps=90, one row per step"
    assert len({v[2] for v in keyed[0].values()}) > 1, "the participants' keys reached the game"
    (match,) = table(work, "matches.csv")
    assert match["end_reason"] == "finished" and match["steps_differing"] == "0"
    assert int(match["steps_compared"]) == 180
    links = table(work, "match_links.csv")
    assert len(links) == players * (players - 1)
    assert {r["connection_type"] for r in links} == {link_type}
    assert all(r["desyncs"] == "[]" and r["frames"] == "240" for r in links)  # 180 steps + a 2 s pause
    for p in result["players"]:
        m = p["status"]["match"]
        assert m["state"] == "done" and m["desyncs"] == [] and m["input_delay"] >= 1
        assert all(peer["type"] == link_type and peer["rtt_ms"] is not None for peer in m["peers"])


@pytest.mark.netns
def test_two_participants_play_a_whole_scene_over_a_direct_link(bundle: BuiltBundle, tmp_path: Path) -> None:
    result = scenario(netns_prefix(), "mp_duo", 2, bundle.path, tmp_path)
    check_complete_match(result, tmp_path, 2, "direct")


@pytest.mark.netns
def test_three_participants_play_in_a_full_mesh(bundle: BuiltBundle, tmp_path: Path) -> None:
    result = scenario(netns_prefix(), "mp_party", 3, bundle.path, tmp_path)
    check_complete_match(result, tmp_path, 3, "direct")


@pytest.fixture
def coturn(tmp_path: Path) -> Iterator[tuple[int, str]]:
    """A coturn on 127.0.0.1 with TURN REST auth (the server mints credentials from the secret)."""
    turn = Coturn(secret="e2e-secret", work_dir=tmp_path / "coturn")
    try:
        turn.start()
    except CoturnNotInstalled as exc:
        pytest.skip(str(exc))
    try:
        yield turn.port, "e2e-secret"
    finally:
        turn.stop()


@pytest.mark.turn
@pytest.mark.parametrize("experiment", ["mp_duo_turn", "mp_duo_turn_tcp"], ids=["udp", "tcp"])
def test_two_participants_play_through_a_turn_relay(
    bundle: BuiltBundle, tmp_path: Path, coturn: tuple[int, str], experiment: str
) -> None:
    port, secret = coturn
    work = tmp_path / "run"
    result = scenario([], experiment, 2, bundle.path, work, env={"E2E_TURN_PORT": str(port), "E2E_TURN_SECRET": secret})
    check_complete_match(result, work, 2, "relay")
    protocol = "tcp" if experiment.endswith("_tcp") else "udp"
    assert {r["relay_protocol"] for r in table(work, "match_links.csv")} == {protocol}


@pytest.mark.netns
def test_a_closed_tab_ends_the_match_for_the_partner(bundle: BuiltBundle, tmp_path: Path) -> None:
    result = scenario(
        netns_prefix(),
        "mp_duo_long",
        2,
        bundle.path,
        tmp_path,
        "--close-slot",
        "1",
        "--close-at-frame",
        "60",
        "--timeout",
        "40",
    )
    (partner,) = [p for p in result["players"] if not p["closed"]]
    assert partner["code"] == "PARTNERLEFT" and "Your partner left." in partner["text"]
    # told, not left to wait for Socket.IO's ping timeout (45 s); the 3 s bound itself (PEER_TIMEOUT_MS and
    # the report to the server) is checked on the simulated clock in tests/client/lockstep
    assert partner["close_to_end_s"] is not None and partner["close_to_end_s"] < 20
    assert partner["status"]["match"]["state"] in ("ended", "peer_gone")
    (match,) = table(tmp_path, "matches.csv")
    assert match["end_reason"] in ("peer_left", "peer_lost")
    (pid,) = [
        r["participant_id"]
        for r in table(tmp_path, "url_params.csv")
        if r["name"] == "PROLIFIC_PID" and r["value"] == f"mp-{partner['index']}"
    ]
    rows = steps(tmp_path)[pid]
    frames = sorted(int(r["frame"]) for r in rows)
    assert frames == list(range(len(frames))), "every confirmed frame up to the end is stored, none missing"
    assert len(frames) >= result["closed_at_frame"] - 5
    (closed,) = [p for p in result["players"] if p["closed"]]
    outcomes = {r["id"]: (r["outcome"], r["completion_code"]) for r in table(tmp_path, "participants.csv")}
    assert outcomes[pid] == ("partner_left", "PARTNERLEFT")
    assert outcomes[pid_of(tmp_path, closed["index"])] == ("left", ""), "the one who left has their own outcome"


@pytest.mark.netns
@pytest.mark.parametrize("slot", [1, 0], ids=["the answering slot", "the offering slot"])
def test_a_member_who_reloads_mid_episode_rejoins_and_the_match_ends_normally(
    bundle: BuiltBundle, tmp_path: Path, slot: int
) -> None:
    result = scenario(
        netns_prefix(), "mp_duo", 2, bundle.path, tmp_path, "--reload-slot", str(slot), "--reload-at-frame", "50"
    )
    assert result["reload"]["frame"] >= 50 and result["reload"]["resumed_s"] > 0
    check_complete_match(result, tmp_path, 2, "direct")  # identical records, every step stored once, finished
    by_slot = {p["status"]["match"]["slot"]: p for p in result["players"]}
    back, stayer = by_slot[slot]["status"]["match"], by_slot[1 - slot]["status"]["match"]
    assert back["rejoin"] is True and back["replayed"] >= 40  # it rebuilt the game from the frames played
    assert stayer["rejoin"] is False
    (pause,) = stayer["pauses"]
    assert pause["slot"] == slot and pause["rejoined"] is True and pause["away_ms"] is not None
    for row in table(tmp_path, "participants.csv"):
        assert (row["steps_stored"], row["steps_refused"], row["outcome"]) == ("180", "0", ""), row
    links = {(r["slot"], r["peer_slot"]): r for r in table(tmp_path, "match_links.csv")}
    assert links[(str(1 - slot), str(slot))]["pauses"] == "1"  # the stayer waited once for the reloaded page
    assert links[(str(slot), str(1 - slot))]["rejoins"] == "1"


@pytest.mark.netns
def test_a_5_s_loss_of_the_data_channels_pauses_then_resumes_without_desync(
    bundle: BuiltBundle, tmp_path: Path
) -> None:
    args = ["--drop-slot", "0", "--drop-at-frame", "60", "--drop-s", "5"]
    result = scenario(netns_prefix(), "mp_duo", 2, bundle.path, tmp_path, *args)
    check_complete_match(result, tmp_path, 2, "direct")
    for p in result["players"]:
        m = p["status"]["match"]
        (pause,) = m["pauses"]
        assert pause["rejoined"] is False and pause["away_ms"] >= 2000, pause  # the channels were down ~5 s
        assert m["rejoin"] is False and m["replayed"] == 0
    for link in table(tmp_path, "match_links.csv"):
        assert link["pauses"] == "1" and int(link["pause_ms"]) >= 2000 and link["rejoins"] == "0"


@pytest.mark.netns
def test_a_network_gone_for_8_s_restarts_ice_then_reconnects_and_the_match_ends_normally(
    bundle: BuiltBundle, tmp_path: Path
) -> None:
    args = ["--blackhole-at-frame", "60", "--blackhole-s", "8"]
    result = scenario(netns_prefix(), "mp_duo", 2, bundle.path, tmp_path, *args)
    assert result["blackhole"]["lifted"]
    check_complete_match(result, tmp_path, 2, "direct")
    by_slot = {p["status"]["match"]["slot"]: p["status"]["match"] for p in result["players"]}
    # the offering side restarted ICE; once the network was back, the restarted connection (or, if the
    # restart had given up meanwhile, a new one) carried the match on
    assert by_slot[0]["ice_restarts"] >= 1
    for m in by_slot.values():
        assert m["rejoin"] is False
        (pause,) = m["pauses"]
        assert pause["away_ms"] >= 6000 and pause["rejoined"] is False


def pid_of(work: Path, index: int) -> str:
    """The participant id of the scenario's `index`-th page (its URL's PROLIFIC_PID is mp-<index>)."""
    (pid,) = [
        r["participant_id"]
        for r in table(work, "url_params.csv")
        if r["name"] == "PROLIFIC_PID" and r["value"] == f"mp-{index}"
    ]
    return pid


@pytest.mark.netns
def test_two_participants_play_a_gymnasium_env_with_a_joint_tuple_action(bundle: BuiltBundle, tmp_path: Path) -> None:
    result = scenario(netns_prefix(), "mp_joint", 2, bundle.path, tmp_path)
    check_complete_match(result, tmp_path, 2, "direct")
    for rows in steps(tmp_path).values():
        for r in rows:
            action, reward = json.loads(r["action"]), json.loads(r["reward"])
            # Tuple entry 0 is "left" (sorted agent order): it pulls the knot by a - 1, "right" by 1 - a
            move = float(action["left"] - 1 + 1 - action["right"])
            assert set(action) == {"left", "right"} and reward == {"left": move, "right": move}, r


@pytest.mark.netns
def test_turn_based_aec_players_alternate_and_only_the_acting_one_is_awaited(
    bundle: BuiltBundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # "right" (slot 1) holds ArrowRight out of turn while "left", whose turn it is, waits; meanwhile right's
    # page is frozen for 1.5 s. Then both press keys at random until both episodes are won.
    result = scenario(netns_prefix(), "mp_turns", 2, bundle.path, tmp_path, "--block-slot", "1")
    assert [p["code"] for p in result["players"]] == ["DONE"] * 2, result["players"]
    by = steps(tmp_path)
    keyed = [
        {(r["episode"], r["step"]): (r["frame"], r["obs_checksum"], r["action"], r["turn_fallback"]) for r in rows}
        for rows in by.values()
    ]
    assert len(keyed) == 2 and keyed[0] == keyed[1], "both peers recorded the same frames, actions, checksums"
    (match,) = table(tmp_path, "matches.csv")
    assert match["end_reason"] == "finished" and match["steps_differing"] == "0"
    assert int(match["steps_compared"]) == len(keyed[0])
    assert all(r["desyncs"] == "[]" for r in table(tmp_path, "match_links.csv"))

    rows = sorted(next(iter(by.values())), key=lambda r: (int(r["episode"]), int(r["step"])))
    for episode in ("0", "1"):
        ep = [r for r in rows if r["episode"] == episode]
        turns = [next(iter(json.loads(r["action"]).items())) for r in ep]
        assert all(len(json.loads(r["action"])) == 1 for r in ep), "one acting agent per step"
        live = [t for t in turns if t[1] is not None]
        assert sorted(turns[len(live) :]) == [("left", None), ("right", None)], "two dead steps end the episode"
        assert ep[-1]["terminated"] == "1", "someone won the race"
        assert live[0][0] == "left"
        for (agent, action), (following, _) in zip(live, live[1:], strict=False):
            assert following == (agent if action == 0 else {"left": "right", "right": "left"}[agent]), (
                "a move passes the turn to the other player, waiting keeps it"
            )
        moves = [agent for agent, action in live if action]
        assert {"left", "right"} <= set(moves) and len(moves) <= 19
        # a move (1 or 2) was a player's key; a wait (0, the default action) was the one-frame time limit's
        assert [r["turn_fallback"] for r, (_, action) in zip(ep, turns, strict=True) if action] == ["0"] * len(moves)
        waits = [r for r, (_, action) in zip(ep, turns, strict=True) if action == 0]
        assert waits and all(r["turn_fallback"] == "1" for r in waits), "the time limit's waits are marked"

    # While right's page was frozen, left (whose turn it was) kept stepping at the frame rate: the game did
    # not wait for the non-acting player's inputs; right stepped the same frames only once it was free.
    block = result["block"]
    t0, t1 = block["t0_ms"] + 200, block["t1_ms"] - 200
    left = [r for r in by[pid_of(tmp_path, 1 - block["index"])] if t0 <= float(r["t_client_ms"]) <= t1]
    assert len(left) >= 0.6 * (t1 - t0) / 1000 * 30, (len(left), block)
    assert all(json.loads(r["action"]) == {"left": 0} for r in left), "right's held key was not applied"
    assert all(r["turn_fallback"] == "1" for r in left), "left pressed nothing: the time limit played each wait"

    # mug replay confirms both browsers' rows, its own turn fallback choosing the time limit's waits again
    from mug.replay.cli import cli

    monkeypatch.syspath_prepend(str(HERE / "envpkg"))
    capsys.readouterr()
    code = cli(["--export", str(tmp_path / "export"), "--experiment", f"{EXPERIMENTS}:mp_turns"])
    lines = capsys.readouterr().out.splitlines()
    assert code == 0 and lines[-1].endswith("every step agrees"), lines
    fell_back = sum(r["turn_fallback"] == "1" for rows in by.values() for r in rows)
    assert f"steps, {fell_back} by turn fallback) of 2 participants" in lines[-1], lines[-1]
    right = {r["frame"]: float(r["t_client_ms"]) for r in by[pid_of(tmp_path, block["index"])]}
    assert all(right[r["frame"]] >= block["t1_ms"] - 50 for r in left)


@pytest.mark.netns
@pytest.mark.parametrize("stop_with", ["sigkill", "sigterm"])
def test_a_server_killed_mid_match_and_restarted_loses_no_step(
    bundle: BuiltBundle, tmp_path: Path, stop_with: str
) -> None:
    args = ["--kill-at-frame", "60", "--down-s", "4", "--stop-with", stop_with]
    result = scenario(netns_prefix(), "mp_duo", 2, bundle.path, tmp_path, *args)
    assert result["kill"]["frame"] >= 60 and result["kill"]["restarted_s"] >= 4
    # both finish, every step of both is stored exactly once, the restarted server saw the match to its end
    check_complete_match(result, tmp_path, 2, "direct")
    for row in table(tmp_path, "participants.csv"):
        assert (row["steps_stored"], row["steps_refused"], row["outcome"]) == ("180", "0", ""), row


@pytest.mark.netns
def test_tictactoe_without_a_noop_waits_for_each_move_and_ignores_out_of_turn_and_masked_keys(
    bundle: BuiltBundle, tmp_path: Path
) -> None:
    # tests/e2e/mp_tictactoe.py: X plays cells 0, 1, 2 and O 3, 4 with a pause before every move; O presses
    # "9" during X's turn, O "1" and X "4" (taken cells) on their own turns. Nothing else is pressed.
    result = scenario(netns_prefix(), "mp_tictactoe", 2, bundle.path, tmp_path, program=TICTACTOE)
    check_tictactoe(result, tmp_path)


@pytest.mark.netns
def test_tictactoe_played_by_clicks_and_taps_ignores_out_of_turn_and_masked_clicks(
    bundle: BuiltBundle, tmp_path: Path
) -> None:
    # The same script with clicks on the cells (a pointer function of the env's package maps them), a mouse on
    # one page and taps on a touch screen with devicePixelRatio 2 on the other; the canvas (600 x 400) shows
    # the env's 90 x 90 frame stretched, so clicks must be mapped into the frame's coordinates.
    result = scenario(netns_prefix(), "mp_tictactoe_clicks", 2, bundle.path, tmp_path, "--clicks", program=TICTACTOE)
    check_tictactoe(result, tmp_path)


def check_tictactoe(result: dict[str, Any], tmp_path: Path) -> None:
    """Both pages of `mp_tictactoe.py`'s scripted game saw the turns and recorded the same legal moves."""
    assert [p["code"] for p in result["players"]] == ["DONE"] * 2, result["players"]
    assert result["seen"][0] == {"who": "X", "mover": "Your turn", "other": "Waiting for player_1"}
    assert result["seen"][1] == {"who": "O", "mover": "Your turn", "other": "Waiting for player_2"}
    by = steps(tmp_path)
    keyed = [
        {r["step"]: (r["frame"], r["obs_checksum"], r["action"], r["reward"]) for r in rows} for rows in by.values()
    ]
    assert len(keyed) == 2 and keyed[0] == keyed[1], "both peers recorded the same frames, actions, checksums"
    rows = sorted(next(iter(by.values())), key=lambda r: int(r["step"]))
    assert [json.loads(r["action"]) for r in rows] == [
        {"player_1": 0},
        {"player_2": 3},
        {"player_1": 1},
        {"player_2": 4},
        {"player_1": 2},
        {"player_2": None},
        {"player_1": None},
    ], "only the legal moves were played: no default action while waiting, no out-of-turn or masked key"
    assert json.loads(rows[4]["reward"]) == {"player_1": 1.0, "player_2": -1.0}, "X won (no illegal-move loss)"
    assert rows[-1]["terminated"] == "1"
    frames = [int(r["frame"]) for r in rows[:5]]
    assert all(b - a > 1 for a, b in zip(frames, frames[1:], strict=False)), "frames passed between the moves"
    (match,) = table(tmp_path, "matches.csv")
    assert match["end_reason"] == "finished" and match["steps_differing"] == "0" and match["steps_compared"] == "7"
    assert all(r["desyncs"] == "[]" for r in table(tmp_path, "match_links.csv"))


@pytest.mark.netns
def test_integer_agent_ids_play_peer_to_peer_and_export_as_labels(bundle: BuiltBundle, tmp_path: Path) -> None:
    result = scenario(netns_prefix(), "mp_int_ids", 2, bundle.path, tmp_path)
    check_complete_match(result, tmp_path, 2, "direct")
    for rows in steps(tmp_path).values():
        assert all(set(json.loads(r["action"])) == set(json.loads(r["reward"])) == {"0", "1"} for r in rows)
    (match,) = table(tmp_path, "matches.csv")
    assert json.loads(match["agents"]) == {"0": {"kind": "human", "slot": 0}, "1": {"kind": "human", "slot": 1}}


def test_members_who_cannot_connect_end_on_the_no_connection_page(bundle: BuiltBundle, tmp_path: Path) -> None:
    from mug.testing import free_port

    env = {"E2E_DEAD_TURN_PORT": str(free_port())}  # relay forced through a TURN server that is not there
    result = scenario([], "mp_no_connection", 2, bundle.path, tmp_path, "--timeout", "60", env=env)
    for p in result["players"]:
        assert p["code"] == "NOCONN" and "We could not connect you." in p["text"], p
    (match,) = table(tmp_path, "matches.csv")
    assert match["end_reason"] == "no_connection"
    outcomes = {(r["outcome"], r["completion_code"]) for r in table(tmp_path, "participants.csv")}
    assert outcomes == {("no_connection", "NOCONN")}


@pytest.mark.netns
def test_an_idle_member_ends_the_match_with_inactive_and_the_partner_with_partner_inactive(
    bundle: BuiltBundle, tmp_path: Path
) -> None:
    result = scenario(netns_prefix(), "mp_duo_idle", 2, bundle.path, tmp_path, "--idle-slot", "1", "--timeout", "60")
    by_slot = {p["status"]["match"]["slot"]: p for p in result["players"]}
    idle, partner = by_slot[1], by_slot[0]
    assert idle["code"] == "IDLE" and "You stopped playing." in idle["text"]
    assert partner["code"] == "PIDLE" and "Your partner stopped playing." in partner["text"]
    (match,) = table(tmp_path, "matches.csv")
    assert match["end_reason"] == "peer_inactive"
    outcomes = {r["id"]: (r["outcome"], r["completion_code"]) for r in table(tmp_path, "participants.csv")}
    assert outcomes[pid_of(tmp_path, idle["index"])] == ("inactive", "IDLE")
    assert outcomes[pid_of(tmp_path, partner["index"])] == ("partner_inactive", "PIDLE")
    by = steps(tmp_path)
    for p in (idle, partner):
        frames = sorted(int(r["frame"]) for r in by[pid_of(tmp_path, p["index"])])
        assert len(frames) > 90 and frames == list(range(len(frames))), "every confirmed frame is stored"
    warned = [r for r in table(tmp_path, "events.csv") if r["kind"] == "inactivity_warning"]
    assert [r["participant_id"] for r in warned] == [pid_of(tmp_path, idle["index"])]


def test_partners_of_round_1_play_round_2_together_with_their_roles_swapped(
    bundle: BuiltBundle, tmp_path: Path
) -> None:
    result = scenario(netns_prefix(), "mp_rounds", 2, bundle.path, tmp_path)
    assert [p["code"] for p in result["players"]] == ["DONE", "DONE"], result["players"]
    members = table(tmp_path, "match_members.csv")
    rounds = {r["scene_id"] for r in members}
    assert rounds == {"round1", "round2"}
    slots = {(r["scene_id"], r["participant_id"]): r["slot"] for r in members}
    pids = sorted({r["participant_id"] for r in members})
    assert len(pids) == 2 and len(members) == 4
    for pid in pids:
        assert {slots[("round1", pid)], slots[("round2", pid)]} == {"0", "1"}, "each had the other role in round 2"
    matches = {r["scene_id"]: r for r in table(tmp_path, "matches.csv")}
    assert matches["round1"]["group_id"] == matches["round2"]["group_id"] == matches["round1"]["match_id"]
    assert {r["group_id"] for r in members} == {matches["round1"]["match_id"]}
    for scene in ("round1", "round2"):
        assert matches[scene]["end_reason"] == "finished" and matches[scene]["steps_differing"] == "0"
        assert int(matches[scene]["steps_compared"]) == 60
        with open(tmp_path / "export" / f"steps_{scene}.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        assert {r["participant_id"] for r in rows} == set(pids)
        assert {r["match_id"] for r in rows} == {matches[scene]["match_id"]}
