"""The peer <-> peer byte format: round trips, and rejection of malformed bytes with WireError only."""

from __future__ import annotations

import math
import random

import pytest

from mug.client.lockstep import wire
from mug.client.lockstep.wire import Inputs, Ping, Pong, Proposal, WireError, decode, encode

ACTIONS = [
    0,
    1,
    -1,
    63,
    -64,
    2**40,
    -(2**63),
    2**63 - 1,
    0.5,
    -0.0,
    1e300,
    None,
    True,
    False,
    "up",
    "",
    [1, 2.5, -3],
    [[1, [2]], []],
    "é",
]


@pytest.mark.parametrize("action", ACTIONS)
def test_action_round_trip(action: object) -> None:
    assert wire.decode_action(wire.encode_action(action)) == action
    assert type(wire.decode_action(wire.encode_action(action))) is type(action)


def test_nan_and_tuples_normalize() -> None:
    assert math.isnan(wire.normalize_action(float("nan")))
    assert wire.normalize_action((1, (2, 3))) == [1, [2, 3]]


@pytest.mark.parametrize(
    "action", [2**63, -(2**63) - 1, object(), {"a": 1}, [[[[[1]]]]], list(range(300)), "x" * 600]
)
def test_unencodable_actions_raise_wire_error(action: object) -> None:
    with pytest.raises(WireError):
        wire.encode_action(action)


def sample_messages() -> list[wire.Message]:
    return [
        Ping(0),
        Pong(65535),
        Proposal(3, True),
        Proposal(12, False),
        Inputs(5, 0, 3, (0,), (), 0, ()),
        Inputs(
            10, 7, 8, (1, 4), ((1, [0.5, -1.0]), (None, "a"), (True, 2**33)), 4, ("00ff", "abcdef0123456789")
        ),
    ]


@pytest.mark.parametrize("message", sample_messages())
def test_message_round_trip(message: wire.Message) -> None:
    data = encode(message)
    assert data[0] == wire.WIRE_VERSION
    assert decode(data) == message


def test_every_truncation_is_rejected() -> None:
    for message in sample_messages():
        data = encode(message)
        for cut in range(len(data)):
            with pytest.raises(WireError):
                decode(data[:cut])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (bytes([2, 1, 0, 0]), "version"),
        (bytes([1, 9, 0, 0]), "type"),
        (encode(Ping(1)) + b"\x00", "trailing"),
        (bytes([1, 3, 4, 2]), "flags"),
        (b"\x01" * (wire.MAX_MESSAGE_BYTES + 1), "exceeds"),
        (bytes([1, 4]) + bytes(12) + bytes([0, 2, 3, 1]) + bytes(5), "ascending"),
        (bytes([1, 4]) + bytes(12) + bytes([1, 1, 0, 0x07]) + bytes(5), "tag"),
        (bytes([1, 4]) + bytes(12) + bytes([1, 1, 0, 0x03]) + b"\xff" * 11, "varint"),
        (bytes([1, 4]) + bytes(12) + bytes([200, 0]) + bytes(5), "input frames"),
        (bytes([1, 4]) + bytes(12) + bytes([0, 0]) + bytes(4) + bytes([1, 0]), "checksum length"),
    ],
)
def test_malformed_messages_name_the_problem(data: bytes, reason: str) -> None:
    with pytest.raises(WireError, match=reason):
        decode(data)


def test_random_garbage_only_ever_raises_wire_error() -> None:
    rng = random.Random(7)
    valid = [encode(m) for m in sample_messages()]
    for i in range(5000):
        if i % 2:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 80)))
        else:  # mutate a valid message: the nastier case
            base = bytearray(rng.choice(valid))
            for _ in range(rng.randrange(1, 4)):
                base[rng.randrange(len(base))] = rng.randrange(256)
            data = bytes(base)
        try:
            decode(data)
        except WireError:
            pass


def test_not_bytes_is_rejected() -> None:
    with pytest.raises(WireError):
        decode("hello")  # type: ignore[arg-type]
