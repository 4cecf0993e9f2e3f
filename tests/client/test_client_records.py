import json

import numpy as np

from mug.client.checksum import checksum
from mug.client.records import json_safe, step_row


def test_json_safe_converts_numpy_and_odd_values() -> None:
    value = {
        1: np.float32(0.5),
        "a": np.arange(3),
        "t": (1, np.int64(2)),
        "nan": float("nan"),
        "inf": -np.inf,
        "obj": object(),
        "b": np.bool_(True),
    }
    safe = json_safe(value)
    text = json.dumps(safe, allow_nan=False)
    back = json.loads(text)
    assert back["1"] == 0.5 and back["a"] == [0, 1, 2] and back["t"] == [1, 2]
    assert back["nan"] == "nan" and back["inf"] == "-inf" and back["b"] is True
    assert back["obj"].startswith("<object object")


def test_step_row_fields_and_checksum() -> None:
    obs = np.array([1.0, 2.0], dtype=np.float32)
    row = step_row(
        episode=0,
        step=1,
        agent="",
        action=np.int64(2),
        reward=np.float64(1.5),
        terminated=False,
        truncated=True,
        info={"x": np.arange(2)},
        obs=obs,
        episode_seed=7,
        t_ms=1.0,
        frame=3,
    )
    assert set(row) == {
        "episode",
        "step",
        "agent",
        "action",
        "reward",
        "terminated",
        "truncated",
        "info",
        "obs_checksum",
        "episode_seed",
        "t_ms",
        "frame",
        "turn_fallback",
    }
    assert row["turn_fallback"] is False  # by default: the move was not the turn time limit's
    assert row["obs_checksum"] == checksum(obs)
    assert row["action"] == 2 and isinstance(row["action"], int)
    json.dumps(row, allow_nan=False)


def test_huge_info_is_replaced_by_a_note() -> None:
    row = step_row(
        episode=0,
        step=1,
        agent="",
        action=0,
        reward=0,
        terminated=False,
        truncated=False,
        info={"big": "x" * 20_000},
        obs=0,
        episode_seed=None,
        t_ms=0,
    )
    assert row["info"]["truncated"] is True
