"""LobbyQueue: first-come-first-served grouping, leaving, timeouts; Matches registry."""

from __future__ import annotations

import pytest

from mug.server.lobby import LobbyError, LobbyQueue, Matched, Matches, TimedOut, Waiting


def pids(n: int, prefix: str = "p") -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


@pytest.mark.parametrize("size", [2, 3, 8])
def test_groups_form_when_full_in_join_order(size: int) -> None:
    lobby = LobbyQueue("game", size, timeout_s=60)
    people = pids(size * 3)
    formed: list[tuple[str, ...]] = []
    for t, pid in enumerate(people):
        notices = lobby.join(pid, float(t))
        assert len(notices) == 1
        n = notices[0]
        if isinstance(n, Matched):
            formed.append(n.match.members)
            assert n.to == n.match.members
            assert n.match.created_at == float(t)
            assert len(lobby) == 0
        else:
            assert isinstance(n, Waiting)
            assert n.waiting == tuple(people[len(formed) * size : t + 1])
            assert n.to == n.waiting
            assert n.needed == size - len(n.waiting)
    assert formed == [tuple(people[i : i + size]) for i in range(0, len(people), size)]


def test_slot_order_is_join_order() -> None:
    lobby = LobbyQueue("game", 3, timeout_s=None)
    lobby.join("carol", 0)
    w = lobby.join("alice", 1)[0]
    assert isinstance(w, Waiting)
    assert w.waiting == ("carol", "alice") and w.to == ("carol", "alice") and w.needed == 1
    (m,) = lobby.join("bob", 2)
    assert isinstance(m, Matched)
    assert m.match.members == ("carol", "alice", "bob") and m.to == m.match.members
    assert [m.match.slot_of(p) for p in ("carol", "alice", "bob")] == [0, 1, 2]
    assert m.match.scene_id == "game" and 0 <= m.match.seed < 2**31 and m.match.created_at == 2


def test_joining_again_keeps_the_first_join_time_and_deadline_order() -> None:
    lobby = LobbyQueue("game", 3, timeout_s=10)
    lobby.join("a", 0)
    lobby.join("b", 5)
    lobby.leave("a", 6)  # a's connection dropped
    lobby.join("a", 7, since=0)  # a reconnects and joins again: their wait started at 0
    assert lobby.waiting == ("a", "b") and lobby.next_deadline() == 10
    notices = lobby.tick(10)
    assert [n.participant_id for n in notices if isinstance(n, TimedOut)] == ["a"]


def test_group_of_one_matches_at_once() -> None:
    (m,) = LobbyQueue("solo", 1, timeout_s=10).join("a", 0)
    assert isinstance(m, Matched) and m.match.members == ("a",)


def test_leave_before_match_does_not_block_the_next_group() -> None:
    lobby = LobbyQueue("game", 2, timeout_s=60)
    lobby.join("a", 0)
    assert lobby.leave("a", 1) == []  # nobody left to tell
    assert isinstance(lobby.join("b", 2)[0], Waiting)
    (m,) = lobby.join("c", 3)
    assert isinstance(m, Matched) and m.match.members == ("b", "c")


def test_leave_in_the_middle_notifies_the_rest_in_order() -> None:
    lobby = LobbyQueue("game", 4, timeout_s=60)
    for t, p in enumerate("abc"):
        lobby.join(p, t)
    (w,) = lobby.leave("b", 5)
    assert isinstance(w, Waiting)
    assert w.to == ("a", "c") and w.waiting == ("a", "c") and w.needed == 2
    lobby.join("d", 6)
    (m,) = lobby.join("e", 7)
    assert isinstance(m, Matched) and m.match.members == ("a", "c", "d", "e")


def test_leave_when_not_waiting_is_a_noop() -> None:
    lobby = LobbyQueue("game", 2, timeout_s=60)
    assert lobby.leave("ghost", 0) == []
    lobby.join("a", 0)
    lobby.join("b", 1)  # matched, so no longer waiting
    assert lobby.leave("a", 2) == []


def test_joining_twice_raises() -> None:
    lobby = LobbyQueue("game", 3, timeout_s=60)
    lobby.join("a", 0)
    with pytest.raises(LobbyError) as err:
        lobby.join("a", 1)
    assert err.value.code == "already_waiting"
    assert lobby.waiting == ("a",)


def test_rejoin_after_leaving_goes_to_the_back() -> None:
    lobby = LobbyQueue("game", 3, timeout_s=60)
    lobby.join("a", 0)
    lobby.join("b", 1)
    lobby.leave("a", 2)
    lobby.join("a", 3)
    assert lobby.waiting == ("b", "a")


def test_tick_times_out_in_join_order_and_updates_the_rest() -> None:
    lobby = LobbyQueue("game", 4, timeout_s=10)
    lobby.join("a", 0)
    lobby.join("b", 4)
    lobby.join("c", 8)
    assert lobby.next_deadline() == 10
    assert lobby.tick(9.99) == []
    notices = lobby.tick(14)
    assert notices[0] == TimedOut("game", "a", 14)
    assert notices[1] == TimedOut("game", "b", 10)
    assert isinstance(notices[2], Waiting) and notices[2].waiting == ("c",) and notices[2].needed == 3
    assert notices[0].to == ("a",) and notices[0] == TimedOut("game", "a", 14)
    assert lobby.next_deadline() == 18
    assert lobby.tick(18) == [TimedOut("game", "c", 10)]  # nobody left: no Waiting
    assert lobby.next_deadline() is None and len(lobby) == 0


def test_no_timeout_never_times_out() -> None:
    lobby = LobbyQueue("game", 2, timeout_s=None)
    lobby.join("a", 0)
    assert lobby.tick(1e12) == [] and lobby.next_deadline() is None


def test_left_participant_does_not_time_out() -> None:
    lobby = LobbyQueue("game", 3, timeout_s=10)
    lobby.join("a", 0)
    lobby.join("b", 1)
    lobby.leave("a", 2)
    assert lobby.tick(10.5) == []
    assert lobby.tick(11) == [TimedOut("game", "b", 10)]


@pytest.mark.parametrize(("size", "timeout"), [(0, 10.0), (2, 0.0), (2, -1.0)])
def test_bad_settings_raise(size: int, timeout: float) -> None:
    with pytest.raises(ValueError, match="LobbyQueue 'g'"):
        LobbyQueue("g", size, timeout_s=timeout)


def test_seeds_and_ids_differ_per_match_and_ids_are_long() -> None:
    lobby = LobbyQueue("game", 2, timeout_s=None)
    notices = [n for i in range(400) for n in lobby.join(f"p{i}", i)]
    matches = [n.match for n in notices if isinstance(n, Matched)]
    assert len(matches) == 200
    assert len({m.id for m in matches}) == 200
    assert all(len(m.id) >= 22 for m in matches)  # token_urlsafe(16): 128 random bits
    assert all(0 <= m.seed < 2**31 for m in matches)
    assert len({m.seed for m in matches}) >= 199


def test_lobby_registers_matches_and_refuses_members_of_live_matches() -> None:
    reg = Matches()
    lobby = LobbyQueue("game", 2, timeout_s=60, matches=reg)
    lobby.join("a", 0)
    (m,) = lobby.join("b", 1)
    assert isinstance(m, Matched)
    assert reg.member_of("a") is m.match and reg.get(m.match.id) is m.match
    assert reg.peers_of("a") == ["b"] and reg.peers_of("b") == ["a"]
    with pytest.raises(LobbyError) as err:
        lobby.join("a", 2)
    assert err.value.code == "already_in_match"
    assert err.value.as_ack()["error"]["code"] == "already_in_match"
    assert reg.end(m.match.id, "finished", 3) is True
    assert reg.end(m.match.id, "again", 4) is False  # idempotent
    assert reg.is_ended(m.match.id) and reg.end_reason(m.match.id) == "finished"
    assert reg.member_of("a") is m.match and reg.live_match_of("a") is None and reg.peers_of("a") == []
    # After the end both may play again, with new partners.
    lobby.join("a", 5)
    lobby.join("c", 6)
    assert reg.member_of("a") is not m.match
    assert reg.get(m.match.id) is m.match  # still referenced by b
    reg.forget("b")
    assert reg.get(m.match.id) is None and len(reg) == 1  # old match dropped once nobody points at it


def test_registry_refuses_duplicates_and_unknown_ids() -> None:
    reg = Matches()
    lobby = LobbyQueue("game", 2, timeout_s=60)
    lobby.join("a", 0)
    (m,) = lobby.join("b", 1)
    assert isinstance(m, Matched)
    reg.add(m.match)
    with pytest.raises(LobbyError, match="already registered"):
        reg.add(m.match)
    with pytest.raises(LobbyError) as err:
        reg.end("nope", "x", 0)
    assert err.value.code == "unknown_match"
    assert reg.member_of("zed") is None and reg.peers_of("zed") == []


def test_forget_a_member_of_a_live_match_keeps_the_match() -> None:
    reg = Matches()
    lobby = LobbyQueue("game", 2, timeout_s=60, matches=reg)
    lobby.join("a", 0)
    (m,) = lobby.join("b", 1)
    assert isinstance(m, Matched)
    reg.forget("a")
    assert reg.get(m.match.id) is m.match and reg.member_of("a") is None


def test_form_partial_starts_everyone_waiting_in_join_order() -> None:
    matches = Matches()
    lobby = LobbyQueue("duo", group_size=3, timeout_s=10.0, matches=matches)
    assert lobby.form_partial(0.0) == []
    lobby.join("a", 0.0)
    lobby.join("b", 1.0)
    (notice,) = lobby.form_partial(11.0)
    assert isinstance(notice, Matched) and notice.match.members == ("a", "b")
    assert len(lobby) == 0 and matches.live_match_of("b") is notice.match


def test_match_ids_are_written_the_same_in_the_csv_export(monkeypatch: pytest.MonkeyPatch) -> None:
    # the export quotes cells beginning with "-"; an id drawn with that start is drawn again
    import secrets

    from mug.server.export import neutralise

    drawn = iter(["-8CS6vwZ3HxU9pD-tp_8qA", "_8CS6vwZ3HxU9pD-tp_8qA"])
    monkeypatch.setattr(secrets, "token_urlsafe", lambda n: next(drawn))
    lobby = LobbyQueue("game", 1, timeout_s=60)
    (n,) = lobby.join("p0", 0.0)
    assert isinstance(n, Matched) and n.match.id == "_8CS6vwZ3HxU9pD-tp_8qA"
    monkeypatch.undo()
    ids = [n.match.id for t in range(600) for n in lobby.join(f"q{t}", float(t)) if isinstance(n, Matched)]
    assert len(set(ids)) == 600 and all(neutralise(i) == i and len(i) == 22 for i in ids)
