"""Signaling relay: routing within one match only, and every refusal."""

from __future__ import annotations

from typing import Any

import pytest

from mug.server.lobby import LobbyQueue, Match, Matched, Matches
from mug.server.signaling import MAX_PAYLOAD_BYTES, SignalingError, route


def make_match(reg: Matches, lobby: LobbyQueue, members: list[str]) -> Match:
    notices = [n for i, p in enumerate(members) for n in lobby.join(p, float(i))]
    m = notices[-1]
    assert isinstance(m, Matched)
    return m.match


@pytest.fixture
def world() -> tuple[Matches, Match, Match]:
    reg = Matches()
    lobby = LobbyQueue("game", 3, timeout_s=60, matches=reg)
    return reg, make_match(reg, lobby, ["a0", "a1", "a2"]), make_match(reg, lobby, ["b0", "b1", "b2"])


OFFER: dict[str, Any] = {"kind": "offer", "data": {"type": "offer", "sdp": "v=0\r\n..."}}


def code_of(reg: Matches, sender: str, target: Any, payload: Any) -> str:
    with pytest.raises(SignalingError) as err:
        route(reg, sender, target, payload)
    assert err.value.message and err.value.as_ack()["ok"] is False
    return err.value.code


def test_route_by_slot() -> None:
    reg = Matches()
    a = make_match(reg, LobbyQueue("game", 3, timeout_s=60, matches=reg), ["a0", "a1", "a2"])
    to, msg = route(reg, "a0", 2, OFFER)
    assert to == "a2" and msg.event == "signal"
    assert msg.payload() == {"kind": "offer", "data": OFFER["data"], "from": {"pid": "a0", "slot": 0}, "match_id": a.id}
    to, msg = route(reg, "a2", 1, {"kind": "candidate", "data": None})
    assert to == "a1" and msg.payload()["from"] == {"pid": "a2", "slot": 2} and msg.data is None


@pytest.mark.parametrize("kind", ["offer", "answer", "candidate", "bye"])
def test_every_kind_is_relayed_untouched(world: tuple[Matches, Match, Match], kind: str) -> None:
    reg, _, _ = world
    data = {"anything": [1, "two", None], "nested": {"sdp": "x"}}
    _, msg = route(reg, "a1", 0, {"kind": kind, "data": data})
    assert msg.kind == kind and msg.data == data


def test_isolation_between_matches(world: tuple[Matches, Match, Match]) -> None:
    reg, _, _ = world
    # A slot is always interpreted inside the sender's own match: nobody can name a participant elsewhere.
    assert route(reg, "b0", 1, OFFER)[0] == "b1"
    assert route(reg, "a0", 1, OFFER)[0] == "a1"


def test_sender_not_in_a_match(world: tuple[Matches, Match, Match]) -> None:
    reg, _, _ = world
    assert code_of(reg, "nobody", 0, OFFER) == "not_in_match"


def test_ended_match_refuses_signaling(world: tuple[Matches, Match, Match]) -> None:
    reg, a, _ = world
    reg.end(a.id, "peer_left", 10)
    assert code_of(reg, "a0", 1, OFFER) == "match_ended"
    assert code_of(reg, "a1", 0, {"kind": "bye", "data": None}) == "match_ended"
    assert route(reg, "b0", 1, OFFER)[0] == "b1"  # the other match is unaffected


def test_self_target(world: tuple[Matches, Match, Match]) -> None:
    reg, _, _ = world
    assert code_of(reg, "a1", 1, OFFER) == "self_target"


@pytest.mark.parametrize("target", [3, -1, True, 1.0, None, ["a1"], "a1"])
def test_bad_targets(world: tuple[Matches, Match, Match], target: Any) -> None:
    reg, _, _ = world
    assert code_of(reg, "a0", target, OFFER) == "bad_target"


@pytest.mark.parametrize(
    "payload",
    [
        None,
        "offer",
        ["offer", {}],
        {},
        {"kind": "offer"},
        {"data": {}},
        {"kind": "hello", "data": {}},
        {"kind": "OFFER", "data": {}},
        {"kind": 1, "data": {}},
        {"kind": "offer", "data": {}, "from": {"pid": "a2", "slot": 2}},  # no spoofing the sender
        {"kind": "offer", "data": b"bytes"},
        {"kind": "offer", "data": float("nan")},
        {"kind": "offer", "data": {1: object()}},
    ],
)
def test_bad_payloads(world: tuple[Matches, Match, Match], payload: Any) -> None:
    reg, _, _ = world
    assert code_of(reg, "a0", 1, payload) == "bad_payload"


def test_payload_size_limit(world: tuple[Matches, Match, Match]) -> None:
    reg, _, _ = world
    overhead = len('{"kind":"offer","data":""}')
    fits = {"kind": "offer", "data": "x" * (MAX_PAYLOAD_BYTES - overhead)}
    assert route(reg, "a0", 1, fits)[0] == "a1"
    over = {"kind": "offer", "data": "x" * (MAX_PAYLOAD_BYTES - overhead + 1)}
    assert code_of(reg, "a0", 1, over) == "payload_too_large"
    # Counted in UTF-8 bytes, not characters.
    wide = {"kind": "offer", "data": "é" * (MAX_PAYLOAD_BYTES // 2)}
    assert code_of(reg, "a0", 1, wide) == "payload_too_large"


def test_payload_checked_before_membership() -> None:
    # A stranger sending junk learns only that the junk is junk.
    assert code_of(Matches(), "nobody", 0, {"kind": "x", "data": 1}) == "bad_payload"
