"""Who plays what in a multiplayer match: the server's `match_start` turned into lockstep settings.

`match_start` fields used (see `mug.server.wire`): `match_id`, `seed`, `slot` (ours), `members` (participant
ids by slot), `agents` (`{agent: {"kind": "human", "slot": int} | {"kind": "policy", "ref", "kwargs"}}`) and
`input_delay` (`"auto"` or frames). Agents are keyed by label (`mug.client.agents`: an int id 0 is "0").
It is parsed once, at the bridge (`MatchPlan.from_start`); a missing or ill-typed field is a `SpecError`
naming it. An absent `input_delay` is "auto", `GameScene`'s default (the server always sends it).
Peer ids in the lockstep session are the members' participant ids, so the page's transport and the worker
name peers the same way.

ONNX agents (`{"kind": "onnx", ...}`) get lockstep slots of their own after the humans' (len(members),
len(members)+1, ... in agent order), all owned by the member of slot 0 (`ONNX_OWNER_SLOT`): that peer runs
the models and enters their actions as those slots' inputs (`mug.client.match`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mug.client.agents import AgentId, from_label, ordered
from mug.client.lockstep.timing import MAX_INPUT_DELAY, MIN_INPUT_DELAY
from mug.client.onnx_policies import OnnxSpec
from mug.client.spec import SpecError

AUTO = "auto"
ONNX_OWNER_SLOT = 0  # the member whose peer runs the match's ONNX policies


def _field(start: Mapping[str, Any], name: str, kind: type, what: str) -> Any:
    if name not in start:
        raise SpecError(f"match_start has no {name!r} ({what})")
    value = start[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise SpecError(f"match_start field {name!r} must be {what}, not {value!r}")
    return value


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
        rejoin: this page was reloaded mid-match and rejoins it (the match so far comes from the peers).
        onnx: agent -> ONNX policy, for agents whose actions the owner enters through the lockstep.
        act_every: agent -> k, for policies (either kind) that act every k steps.
    """

    match_id: str
    seed: int
    slot: int
    members: tuple[str, ...]
    humans: dict[AgentId, int]
    policies: dict[AgentId, tuple[str, dict[str, Any]]]
    input_delay: int | None
    rejoin: bool = False
    onnx: dict[AgentId, OnnxSpec] = field(default_factory=dict)
    act_every: dict[AgentId, int] = field(default_factory=dict)

    @classmethod
    def from_start(cls, start: Mapping[str, Any]) -> MatchPlan:
        """Read a `match_start` payload.

        Raises:
            SpecError: a field is missing, ill-typed or inconsistent (the message names it); a ValueError.
        """
        if not isinstance(start, Mapping):
            raise SpecError(f"match_start is a JSON object, not {type(start).__name__}")
        match_id = str(_field(start, "match_id", str, "the match id"))
        seed = int(_field(start, "seed", int, "the match seed, a whole number"))
        slot = int(_field(start, "slot", int, "this participant's slot, a whole number"))
        members = tuple(str(m) for m in _field(start, "members", list, "the participant ids by slot, a list"))
        agents: Mapping[str, Any] = _field(start, "agents", Mapping, "an object of agent -> controller")
        humans: dict[AgentId, int] = {}
        policies: dict[AgentId, tuple[str, dict[str, Any]]] = {}
        onnx: dict[AgentId, OnnxSpec] = {}
        act_every: dict[AgentId, int] = {}
        by_id = {from_label(str(a)): c for a, c in agents.items()}
        for agent in ordered(by_id):
            ctrl = by_id[agent]
            where = f"match_start agent {agent!r}"
            if not isinstance(ctrl, Mapping) or ctrl.get("kind") not in ("human", "policy", "onnx"):
                raise SpecError(
                    f"{where}: expected {{kind: 'human', slot}}, {{kind: 'policy', ref, kwargs}} "
                    "or {kind: 'onnx', ...}"
                )
            if ctrl["kind"] == "human":
                humans[agent] = int(_field(ctrl, "slot", int, f"{where}'s slot, a whole number"))
            elif ctrl["kind"] == "onnx":
                onnx[agent] = OnnxSpec.parse(where, ctrl)
                act_every[agent] = onnx[agent].act_every
            else:
                ref = _field(ctrl, "ref", str, f"{where}'s policy 'package.module:callable'")
                policies[agent] = (ref, dict(ctrl.get("kwargs") or {}))
                every = ctrl.get("act_every", 1)
                if not isinstance(every, int) or isinstance(every, bool) or every < 1:
                    raise SpecError(f"{where}: 'act_every' must be a whole number of steps (1 or more), not {every!r}")
                act_every[agent] = every
        if not 0 <= slot < len(members):
            raise SpecError(f"match_start: slot {slot} is not one of the {len(members)} members' slots")
        if sorted(humans.values()) != list(range(len(members))):
            raise SpecError(
                f"match_start: human agents hold slots {sorted(humans.values())}, expected one per member "
                f"(0..{len(members) - 1})"
            )
        delay = start.get("input_delay", AUTO)
        input_delay = None
        if delay != AUTO:
            if not isinstance(delay, int) or isinstance(delay, bool):
                raise SpecError(f"match_start field 'input_delay' must be 'auto' or whole frames, not {delay!r}")
            input_delay = delay
            if not MIN_INPUT_DELAY <= input_delay <= MAX_INPUT_DELAY:  # GameScene refuses these at start-up
                raise SpecError(
                    f"match_start: input_delay {delay!r} is outside {MIN_INPUT_DELAY}..{MAX_INPUT_DELAY} frames"
                )
        rejoin = start.get("rejoin", False)
        if not isinstance(rejoin, bool):
            raise SpecError(f"match_start field 'rejoin' must be true or false, not {rejoin!r}")
        return cls(match_id, seed, slot, members, humans, policies, input_delay, rejoin, onnx, act_every)

    @property
    def onnx_slots(self) -> dict[AgentId, int]:
        """ONNX agent -> its lockstep slot (after the humans', in agent order)."""
        return {a: len(self.members) + i for i, a in enumerate(ordered(self.onnx))}

    @property
    def owns_onnx(self) -> bool:
        """Whether this peer runs the match's ONNX policies."""
        return bool(self.onnx) and self.slot == ONNX_OWNER_SLOT

    @property
    def local_slots(self) -> list[int]:
        """The slots this peer enters inputs for: its human's, and the ONNX agents' if it owns them."""
        return [self.slot, *(self.onnx_slots.values() if self.owns_onnx else ())]

    @property
    def slots(self) -> list[int]:
        """Every slot, ascending (the lockstep session's slots): the humans', then the ONNX agents'."""
        return sorted([*self.humans.values(), *self.onnx_slots.values()])

    @property
    def peers(self) -> dict[int, str]:
        """Slot -> peer id (the member's participant id; an ONNX agent's slot: the owner's)."""
        return {s: self.members[s if s < len(self.members) else ONNX_OWNER_SLOT] for s in self.slots}

    @property
    def local_peer(self) -> str:
        return self.members[self.slot]

    @property
    def local_agent(self) -> AgentId:
        """The agent this participant plays."""
        return next(a for a, s in self.humans.items() if s == self.slot)

    @property
    def agent_of_slot(self) -> dict[int, AgentId]:
        return {s: a for a, s in [*self.humans.items(), *self.onnx_slots.items()]}
