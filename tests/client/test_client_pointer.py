"""Clicks on the canvas -> actions: grids, researcher functions, masks, out-of-range clicks and bad returns, in
the single-player runner and through the lockstep of a match."""

from __future__ import annotations

from typing import Any

import pytest
from gymnasium import spaces
from pydantic import ValidationError

from mug.client.match import MatchRunner
from mug.client.pointer import PointerError, PointerMapper
from mug.client.runner import Runner
from mug.configurations import GameScene, PointerGrid
from mug.server.scenes import scene_spec
from mug.testing.lockstep.network import LinkProfile, SimNetwork

TTT = "mug_e2e_envs.tictactoe:make_env"
GRID = {"kind": "grid", "rows": 3, "cols": 3, "actions": list(range(9))}
CLICK_CELL = {"kind": "function", "ref": "mug_e2e_envs.tictactoe:click_to_cell"}


def centre(cell: int, size: float = 90.0) -> list[float]:
    """A click at the centre of a tic-tac-toe cell on the env's 90 x 90 frame."""
    row, col = divmod(cell, 3)
    return [(col + 0.5) * size / 3, (row + 0.5) * size / 3, size, size]


# ---------------------------------------------------------------- the mapping


@pytest.mark.parametrize(
    ("click", "expected"),
    [
        ([0, 0, 90, 90], (True, 0)),
        ([89.99, 89.99, 90, 90], (True, 8)),
        ([45, 10, 90, 90], (True, 1)),
        ([30, 30, 90, 90], (True, 4)),  # a cell's edge belongs to the cell right of and below it
        ([700, 150, 900, 300], (True, 5)),  # any surface size: the grid covers the surface
        ([-0.1, 10, 90, 90], (False, None)),
        ([90, 10, 90, 90], (False, None)),
        ([10, 90, 90, 90], (False, None)),
        ([10, 10, 0, 90], (False, None)),
        (["x", 10, 90, 90], (False, None)),
    ],
)
def test_a_grid_maps_the_cell_under_the_click_and_nothing_outside_the_surface(
    click: list[Any], expected: tuple[bool, Any]
) -> None:
    assert PointerMapper(GRID).map(click, spaces.Discrete(9)) == expected


def test_a_none_cell_does_nothing_and_a_grid_needs_one_action_per_cell() -> None:
    grid = PointerMapper({"kind": "grid", "rows": 1, "cols": 2, "actions": [None, [1, 2]]})
    assert grid.map([1, 0, 4, 1]) == (False, None)
    assert grid.map([3, 0, 4, 1]) == (True, [1, 2])
    with pytest.raises(PointerError, match="2 x 2 cells need 4 actions"):
        PointerMapper({"kind": "grid", "rows": 2, "cols": 2, "actions": [0]})
    with pytest.raises(PointerError, match="neither a grid nor a function"):
        PointerMapper({"kind": "circle"})


def test_a_function_gets_surface_coordinates_and_its_none_does_nothing() -> None:
    fn = PointerMapper(CLICK_CELL)
    assert fn.map(centre(7), spaces.Discrete(9)) == (True, 7)
    assert fn.map([30.5, 10, 90, 90]) == (False, None)  # on a grid line: the function says no move
    assert fn.map([95, 10, 90, 90]) == (False, None)  # outside the surface: the function is not asked
    numpy = PointerMapper({"kind": "function", "ref": "client_envs:click_returns_numpy"})
    found, action = numpy.map([1, 1, 4, 4], spaces.Discrete(3))
    assert (found, action, type(action)) == (True, 2, int)  # a numpy integer is recorded as a plain int


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        (
            "client_envs:click_returns_object",
            r"pointer 'client_envs:click_returns_object' returned <object .*"
            r"for a click at \(1, 2\) on the 4 x 4 surface .*return an action",
        ),
        ("client_envs:click_raises", r"pointer 'client_envs:click_raises' raised KeyError: 'no such cell' for a click"),
        ("client_envs:click_out_of_space", r"gave action 7 for a click .* not in the action space Discrete\(3\)"),
        ("client_envs:nowhere", r"pointer: 'client_envs:nowhere': 'client_envs' has no attribute 'nowhere'"),
    ],
)
def test_a_bad_function_is_a_clear_error(ref: str, message: str) -> None:
    with pytest.raises(PointerError, match=message):
        PointerMapper({"kind": "function", "ref": ref}).map([1, 2, 4, 4], spaces.Discrete(3))


def test_a_grid_action_outside_the_space_is_an_error_naming_the_cell() -> None:
    grid = PointerMapper({"kind": "grid", "rows": 1, "cols": 2, "actions": [0, 12]})
    with pytest.raises(PointerError, match=r"cell \(row 0, col 1\) gave action 12 .* Discrete\(9\)"):
        grid.map([3, 0, 4, 1], spaces.Discrete(9))


def test_the_most_recent_legal_click_of_a_frame_is_the_move() -> None:
    grid = PointerMapper(GRID)
    free = {2, 6}
    assert grid.move([centre(6), centre(2), centre(4)], legal=free.__contains__) == (True, 2)
    assert grid.move([centre(4)], legal=free.__contains__) == (False, None)
    assert grid.move([]) == (False, None)


# ---------------------------------------------------------------- configuration


def test_the_scene_validates_the_pointer_and_sends_it_to_the_page() -> None:
    grid = PointerGrid(rows=3, cols=3, actions=list(range(9)))
    scene = GameScene(id="g", env=TTT, agents={"player_1": "human", "player_2": "human"}, pointer=grid)
    assert scene_spec(scene, seed=1, completion_code="", params={})["pointer"] == GRID  # no key_bindings needed
    by_ref = GameScene(id="g", env=TTT, pointer="mug_e2e_envs.tictactoe:click_to_cell")
    assert by_ref.pointer_spec == CLICK_CELL
    with pytest.raises(ValidationError, match=r"PointerGrid\(rows=3, cols=3\) has 9 cells but 2 actions"):
        GameScene(id="g", env=TTT, pointer=PointerGrid(rows=3, cols=3, actions=[0, 1]))
    with pytest.raises(ValidationError, match="pointer: 'nope' is not a 'package.module:callable' reference"):
        GameScene(id="g", env=TTT, pointer="nope")
    with pytest.raises(ValidationError, match="key_bindings must map keys to actions.*or pointer"):
        GameScene(id="g", env=TTT)


# ---------------------------------------------------------------- single player


def ttt_scene(pointer: dict[str, Any] | None = GRID, **kw: Any) -> dict[str, Any]:
    return {
        "id": "ttt",
        "env": TTT,
        "agents": {"player_1": "human", "player_2": {"ref": "mug_e2e_envs.tictactoe:make_first_legal"}},
        "key_bindings": {},
        "pointer": pointer,
        "input_mode": "press",
        "num_episodes": 1,
    } | kw


@pytest.mark.parametrize("pointer", [GRID, CLICK_CELL], ids=["grid", "function"])
def test_single_player_tictactoe_is_played_by_clicks_and_a_taken_cell_does_nothing(pointer: dict[str, Any]) -> None:
    runner = Runner()
    runner.start(ttt_scene(pointer), seed=3)
    rows: list[dict[str, Any]] = []
    # X: the centre; the policy takes 0; X clicks 0 (taken: nothing), then 2; the policy 1; X 6 wins (2-4-6)
    for clicks in ([centre(4)], [], [centre(0)], [], [centre(2)], [], [centre(6)], [], []):
        rows += runner.tick([], [], 0.0, clicks)["rows"]
    assert [r["action"] for r in rows] == [
        {"player_1": 4},
        {"player_2": 0},
        {"player_1": 2},
        {"player_2": 1},
        {"player_1": 6},
        {"player_2": None},
        {"player_1": None},
    ]
    assert rows[4]["reward"] == {"player_1": 1.0, "player_2": -1.0} and runner.episode_done


def test_a_click_counts_once_and_beats_a_held_key_in_a_real_time_game() -> None:
    runner = Runner()
    scene = {
        "id": "c",
        "env": "client_envs:make_counter",
        "key_bindings": {"ArrowLeft": 0},
        "pointer": {"kind": "function", "ref": "client_envs:click_left_right"},
        "default_action": 1,
        "max_steps": 10,
    }
    first = runner.start(scene, seed=1)
    assert first["render"]["width"] == 6  # the surface the page maps clicks into
    actions = [
        runner.tick(held, [], 0.0, clicks)["rows"][0]["action"]
        for held, clicks in (([], [[5, 1, 6, 4]]), ([], []), (["ArrowLeft"], [[5, 1, 6, 4]]), (["ArrowLeft"], []))
    ]
    assert actions == [2, 1, 2, 0]


# ---------------------------------------------------------------- a match


def test_two_peers_play_tictactoe_by_clicks_with_identical_records() -> None:
    """X clicks cells 0, 1, 2 and O 3, 4, each after a pause; O also clicks during X's turn (out of turn)
    and on a taken cell; none of those does anything."""
    agents = {"player_1": {"kind": "human", "slot": 0}, "player_2": {"kind": "human", "slot": 1}}
    scene = ttt_scene(CLICK_CELL, agents=None, fps=30)
    start = {"match_id": "m-1", "scene_id": "ttt", "seed": 7, "members": ["p0", "p1"], "agents": agents}
    runners = [MatchRunner(scene, start | {"slot": i}) for i in range(2)]
    net = SimNetwork(seed=3, default=LinkProfile(latency_ms=8, jitter_ms=4, loss=0.05))
    plans = [[0, 1, 2], [3, 4]]
    waited = [0, 0]
    rows: list[list[dict[str, Any]]] = [[], []]
    now = 0.0
    while now < 60_000 and not all(r.state == "done" for r in runners):
        for src, dst, data in net.deliver(now):
            runners[int(dst[1])].receive(src, data)
        for i, r in enumerate(runners):
            clicks: list[list[float]] = []
            info = r.turn_info()
            if info and info["yours"] and plans[i]:
                waited[i] += 1
                if i == 1 and waited[i] == 100:
                    clicks = [centre(0)]  # O, 200 ms into its turn: cell 0 (X's), masked
                elif waited[i] >= 200:
                    clicks, waited[i] = [centre(plans[i].pop(0))], 0
            elif i == 1 and info and not info["yours"] and int(now) % 300 == 0:
                clicks = [centre(8)]  # O while X is to move: out of turn
            res = r.poll(now, [], [], 1e12 + now, clicks)
            for peer, data, reliable in res["sends"]:
                net.send(f"p{i}", peer, data, now, reliable=reliable)
            if res["frame"]:
                rows[i] += res["frame"]["rows"]
        now += 2.0
    assert all(r.state == "done" and r.desyncs == [] for r in runners)
    a, b = ([{k: v for k, v in row.items() if k != "t_ms"} for row in peer] for peer in rows)
    assert a == b, "identical records on both peers"
    assert [r["action"] for r in a] == [
        {"player_1": 0},
        {"player_2": 3},
        {"player_1": 1},
        {"player_2": 4},
        {"player_1": 2},
        {"player_2": None},
        {"player_1": None},
    ], "only the planned clicks were played: out-of-turn and taken-cell clicks did nothing"
