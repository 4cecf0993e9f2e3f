"""Who plays what in a multiplayer match: the server's `match_start` turned into lockstep settings.

`match_start` fields used (see `mug.server.wire`): `match_id`, `seed`, `slot` (ours), `members` (participant
ids by slot), `agents` (`{agent: {"kind": "human", "slot": int} | {"kind": "policy", "ref", "kwargs"}}`) and
`input_delay` (`"auto"` or frames). Agents are keyed by label (`mug.client.agents`: an int id 0 is "0").
Peer ids in the lockstep session are the members' participant ids, so the page's transport and the worker
name peers the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mug.client.agents import AgentId, from_label, ordered
from mug.client.lockstep.timing import MAX_INPUT_DELAY, MIN_INPUT_DELAY


@dataclass(frozen=True)
class MatchPlan:
    """The lockstep view of one match.

    Attributes:
        match_id: the server's match id (stored on every row).
        seed: the match seed; episode and policy seeds derive from it.
        slot: this participant's slot.
        members: participant ids by slot.
        humans: agent -> slot, for agents played by participants.
        policies: agent -> (policy ref, kwargs), for agents every peer runs identically.
        input_delay: frames, or None for "auto" (agreed from measured round trips).
    """

    match_id: str
    seed: int
    slot: int
    members: tuple[str, ...]
    humans: dict[AgentId, int]
    policies: dict[AgentId, tuple[str, dict[str, Any]]]
    input_delay: int | None

    @classmethod
    def from_start(cls, start: dict[str, Any]) -> MatchPlan:
        """Read a `match_start` payload.

        Raises:
            ValueError: a field is missing or inconsistent (the message names it).
        """
        try:
            members = tuple(str(m) for m in start["members"])
            slot = int(start["slot"])
            agents: dict[str, Any] = dict(start["agents"])
            seed = int(start["seed"])
            match_id = str(start["match_id"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"match_start is missing or has a bad field: {exc}") from None
        humans: dict[AgentId, int] = {}
        policies: dict[AgentId, tuple[str, dict[str, Any]]] = {}
        by_id = {from_label(str(a)): c for a, c in agents.items()}
        for agent in ordered(by_id):
            ctrl = by_id[agent]
            if ctrl.get("kind") == "human":
                humans[agent] = int(ctrl["slot"])
            else:
                policies[agent] = (str(ctrl["ref"]), dict(ctrl.get("kwargs") or {}))
        if not 0 <= slot < len(members):
            raise ValueError(f"match_start: slot {slot} is not one of the {len(members)} members' slots")
        if sorted(humans.values()) != list(range(len(members))):
            raise ValueError(
                f"match_start: human agents hold slots {sorted(humans.values())}, expected one per member "
                f"(0..{len(members) - 1})"
            )
        delay = start.get("input_delay", "auto")
        input_delay = None
        if delay not in (None, "auto"):
            input_delay = int(delay)
            if not MIN_INPUT_DELAY <= input_delay <= MAX_INPUT_DELAY:  # GameScene refuses these at start-up
                raise ValueError(
                    f"match_start: input_delay {delay!r} is outside {MIN_INPUT_DELAY}..{MAX_INPUT_DELAY} frames"
                )
        return cls(match_id, seed, slot, members, humans, policies, input_delay)

    @property
    def slots(self) -> list[int]:
        """Every human slot, ascending (the lockstep session's slots)."""
        return sorted(self.humans.values())

    @property
    def peers(self) -> dict[int, str]:
        """Slot -> peer id (the member's participant id)."""
        return {s: self.members[s] for s in self.slots}

    @property
    def local_peer(self) -> str:
        return self.members[self.slot]

    @property
    def local_agent(self) -> AgentId:
        """The agent this participant plays."""
        return next(a for a, s in self.humans.items() if s == self.slot)

    @property
    def agent_of_slot(self) -> dict[int, AgentId]:
        return {s: a for a, s in self.humans.items()}
