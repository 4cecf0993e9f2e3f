"""Agent ids (str or int, as PettingZoo has them) and their text labels."""

from __future__ import annotations

import pytest

from mug.client.agents import by_label, check_agent_id, from_label, label, ordered


@pytest.mark.parametrize(
    ("agent", "text"),
    [
        (0, "0"),
        (12, "12"),
        (-3, "-3"),
        ("left", "left"),
        ("0", '"0"'),
        ("-3", '"-3"'),
        ('"q', '"\\"q"'),
        ("a 1", "a 1"),
    ],
)
def test_labels_are_readable_and_reversible(agent: str | int, text: str) -> None:
    assert label(agent) == text
    assert from_label(text) == agent and type(from_label(text)) is type(agent)


def test_an_int_id_and_a_str_id_never_share_a_label() -> None:
    assert label(0) != label("0")
    assert by_label({"0": 1, 0: 2}) == {"0": 2, '"0"': 1}


def test_agent_order_puts_ints_first_numerically_then_names() -> None:
    assert ordered(["b", 10, "a", 2, 0]) == [0, 2, 10, "a", "b"]


@pytest.mark.parametrize("bad", [True, 1.5, None, "", ("a",)])
def test_only_str_and_int_ids_are_accepted(bad: object) -> None:
    with pytest.raises(ValueError, match="agent id"):
        check_agent_id(bad)
