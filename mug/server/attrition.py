"""Attrition: how far each participant got, and a summary by condition (`attrition.csv`, `attrition_summary.csv`).

A participant's `stage` is the furthest they got, one of `STAGES` in funnel order:

- `refused_at_entry`: an entry rule refused them (`outcome_scene` is `entry`); they saw no scene;
- `no_game`: they entered no game scene (a declined consent, or they left during the instructions);
- `game_no_steps`: they entered a game scene but no step of theirs was stored (they waited in a lobby, could
  not connect, or left before playing);
- `played`: steps of theirs were stored, but they did not reach the end scene;
- `completed`: they reached the end scene (`finished_at` set and no `outcome`).

Whether they ended early, and why, is `outcome` (empty while they are still on their way or simply left).
A game scene is one the experiment declares as one (when the export is given the experiment), or one in
which steps were stored or a match was made (so an export without the experiment still counts them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from mug.configurations import Experiment, GameScene, Randomize, Repeat
from mug.server.store import ENTRY_SCENE

STAGES = ("refused_at_entry", "no_game", "game_no_steps", "played", "completed")

ATTRITION_COLUMNS = [
    "participant_id",
    "experiment_id",
    "condition",
    "stage",
    "outcome",
    "outcome_scene",
    "completed",
    "last_scene",
    "scenes_entered",
    "games_entered",
    "steps_stored",
    "created_at",
    "finished_at",
]
SUMMARY_COLUMNS = ["condition", "participants", *STAGES, "ended_early", "outcomes"]


def game_scene_ids(experiment: Experiment | None) -> set[str]:
    """The ids, as written, of every game scene of `experiment` (its scenes and its conditions' scenes)."""
    if experiment is None:
        return set()
    found: set[str] = set()

    def walk(items: Iterable[Any]) -> None:
        for item in items:
            if isinstance(item, GameScene):
                found.add(item.id)
            elif isinstance(item, Repeat):
                walk([item.scene])
            elif isinstance(item, Randomize):
                walk(item.scenes)

    walk(experiment.scenes)
    for condition in experiment.conditions:
        walk(condition.scenes or [])
    return found


def stage_of(person: Mapping[str, Any], games_entered: int, steps_stored: int) -> str:
    """The furthest stage (see the module docstring) of one participant row."""
    if person["outcome_scene"] == ENTRY_SCENE and person["outcome"]:
        return "refused_at_entry"
    if person["finished_at"] is not None and not person["outcome"]:
        return "completed"
    if steps_stored:
        return "played"
    return "game_no_steps" if games_entered else "no_game"


def attrition_rows(
    people: Sequence[Mapping[str, Any]],
    visits: Sequence[Mapping[str, Any]],
    steps_stored: Mapping[str, int],
    game_scenes: set[str],
) -> list[list[Any]]:
    """One row per participant (`ATTRITION_COLUMNS`), in the order of `people`.

    Args:
        people: participant rows.
        visits: scene visit rows (`participant_id`, `scene_id`, `scene_index`, `scene`: the id as written).
        steps_stored: step rows stored per participant.
        game_scenes: game scene ids, resolved or as written.
    """
    by_person: dict[str, list[Mapping[str, Any]]] = {}
    for v in visits:
        by_person.setdefault(v["participant_id"], []).append(v)
    rows = []
    for p in people:
        mine = sorted(by_person.get(p["id"], []), key=lambda v: v["scene_index"])
        games = sum(1 for v in mine if v["scene_id"] in game_scenes or v["scene"] in game_scenes)
        stored = steps_stored.get(p["id"], 0)
        stage = stage_of(p, games, stored)
        rows.append(
            [
                p["id"],
                p["experiment_id"],
                p["condition"],
                stage,
                p["outcome"],
                p["outcome_scene"],
                stage == "completed",
                mine[-1]["scene_id"] if mine else "",
                len(mine),
                games,
                stored,
                p["created_at"],
                p["finished_at"],
            ]
        )
    return rows


def summary_rows(rows: list[list[Any]]) -> list[list[Any]]:
    """Per condition (sorted; "" without conditions): participants, how many ended at each stage, how many
    ended early on an outcome, and those outcomes counted (a dict, written as JSON)."""
    at = {name: i for i, name in enumerate(ATTRITION_COLUMNS)}
    by_condition: dict[str, list[list[Any]]] = {}
    for r in rows:
        by_condition.setdefault(r[at["condition"]] or "", []).append(r)
    out = []
    for condition, members in sorted(by_condition.items()):
        outcomes: dict[str, int] = {}
        for r in members:
            if r[at["outcome"]]:
                outcomes[r[at["outcome"]]] = outcomes.get(r[at["outcome"]], 0) + 1
        stages = [sum(1 for r in members if r[at["stage"]] == s) for s in STAGES]
        out.append([condition, len(members), *stages, sum(outcomes.values()), outcomes])
    return out
