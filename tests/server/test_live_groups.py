"""Kept groups and slot counts in the live state, for both implementations: `LocalState` (one process) and
`RedisState` (two instances on one redis-server stand for two server processes)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from mug.server.live import LiveState, LobbyRules, LocalState
from mug.server.lobby import Group, Match, Matched, Notice, Waiting

ROUND1 = LobbyRules("round1", 2, 60.0)
ROUND2 = LobbyRules("round2", 2, 60.0, "rotate")
BALANCED = LobbyRules("game", 2, 60.0, "balanced")


async def nothing(_: object) -> None:
    return None


@pytest.fixture(params=["local", pytest.param("redis", marks=pytest.mark.redis)])
async def two(request: pytest.FixtureRequest) -> AsyncIterator[tuple[LiveState, LiveState]]:
    """Two handles on one live state: the same `LocalState`, or two `RedisState` processes."""
    if request.param == "local":
        local = LocalState()
        yield local, local
        return
    from mug.server.live_redis import RedisState

    redis_server = request.getfixturevalue("redis_server")
    a, b = RedisState(redis_server.url, "exp"), RedisState(redis_server.url, "exp")
    for s in (a, b):
        await s.start(nothing)
    yield a, b
    for s in (a, b):
        await s.close()


def formed(notices: list[Notice]) -> list[Match]:
    return [n.match for n in notices if isinstance(n, Matched)]


async def test_a_kept_pair_meets_again_with_swapped_slots_and_a_stranger_is_not_taken(
    two: tuple[LiveState, LiveState],
) -> None:
    a, b = two
    (m1,) = formed(await a.lobby_join(ROUND1, "alice", 1.0, None) + await b.lobby_join(ROUND1, "bob", 2.0, None))
    assert m1.members == ("alice", "bob") and m1.group_id == m1.id
    for state in (a, b):  # every process sees the group and the slots counted
        assert await state.group_of("alice") == await state.group_of("bob") == Group(m1.id, ("alice", "bob"))
        assert await state.slot_counts("alice") == {0: 1} and await state.slot_counts("bob") == {1: 1}
    await a.end(m1.id, "finished", 3.0)
    await a.prune(m1, connected=lambda pid: True)
    group = await b.group_of("alice")
    assert await a.lobby_join(ROUND2, "alice", 10.0, None, group) == [Waiting("round2", ("alice",), ("alice",), 1)]
    # a stranger arriving on the other process waits apart
    assert await b.lobby_join(ROUND2, "carol", 11.0, None) == [Waiting("round2", ("carol",), ("carol",), 1)]
    assert await a.in_lobby(ROUND2, "alice") and await a.in_lobby(ROUND2, "carol")
    (m2,) = formed(await b.lobby_join(ROUND2, "bob", 12.0, None, await a.group_of("bob")))
    assert m2.members == ("bob", "alice") and m2.group_id == m1.id, "the same group, roles swapped"
    assert await a.live_match_of("bob") == m2 == await b.live_match_of("alice")
    assert await b.slot_counts("alice") == {0: 1, 1: 1} == await a.slot_counts("bob")
    assert await a.group_of("alice") == Group(m1.id, ("bob", "alice"))
    assert not await b.in_lobby(ROUND2, "alice") and await b.in_lobby(ROUND2, "carol")


async def test_kept_pairs_arriving_at_once_on_two_processes_each_form_once(two: tuple[LiveState, LiveState]) -> None:
    a, b = two
    pairs = [Group(f"g{i}", (f"p{i}a", f"p{i}b")) for i in range(6)]
    joins = [(g, pid) for g in pairs for pid in g.members]
    results = await asyncio.gather(
        *((a if i % 2 else b).lobby_join(ROUND2, pid, 100.0 + i, None, g) for i, (g, pid) in enumerate(joins))
    )
    matches = [m for notices in results for m in formed(notices)]
    assert sorted((m.group_id, m.members) for m in matches) == [(g.id, g.members[::-1]) for g in pairs]
    for g in pairs:
        for pid in g.members:
            assert not await a.in_lobby(ROUND2, pid)
            assert await b.slot_counts(pid) == {g.members[::-1].index(pid): 1}


async def test_balanced_slots_count_across_processes_and_scenes(two: tuple[LiveState, LiveState]) -> None:
    a, b = two
    seen = []
    for r in range(4):  # the same two meet four times, alice always first, on alternating processes
        first, second = (a, b) if r % 2 else (b, a)
        await first.lobby_join(BALANCED, "alice", 10.0 * r, None)
        (m,) = formed(await second.lobby_join(BALANCED, "bob", 10.0 * r + 1, None))
        seen.append(m.members)
        await first.end(m.id, "finished", 10.0 * r + 2)
        await first.prune(m, connected=lambda pid: True)
    assert sorted(seen) == [("alice", "bob")] * 2 + [("bob", "alice")] * 2
    assert await a.slot_counts("alice") == {0: 2, 1: 2} == await b.slot_counts("bob")


async def test_a_member_waiting_for_a_kept_group_can_be_released_to_strangers(two: tuple[LiveState, LiveState]) -> None:
    a, b = two
    pair = Group("g", ("alice", "bob"))
    await a.lobby_join(ROUND2, "alice", 1.0, None, pair)
    assert await b.lobby_kept(ROUND2) == {"alice": pair}
    assert await b.lobby_release(ROUND2, "alice", 2.0) == [Waiting("round2", ("alice",), ("alice",), 1)]
    assert await a.lobby_kept(ROUND2) == {} and await a.in_lobby(ROUND2, "alice")
    assert await a.lobby_release(ROUND2, "alice", 2.0) == []
    (m,) = formed(await a.lobby_join(ROUND2, "zoe", 3.0, None))
    assert m.members == ("alice", "zoe") and m.group_id == m.id


async def test_round_trips_are_shared_and_keep_far_strangers_apart(two: tuple[LiveState, LiveState]) -> None:
    a, b = two
    near = LobbyRules("near", 2, 60.0, max_rtt_ms=100.0)
    await a.lobby_join(near, "far", 1.0, None, rtt_ms=90.0)
    await b.lobby_join(near, "slow", 2.0, None, rtt_ms=40.0)  # 90 + 40: apart
    assert await a.in_lobby(near, "far") and await a.in_lobby(near, "slow")
    (m,) = formed(await a.lobby_join(near, "quick", 3.0, None, rtt_ms=10.0))  # 90 + 10 fits, far came first
    assert m.members == ("far", "quick")
    (m,) = formed(await b.lobby_join(near, "fast", 4.0, None, rtt_ms=60.0))
    assert m.members == ("slow", "fast")
    assert not await a.in_lobby(near, "slow") and not await b.in_lobby(near, "far")
