"""The peer <-> peer byte format: round trips, and rejection of malformed bytes with PeerMessageError only."""

from __future__ import annotations

import math
import random
import zlib

import pytest

from mug.client.lockstep import wire
from mug.client.lockstep.wire import Inputs, PeerMessageError, Ping, Pong, Proposal, decode, encode, wire_checksum

V = wire.WIRE_VERSION

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


@pytest.mark.parametrize("action", [2**63, -(2**63) - 1, object(), {"a": 1}, [[[[[1]]]]], list(range(300)), "x" * 600])
def test_unencodable_actions_raise_wire_error(action: object) -> None:
    with pytest.raises(PeerMessageError):
        wire.encode_action(action)


def sample_messages() -> list[wire.Message]:
    return [
        Ping(0),
        Ping(7, -40),
        Ping(65535, 32767),
        Pong(65535),
        Proposal(3, True),
        Proposal(12, False),
        Inputs(5, 0, 3, (0,), (), 0, ()),
        Inputs(10, 7, 8, (1, 4), ((1, [0.5, -1.0]), (None, "a"), (True, 2**33)), 4, (0, 0xFFFFFFFF, 0x1234ABCD)),
        Inputs(2**32 - 1, 2**32 - 1, 0, (0,), ((0,),) * 64, 100, tuple(range(64))),
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
            with pytest.raises(PeerMessageError):
                decode(data[:cut])


INPUTS_HEAD = bytes([V, 4]) + bytes(12)  # version, type, input_ack, checksum_ack, input_start


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (bytes([V + 1, 1, 0, 0]), "version"),
        (bytes([1, 1, 0, 0]), "wire version 1"),  # a peer on the MUG before binary checksums
        (bytes([V, 9, 0, 0]), "type"),
        (encode(Ping(1)) + b"\x00", "trailing"),
        (bytes([V, 3, 4, 2]), "flags"),
        (b"\x01" * (wire.MAX_MESSAGE_BYTES + 1), "exceeds"),
        (INPUTS_HEAD + bytes([0, 2, 3, 1]) + bytes(5), "ascending"),
        (INPUTS_HEAD + bytes([1, 1, 0, 0x07]) + bytes(5), "tag"),
        (INPUTS_HEAD + bytes([1, 1, 0, 0x03]) + b"\xff" * 11, "varint"),
        (INPUTS_HEAD + bytes([200, 0]) + bytes(5), "input frames"),
        (INPUTS_HEAD + bytes([0, 0]) + bytes(4) + bytes([65]) + bytes(4 * 65), "65 checksums"),
        (INPUTS_HEAD + bytes([0, 0]) + bytes(4) + bytes([2]) + bytes(7), "truncated"),  # 2 checksums, 7 bytes
        (INPUTS_HEAD + bytes([0, 0]) + bytes(4) + bytes([1]) + bytes(5), "trailing"),
    ],
)
def test_malformed_messages_name_the_problem(data: bytes, reason: str) -> None:
    with pytest.raises(PeerMessageError, match=reason):
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
        except PeerMessageError:
            pass


def test_not_bytes_is_rejected() -> None:
    with pytest.raises(PeerMessageError):
        decode("hello")  # type: ignore[arg-type]


def test_inputs_layout_byte_by_byte() -> None:
    """The documented offsets: header, slots, actions, then u32 checksums (4 bytes per frame)."""
    data = encode(Inputs(0x01020304, 5, 6, (2,), ((0,), (1,)), 3, (0xDEADBEEF, 7)))
    assert data == (
        bytes([V, 4, 1, 2, 3, 4, 0, 0, 0, 5, 0, 0, 0, 6, 2, 1, 2])  # ..., n=2 frames, k=1 slot, slot 2
        + bytes([0x03, 0x00, 0x03, 0x02])  # int 0, int 1 (zigzag varints)
        + bytes([0, 0, 0, 3, 2])  # checksum_start 3, m=2
        + bytes([0xDE, 0xAD, 0xBE, 0xEF, 0, 0, 0, 7])
    )
    pure_ack = encode(Inputs(9, 9, 9, (0, 1, 2), (), 0, ()))
    assert len(pure_ack) == 21 + 3


@pytest.mark.parametrize("value", [-1, 2**32, "00ff", 1.0, None])
def test_checksums_must_be_u32(value: object) -> None:
    with pytest.raises(PeerMessageError, match="u32"):
        encode(Inputs(0, 0, 0, (0,), (), 0, (value,)))  # type: ignore[arg-type]


def test_wire_checksum_is_the_crc32_of_the_reported_text() -> None:
    text = "abcdef0123456789"  # what mug.client.checksum returns: 16 hex characters
    assert wire_checksum(text) == zlib.crc32(text.encode()) == wire_checksum(text)
    assert 0 <= wire_checksum("0" * wire.MAX_CHECKSUM_CHARS) <= wire.MAX_CHECKSUM
    # Differences a truncation to 32 bits would miss (only the high half differs) are still seen.
    assert wire_checksum("1234567800000000") != wire_checksum("0000000000000000")
    # CRC-32 sees every difference within 4 consecutive characters, wherever it is.
    rng = random.Random(3)
    for _ in range(2000):
        base = "".join(rng.choice("0123456789abcdef") for _ in range(16))
        at = rng.randrange(13)
        other = base[:at] + "".join(rng.choice("0123456789abcdef") for _ in range(4)) + base[at + 4 :]
        assert (wire_checksum(base) == wire_checksum(other)) == (base == other)


@pytest.mark.parametrize("text", ["", "x" * (wire.MAX_CHECKSUM_CHARS + 1), "é", 5])
def test_wire_checksum_refuses_what_report_checksum_refuses(text: object) -> None:
    with pytest.raises(PeerMessageError, match="ASCII"):
        wire_checksum(text)  # type: ignore[arg-type]
