"""Agent ids: what PettingZoo accepts (str or int), written as text wherever JSON or CSV needs a string.

PettingZoo agent ids may be integers (published envs use 0, 1, ...). JSON object keys and the exported
tables are text, so every id has one label:

- an int id is its decimal text: `0` -> `"0"`, `-3` -> `"-3"`;
- a str id is itself (`"left"` -> `"left"`), unless it would read as an int or starts with a double
  quote: then it is JSON-quoted (`"0"` -> `'"0"'`, i.e. the five characters `"0"` with the quotes).

So `label(0) == "0"` and `label("0") == '"0"'`: an int id and a str id never share a label, and the common
cases (all str names, or all int ids) read naturally. `from_label` reverses it. Labels name agents in the
scene spec and `match_start` the page receives, in step rows (`action`, `reward` and `info` keyed by agent)
and in `matches.csv`.

Order: agents are sorted by `order_key`: ints first, ascending; then strs, alphabetically. Human slots are
given in this order, and a joint Gymnasium action's Tuple entries follow it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

AgentId = str | int

_INT = re.compile(r"-?[0-9]+")


def check_agent_id(value: Any) -> AgentId:
    """Return `value` if it is an agent id MUG can name (a non-empty str or an int, not a bool).

    Raises:
        ValueError: anything else; the message says what is accepted.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f"agent id {value!r}: use a str or an int, as the environment's possible_agents do")
    if value == "":
        raise ValueError("agent id '': use a non-empty name (an empty agent names a whole-step row)")
    return value


def label(agent: AgentId) -> str:
    """The agent's text label (see the module docstring)."""
    if isinstance(agent, int) and not isinstance(agent, bool):
        return str(agent)
    if not isinstance(agent, str):
        raise ValueError(f"agent id {agent!r}: use a str or an int")
    if _INT.fullmatch(agent) or agent.startswith('"'):
        return json.dumps(agent)
    return agent


def from_label(text: str) -> AgentId:
    """The agent id a label stands for (the inverse of `label`)."""
    if _INT.fullmatch(text):
        return int(text)
    if text.startswith('"'):
        value = json.loads(text)
        if not isinstance(value, str):
            raise ValueError(f"agent label {text!r} is not a quoted name")
        return value
    return text


def order_key(agent: AgentId) -> tuple[int, int, str]:
    """Sort key: ints first (ascending), then strs (alphabetically)."""
    if isinstance(agent, int):
        return (0, agent, "")
    return (1, 0, agent)


def ordered(agents: Iterable[AgentId]) -> list[AgentId]:
    """The agents sorted by `order_key`."""
    return sorted(agents, key=order_key)


def by_label(values: dict[AgentId, Any]) -> dict[str, Any]:
    """A dict keyed by agent id -> the same dict keyed by label, in agent order (for JSON rows)."""
    return {label(a): values[a] for a in ordered(values)}
