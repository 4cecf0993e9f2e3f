"""Multiplayer experiments for servers in child processes (`MUG_EXPERIMENT=mp_experiments.py:NAME`)."""

from __future__ import annotations

from typing import Any

from mug.configurations import EndScene, Experiment, GameScene, Lobby, Outcome


def _duo(**kw: Any) -> Experiment:
    fields: dict[str, Any] = {
        "id": "duo",
        "env": "envs.duo:make",
        "key_bindings": {"ArrowLeft": 0},
        "agents": {"left": "human", "right": "human"},
        "partner_left": Outcome(body="Your partner left.", completion_code="STAYED"),
        "left": Outcome(body="You left.", completion_code="GONE"),
    }
    scene = GameScene(**(fields | kw))
    return Experiment(id="mp", scenes=[scene, EndScene(id="end")])


duo = _duo()
# a short lobby timeout (its own outcome page) and a short grace period for members who went away
quick = _duo(
    lobby=Lobby(timeout_s=1.0, on_timeout="end", timeout_end=Outcome(body="Nobody came.", completion_code="ALONE")),
    reconnect_grace_s=1.0,
)
