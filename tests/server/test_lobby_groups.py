"""LobbyQueue beyond first come, first served: kept groups, and slots by arrival, rotation or balance."""

from __future__ import annotations

import pytest

from mug.server.lobby import Group, LobbyQueue, Matched, Notice, TimedOut, Waiting, assign_slots


def matched(notices: list[Notice]) -> Matched:
    (only,) = notices
    assert isinstance(only, Matched), only
    return only


def test_a_kept_group_waits_for_its_own_members_not_for_strangers() -> None:
    lobby = LobbyQueue("round2", 2, timeout_s=60)
    pair = Group("g1", ("alice", "bob"))
    assert lobby.join("alice", 0.0, group=pair) == [Waiting("round2", ("alice",), ("alice",), 1)]
    # a stranger arriving next is not alice's partner: both wait, apart
    assert lobby.join("carol", 1.0) == [Waiting("round2", ("carol",), ("carol",), 1)]
    assert lobby.waiting == ("alice", "carol") and lobby.kept == {"alice": pair}
    m = matched(lobby.join("bob", 2.0, group=pair)).match
    assert sorted(m.members) == ["alice", "bob"] and m.group_id == "g1" and m.group == Group("g1", m.members)
    assert lobby.waiting == ("carol",) and lobby.kept == {}
    # strangers still form their own groups, each a new group named by its first match
    s = matched(lobby.join("dave", 3.0)).match
    assert s.members == ("carol", "dave") and s.group_id == s.id


def test_two_kept_groups_and_strangers_never_mix() -> None:
    lobby = LobbyQueue("round2", 2, timeout_s=None)
    g1, g2 = Group("g1", ("a", "b")), Group("g2", ("c", "d"))
    lobby.join("a", 0.0, group=g1)
    lobby.join("c", 1.0, group=g2)
    lobby.join("x", 2.0)
    assert len(lobby) == 3
    assert matched(lobby.join("d", 3.0, group=g2)).match.group_id == "g2"
    assert matched(lobby.join("b", 4.0, group=g1)).match.group_id == "g1"
    assert lobby.waiting == ("x",)


def test_a_kept_member_who_leaves_or_times_out_tells_only_their_group() -> None:
    lobby = LobbyQueue("round2", 3, timeout_s=10)
    trio = Group("g", ("a", "b", "c"))
    lobby.join("a", 0.0, group=trio)
    lobby.join("b", 5.0, group=trio)
    lobby.join("x", 6.0)
    assert lobby.leave("b", 7.0) == [Waiting("round2", ("a",), ("a",), 2)]
    assert lobby.tick(10.0) == [TimedOut("round2", "a", 10.0)]  # no Waiting: nobody else waits for g
    assert lobby.waiting == ("x",)
    assert lobby.tick(16.0) == [TimedOut("round2", "x", 10.0)]


def test_a_partial_match_takes_the_first_waiters_section_and_starts_a_new_group() -> None:
    lobby = LobbyQueue("round2", 3, timeout_s=10)
    trio = Group("g", ("a", "b", "c"))
    lobby.join("x", 0.0)
    lobby.join("a", 1.0, group=trio)
    lobby.join("b", 2.0, group=trio)
    m = matched(lobby.form_partial(10.0)).match
    assert m.members == ("x",) and m.group_id == m.id
    m = matched(lobby.form_partial(11.0)).match
    assert m.members == ("a", "b") and m.group_id == m.id, "fewer than the group: a group of its own"
    assert lobby.form_partial(12.0) == []


def test_a_group_that_does_not_name_the_joiner_or_has_another_size_is_refused() -> None:
    lobby = LobbyQueue("round2", 2, timeout_s=None)
    with pytest.raises(ValueError, match="cannot wait for group 'g'"):
        lobby.join("zoe", 0.0, group=Group("g", ("a", "b")))
    with pytest.raises(ValueError, match="needs 2"):
        lobby.join("a", 0.0, group=Group("g", ("a", "b", "c")))
    with pytest.raises(ValueError, match="slots must be one of arrival, balanced, rotate"):
        LobbyQueue("round2", 2, timeout_s=None, slots="random")  # type: ignore[arg-type]


def test_rotate_swaps_a_pair_round_after_round_and_moves_a_trio_one_slot_down() -> None:
    assert assign_slots(["b", "a"], "rotate", previous=Group("g", ("a", "b"))) == ("b", "a")
    assert assign_slots(["a", "b"], "rotate", previous=Group("g", ("b", "a"))) == ("a", "b")
    trio = Group("g", ("a", "b", "c"))
    assert assign_slots(["c", "a", "b"], "rotate", previous=trio) == ("b", "c", "a")
    assert assign_slots(["a", "x"], "rotate", previous=Group("g", ("a", "b"))) == ("a", "x"), "not the group"
    assert assign_slots(["b", "a"], "rotate") == ("b", "a"), "a new group takes arrival order"
    assert assign_slots(["b", "a"], "arrival", previous=Group("g", ("a", "b"))) == ("b", "a")


def test_a_kept_pair_with_rotated_slots_swaps_roles_over_three_rounds() -> None:
    first = LobbyQueue("r1", 2, timeout_s=None)
    first.join("bob", 0.0)
    m1 = matched(first.join("alice", 1.0)).match
    assert m1.members == ("bob", "alice")
    group = m1.group
    members = []
    for scene in ("r2", "r3"):
        lobby = LobbyQueue(scene, 2, timeout_s=None, slots="rotate")
        lobby.join("bob", 0.0, group=group)  # bob first again: arrival order would keep him in slot 0
        m = matched(lobby.join("alice", 1.0, group=group)).match
        assert m.group_id == m1.id
        members.append(m.members)
        group = m.group
    assert members == [("alice", "bob"), ("bob", "alice")]


def test_balanced_slots_give_everyone_each_slot_equally_often() -> None:
    counts: dict[str, dict[int, int]] = {}
    lobby = LobbyQueue("game", 2, timeout_s=None, slots="balanced", slot_counts=counts)
    order = []
    for round_ in range(4):  # the same two, alice always first to arrive
        lobby.join("alice", float(round_))
        order.append(matched(lobby.join("bob", round_ + 0.5)).match.members)
    assert order.count(("alice", "bob")) == 2 and order.count(("bob", "alice")) == 2
    assert counts == {"alice": {0: 2, 1: 2}, "bob": {0: 2, 1: 2}}
    assert lobby.formed == 4


def test_balanced_slots_read_each_members_history() -> None:
    history = {"a": {0: 3}, "b": {1: 1}, "c": {0: 1, 1: 1}}
    assert assign_slots(["a", "b"], "balanced", history) == ("b", "a")
    assert assign_slots(["a", "c"], "balanced", history) == ("c", "a")
    # strangers with no history: equal orders alternate match by match
    assert assign_slots(["x", "y"], "balanced", {}, formed=0) == ("x", "y")
    assert assign_slots(["x", "y"], "balanced", {}, formed=1) == ("y", "x")
    # past the exact search: each member in arrival order takes their least used free slot
    eight = [f"p{i}" for i in range(8)]
    assert assign_slots(eight, "balanced", {"p0": {0: 1}}) == ("p1", "p0", *eight[2:])


def test_a_released_member_waits_with_the_strangers_and_keeps_their_place_in_time() -> None:
    lobby = LobbyQueue("round2", 2, timeout_s=10)
    pair, trio = Group("g", ("a", "b")), Group("h", ("c", "d", "e"))
    lobby.join("a", 0.0, group=pair)
    assert lobby.release("a", 1.0) == [Waiting("round2", ("a",), ("a",), 1)]
    assert lobby.kept == {} and lobby.release("a", 1.0) == [], "released once"
    assert lobby.waits == {"a": 0.0}
    m = matched(lobby.join("x", 2.0)).match
    assert m.members == ("a", "x") and m.group_id == m.id
    big = LobbyQueue("round2", 3, timeout_s=10)
    big.join("c", 0.0, group=trio)
    big.join("d", 1.0, group=trio)
    assert big.release("c", 2.0) == [
        Waiting("round2", ("c",), ("c",), 2),
        Waiting("round2", ("d",), ("d",), 2),
    ]
    assert big.tick(10.0) == [TimedOut("round2", "c", 10.0)]


def test_strangers_group_only_when_their_round_trips_add_up_to_the_limit_at_most() -> None:
    lobby = LobbyQueue("game", 2, timeout_s=10, max_rtt_ms=100)
    lobby.join("far", 0.0, rtt_ms=80)
    lobby.join("unknown", 1.0)  # not measured: groups with nobody
    assert lobby.join("near", 2.0, rtt_ms=30) == [
        Waiting("game", ("far", "unknown", "near"), ("far", "unknown", "near"), 1)
    ]
    m = matched(lobby.join("close", 3.0, rtt_ms=20)).match  # 30 + 20 <= 100; 80 + 20 = 100 fits too, far came first
    assert m.members == ("far", "close")
    m = matched(lobby.join("also", 4.0, rtt_ms=70)).match  # 30 + 70 = 100
    assert m.members == ("near", "also")
    assert lobby.waiting == ("unknown",) and lobby.rtts == {}
    assert lobby.tick(11.0) == [TimedOut("game", "unknown", 10.0)]


def test_a_trio_within_the_limit_is_chosen_from_the_newcomer_in_arrival_order() -> None:
    lobby = LobbyQueue("game", 3, timeout_s=None, max_rtt_ms=100)
    for t, (pid, ms) in enumerate([("a", 60.0), ("b", 30.0), ("c", 50.0)]):
        lobby.join(pid, float(t), rtt_ms=ms)  # a+b fit, a+c do not, b+c do
    m = matched(lobby.join("d", 3.0, rtt_ms=20.0)).match  # d fits a and b, and a+b fit: a, b, d
    assert m.members == ("a", "b", "d") and lobby.rtts == {"c": 50.0}
    partial = LobbyQueue("game", 3, timeout_s=1, max_rtt_ms=100)
    partial.join("a", 0.0, rtt_ms=90.0)
    partial.join("b", 0.5, rtt_ms=20.0)
    assert matched(partial.form_partial(1.0)).match.members == ("a",), "with AI: only who fits the first"


def test_a_kept_group_ignores_the_round_trip_limit() -> None:
    lobby = LobbyQueue("round2", 2, timeout_s=None, max_rtt_ms=10, slots="rotate")
    pair = Group("g", ("a", "b"))
    lobby.join("a", 0.0, group=pair, rtt_ms=200.0)
    assert matched(lobby.join("b", 1.0, group=pair)).match.members == ("b", "a")
