"""Peer <-> peer lockstep messages: a closed set of typed messages, encoded byte by byte.

Every message starts with the same two bytes:

    offset  size  field
    0       1     version      WIRE_VERSION (3); anything else is rejected
    1       1     type         1 PING, 2 PONG, 3 PROPOSAL, 4 INPUTS, 5 REJOIN, 6 HISTORY

PING (6 bytes): `seq` u16 big-endian, then `slack` i16 big-endian: how many milliseconds before they were
    due the recipient's inputs reached the sender lately (the median over its last `SLACK_WINDOW_FRAMES`
    frames; negative: after; -32768: not measured yet). Peers use it to share the slack evenly
    (see `mug.client.lockstep.timing.PHASE_DEADBAND_MS`).
PONG (4 bytes): `seq` u16 big-endian, the PING's. The pinger keeps the send time itself, so no clock value
    crosses the wire. (Version 2 had no `slack` in PING.)
PROPOSAL (4 bytes): `delay` u8 (the input delay this peer proposes, MIN..MAX_INPUT_DELAY), `flags` u8
    (bit 0: "I have your proposal"; other bits must be 0).
INPUTS (variable; all integers big-endian):
    offset      size   field
    2           4      input_ack       u32, the next input frame the sender needs from the recipient
                                       (all earlier ones received)
    6           4      checksum_ack    u32, the next checksum frame the sender needs from the recipient
    10          4      input_start     u32, frame of the first input carried
    14          1      input_frames    u8 n, consecutive frames carried (<= MAX_FRAMES_PER_MESSAGE)
    15          1      slot_count      u8 k, the sender's slots (each frame carries one action per slot)
    16          k      slots           k x u8, the sender's slot ids, ascending
    16+k        var    actions         n*k actions, frame-major: frame input_start's action for each slot,
                                       then the next frame's... (encoding below)
    a           4      checksum_start  u32, frame of the first checksum carried
    a+4         1      checksum_count  u8 m (<= MAX_FRAMES_PER_MESSAGE)
    a+5         4*m    checksums       m x u32, the checksums of consecutive frames from checksum_start

    (a = 16 + k + the bytes of the actions.) A message with n = 0 and m = 0 is a pure acknowledgement
    (21 + k bytes).
REJOIN (6 bytes): `nonce` u32. Sent by a session that rejoins a running match (its page was reloaded): "send
    me the match so far". Goes over the reliable channel.
HISTORY (10 + p bytes): `nonce` u32 (the REJOIN's), `index` u16, `total` u16, then p bytes: chunk `index` of
    `total` of the history (see `encode_history`), over the reliable, ordered channel.

A checksum on the wire is 32 bits: `wire_checksum(text)`, the CRC-32 of the ASCII checksum the caller
reports (a 16-hex-character SHA-256 prefix from `mug.client.checksum`). Version 1 carried the text itself
(1 + 16 bytes per frame, re-sent in every message until acknowledged); 4 raw bytes keep messages small
enough for the data channel's congestion window at high round trips with loss. 32 bits are enough to
locate a desync: a diverged frame goes unnoticed at its own frame only if the two CRCs collide (about 1
in 4 billion; CRC-32 never misses a difference within 4 consecutive characters), and a divergence that
persists is then caught at the next frame. The server's comparison of the members' full step records
stays the authoritative check.

An action (JSON-able: None, bool, int, float, str, or a list of them) is a tag byte and a payload:

    0x00 None   0x01 False   0x02 True
    0x03 int    zigzag LEB128 varint (signed 64-bit range)
    0x04 float  8 bytes IEEE-754 binary64, big-endian (exact, -0.0 and NaN included)
    0x05 list   LEB128 varint count (<= MAX_LIST_ITEMS), then each item (nesting depth <= MAX_DEPTH)
    0x06 str    LEB128 varint byte length, then UTF-8 bytes

Tuples encode as lists. Decoding rejects truncated input, trailing bytes, unknown tags or types, a wrong
version and messages over MAX_MESSAGE_BYTES by raising `PeerMessageError`, never anything else.
"""

from __future__ import annotations

import json
import struct
import zlib
from dataclasses import dataclass
from typing import Any

WIRE_VERSION = 3
NO_SLACK = -32768  # PING.slack: not measured yet
MAX_MESSAGE_BYTES = 16 * 1024  # the portable SCTP message size for WebRTC data channels
MAX_FRAMES_PER_MESSAGE = 64  # redundancy window: older unacknowledged frames go in the next message
MAX_ACTION_BYTES = 512  # one action of one slot, encoded; larger ones are refused at add_local_input
MAX_LIST_ITEMS = 256
MAX_DEPTH = 4
MAX_CHECKSUM_CHARS = 64  # of the text the caller reports (report_checksum)
MAX_CHECKSUM = 0xFFFFFFFF  # wire checksums are u32
MAX_SLOTS = 255

T_PING, T_PONG, T_PROPOSAL, T_INPUTS, T_REJOIN, T_HISTORY = 1, 2, 3, 4, 5, 6
HISTORY_CHUNK_BYTES = MAX_MESSAGE_BYTES - 16
MAX_HISTORY_CHUNKS = 4096  # 64 MB of compressed history: hours of play at 60 fps
MAX_HISTORY_JSON_BYTES = 256 * 1024 * 1024
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1

Action = Any  # None | bool | int | float | str | list[Action]


class PeerMessageError(ValueError):
    """A message (or an action) that cannot be encoded or decoded; the message says what was wrong."""


@dataclass(frozen=True, slots=True)
class Ping:
    seq: int
    slack: int = NO_SLACK


@dataclass(frozen=True, slots=True)
class Pong:
    seq: int


@dataclass(frozen=True, slots=True)
class Proposal:
    delay: int
    have_yours: bool


@dataclass(frozen=True, slots=True)
class Inputs:
    input_ack: int
    checksum_ack: int
    input_start: int
    slots: tuple[int, ...]
    inputs: tuple[tuple[Action, ...], ...]  # one tuple per frame, one action per slot
    checksum_start: int
    checksums: tuple[int, ...]  # wire checksums (u32), see `wire_checksum`


@dataclass(frozen=True, slots=True)
class Rejoin:
    nonce: int


@dataclass(frozen=True, slots=True)
class HistoryChunk:
    nonce: int
    index: int
    total: int
    data: bytes


Message = Ping | Pong | Proposal | Inputs | Rejoin | HistoryChunk
RELIABLE = (Rejoin, HistoryChunk)
"""Messages that travel over the reliable, ordered channel (the others over the unreliable one)."""


@dataclass(frozen=True, slots=True)
class History:
    """What a peer that kept playing hands a rejoining peer: the match so far, as it stepped it.

    Attributes:
        frame: the next frame the sender will step (every frame below it was stepped).
        input_delay: the agreed input delay.
        steps: the actions of every stepped frame 0..frame-1, one per slot in ascending slot order.
        checksums: the sender's wire checksums of frames 0..len-1 (len <= frame).
        pending: slot -> the inputs the sender holds for frames frame, frame+1, ... (its own sealed inputs
            and those received from the rejoining peer), contiguous.
    """

    frame: int
    input_delay: int
    steps: tuple[tuple[Action, ...], ...]
    checksums: tuple[int, ...]
    pending: dict[int, tuple[Action, ...]]


# ---------------------------------------------------------------- actions


def _varint(out: bytearray, n: int) -> None:
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return


def _encode_action(out: bytearray, value: Any, depth: int) -> None:
    if value is None:
        out.append(0x00)
    elif value is True or value is False:
        out.append(0x02 if value else 0x01)
    elif isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise PeerMessageError(f"action int {value} is outside the signed 64-bit range")
        out.append(0x03)
        _varint(out, (value << 1) ^ (value >> 63))  # zigzag: small magnitudes stay short
    elif isinstance(value, float):
        out.append(0x04)
        out += struct.pack(">d", value)
    elif isinstance(value, str):
        data = value.encode()
        out.append(0x06)
        _varint(out, len(data))
        out += data
    elif isinstance(value, list | tuple):
        if depth >= MAX_DEPTH:
            raise PeerMessageError(f"action lists nest deeper than {MAX_DEPTH} levels")
        if len(value) > MAX_LIST_ITEMS:
            raise PeerMessageError(f"action list has {len(value)} items; at most {MAX_LIST_ITEMS} are allowed")
        out.append(0x05)
        _varint(out, len(value))
        for item in value:
            _encode_action(out, item, depth + 1)
    elif hasattr(value, "tolist"):  # numpy arrays and scalars, without importing numpy
        _encode_action(out, value.tolist(), depth)
    elif hasattr(value, "__index__"):
        _encode_action(out, value.__index__(), depth)
    else:
        raise PeerMessageError(
            f"cannot encode an action of type {type(value).__name__}: use None, bool, int, float, str or a list"
        )


def encode_action(value: Any) -> bytes:
    """Encode one action (see the module docstring); raises PeerMessageError if it is not encodable or too big."""
    out = bytearray()
    _encode_action(out, value, 0)
    if len(out) > MAX_ACTION_BYTES:
        raise PeerMessageError(f"action encodes to {len(out)} bytes; at most {MAX_ACTION_BYTES} are allowed")
    return bytes(out)


def normalize_action(value: Any) -> Action:
    """Return the action exactly as every peer will see it after a trip over the wire (tuples become lists,
    numpy values become Python numbers), so local and remote Steps carry identical values."""
    return decode_action(encode_action(value))


def wire_checksum(text: str) -> int:
    """The 32-bit checksum that stands for the caller's checksum `text` (1..MAX_CHECKSUM_CHARS ASCII
    characters) on the wire: its CRC-32. Raises PeerMessageError if `text` is not such a string."""
    if not (isinstance(text, str) and text.isascii() and 1 <= len(text) <= MAX_CHECKSUM_CHARS):
        raise PeerMessageError(f"checksum {text!r}: use 1..{MAX_CHECKSUM_CHARS} ASCII characters (hex)")
    return zlib.crc32(text.encode("ascii"))


def checksum_hex(value: int) -> str:
    """A wire checksum as 8 hex characters (how `Desync` reports both sides)."""
    return f"{value:08x}"


def decode_action(data: bytes) -> Action:
    """Decode exactly one action occupying all of `data`."""
    reader = _Reader(data)
    value = reader.action(0)
    reader.finish()
    return value


# ---------------------------------------------------------------- reader


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise PeerMessageError(f"truncated message: needed {n} bytes at offset {self.pos}, have {len(self.data)}")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def u32(self) -> int:
        return int.from_bytes(self.take(4), "big")

    def varint(self) -> int:
        n = shift = 0
        for _ in range(10):
            b = self.u8()
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                return n
            shift += 7
        raise PeerMessageError(f"varint longer than 10 bytes at offset {self.pos}")

    def action(self, depth: int) -> Action:
        tag = self.u8()
        if tag == 0x00:
            return None
        if tag == 0x01:
            return False
        if tag == 0x02:
            return True
        if tag == 0x03:
            z = self.varint()
            value = (z >> 1) ^ -(z & 1)
            if not _INT64_MIN <= value <= _INT64_MAX:
                raise PeerMessageError("action int outside the signed 64-bit range")
            return value
        if tag == 0x04:
            value_f: float = struct.unpack(">d", self.take(8))[0]
            return value_f
        if tag == 0x05:
            if depth >= MAX_DEPTH:
                raise PeerMessageError(f"action lists nest deeper than {MAX_DEPTH} levels")
            count = self.varint()
            if count > MAX_LIST_ITEMS:
                raise PeerMessageError(f"action list of {count} items; at most {MAX_LIST_ITEMS} are allowed")
            return [self.action(depth + 1) for _ in range(count)]
        if tag == 0x06:
            length = self.varint()
            if length > MAX_ACTION_BYTES:
                raise PeerMessageError(f"action string of {length} bytes is too long")
            try:
                return self.take(length).decode()
            except UnicodeDecodeError as exc:
                raise PeerMessageError(f"action string is not UTF-8: {exc}") from None
        raise PeerMessageError(f"unknown action tag 0x{tag:02x} at offset {self.pos - 1}")

    def finish(self) -> None:
        if self.pos != len(self.data):
            raise PeerMessageError(f"{len(self.data) - self.pos} trailing bytes after the message")


# ---------------------------------------------------------------- messages


def encode(message: Message) -> bytes:
    """Encode a message; raises PeerMessageError if a field is out of range."""
    out = bytearray((WIRE_VERSION,))
    try:
        if isinstance(message, Ping):
            out.append(T_PING)
            out += struct.pack(">Hh", message.seq, message.slack)
        elif isinstance(message, Pong):
            out.append(T_PONG)
            out += struct.pack(">H", message.seq)
        elif isinstance(message, Proposal):
            out.append(T_PROPOSAL)
            out += struct.pack(">BB", message.delay, 1 if message.have_yours else 0)
        elif isinstance(message, Rejoin):
            out.append(T_REJOIN)
            out += struct.pack(">I", message.nonce)
        elif isinstance(message, HistoryChunk):
            if not message.index < message.total <= MAX_HISTORY_CHUNKS:
                raise PeerMessageError(f"history chunk {message.index} of {message.total}")
            out.append(T_HISTORY)
            out += struct.pack(">IHH", message.nonce, message.index, message.total)
            out += message.data
        else:
            _encode_inputs(out, message)
    except struct.error as exc:
        raise PeerMessageError(f"field out of range in {type(message).__name__}: {exc}") from None
    if len(out) > MAX_MESSAGE_BYTES:
        raise PeerMessageError(f"message of {len(out)} bytes exceeds {MAX_MESSAGE_BYTES}")
    return bytes(out)


def _encode_inputs(out: bytearray, m: Inputs) -> None:
    if len(m.inputs) > MAX_FRAMES_PER_MESSAGE or len(m.checksums) > MAX_FRAMES_PER_MESSAGE:
        raise PeerMessageError(f"at most {MAX_FRAMES_PER_MESSAGE} frames of inputs/checksums per message")
    out.append(T_INPUTS)
    out += struct.pack(">IIIBB", m.input_ack, m.checksum_ack, m.input_start, len(m.inputs), len(m.slots))
    out += bytes(m.slots)
    for frame_actions in m.inputs:
        if len(frame_actions) != len(m.slots):
            raise PeerMessageError("every frame must carry exactly one action per slot")
        for action in frame_actions:
            _encode_action(out, action, 0)
    out += struct.pack(">IB", m.checksum_start, len(m.checksums))
    for value in m.checksums:
        if not (isinstance(value, int) and 0 <= value <= MAX_CHECKSUM):
            raise PeerMessageError(f"checksum {value!r} is not a u32 (use wire_checksum)")
        out += value.to_bytes(4, "big")


def decode(data: bytes) -> Message:
    """Decode one message.

    Args:
        data: the bytes received from a peer.

    Returns:
        The message.

    Raises:
        PeerMessageError: the bytes are oversized, truncated, of another version or otherwise malformed.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise PeerMessageError(f"expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) > MAX_MESSAGE_BYTES:
        raise PeerMessageError(f"message of {len(data)} bytes exceeds {MAX_MESSAGE_BYTES}")
    r = _Reader(data)
    version = r.u8()
    if version != WIRE_VERSION:
        raise PeerMessageError(f"wire version {version}, expected {WIRE_VERSION}: are both peers on the same MUG?")
    kind = r.u8()
    message: Message
    if kind == T_PING:
        message = Ping(r.u16(), int.from_bytes(r.take(2), "big", signed=True))
    elif kind == T_PONG:
        message = Pong(r.u16())
    elif kind == T_PROPOSAL:
        delay, flags = r.u8(), r.u8()
        if flags & ~1:
            raise PeerMessageError(f"unknown proposal flags 0x{flags:02x}")
        message = Proposal(delay, bool(flags & 1))
    elif kind == T_INPUTS:
        message = _decode_inputs(r)
    elif kind == T_REJOIN:
        message = Rejoin(r.u32())
    elif kind == T_HISTORY:
        nonce, index, total = r.u32(), r.u16(), r.u16()
        if not index < total <= MAX_HISTORY_CHUNKS:
            raise PeerMessageError(f"history chunk {index} of {total}: at most {MAX_HISTORY_CHUNKS} chunks")
        message = HistoryChunk(nonce, index, total, r.take(len(data) - r.pos))
    else:
        raise PeerMessageError(f"unknown message type {kind}")
    r.finish()
    return message


def _decode_inputs(r: _Reader) -> Inputs:
    input_ack, checksum_ack, input_start = r.u32(), r.u32(), r.u32()
    n, k = r.u8(), r.u8()
    if n > MAX_FRAMES_PER_MESSAGE:
        raise PeerMessageError(f"{n} input frames in one message; at most {MAX_FRAMES_PER_MESSAGE}")
    slots = tuple(r.take(k))
    if list(slots) != sorted(set(slots)):
        raise PeerMessageError(f"slots {slots} are not strictly ascending")
    inputs = tuple(tuple(r.action(0) for _ in range(k)) for _ in range(n))
    checksum_start, m = r.u32(), r.u8()
    if m > MAX_FRAMES_PER_MESSAGE:
        raise PeerMessageError(f"{m} checksums in one message; at most {MAX_FRAMES_PER_MESSAGE}")
    checksums = tuple(r.u32() for _ in range(m))
    return Inputs(input_ack, checksum_ack, input_start, slots, inputs, checksum_start, checksums)


# ---------------------------------------------------------------- history (rejoin)


def encode_history(history: History, nonce: int) -> list[HistoryChunk]:
    """Split a history into HISTORY chunks: zlib-compressed JSON (actions are JSON values already:
    `normalize_action`), cut into pieces that each fit one message."""
    doc = {
        "frame": history.frame,
        "input_delay": history.input_delay,
        "steps": [list(row) for row in history.steps],
        "checksums": list(history.checksums),
        "pending": {str(slot): list(values) for slot, values in history.pending.items()},
    }
    blob = zlib.compress(json.dumps(doc, separators=(",", ":")).encode(), 6)
    parts = [blob[i : i + HISTORY_CHUNK_BYTES] for i in range(0, len(blob), HISTORY_CHUNK_BYTES)] or [b""]
    if len(parts) > MAX_HISTORY_CHUNKS:
        raise PeerMessageError(f"history of {len(blob)} bytes needs more than {MAX_HISTORY_CHUNKS} chunks")
    return [HistoryChunk(nonce, i, len(parts), part) for i, part in enumerate(parts)]


def decode_history(blob: bytes, slots: tuple[int, ...]) -> History:
    """Decode the joined chunks of a history for a match of `slots`; raises PeerMessageError if malformed."""
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(blob, MAX_HISTORY_JSON_BYTES)
        if inflater.unconsumed_tail:
            raise PeerMessageError(f"history expands beyond {MAX_HISTORY_JSON_BYTES} bytes")
        doc = json.loads(raw)
    except (zlib.error, ValueError) as exc:
        raise PeerMessageError(f"history is not compressed JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise PeerMessageError("history is not an object")
    frame, delay, steps, checks, pending = (
        doc.get("frame"),
        doc.get("input_delay"),
        doc.get("steps"),
        doc.get("checksums"),
        doc.get("pending"),
    )
    if not (isinstance(frame, int) and isinstance(delay, int) and isinstance(steps, list)):
        raise PeerMessageError("history needs int frame, int input_delay and a list of steps")
    if len(steps) != frame or not 1 <= delay <= 255:
        raise PeerMessageError(f"history of frame {frame} carries {len(steps)} steps (delay {delay})")
    if not (isinstance(checks, list) and len(checks) <= frame and isinstance(pending, dict)):
        raise PeerMessageError("history checksums must be a list (at most one per step), pending an object")
    rows: list[tuple[Action, ...]] = []
    for row in steps:
        if not (isinstance(row, list) and len(row) == len(slots)):
            raise PeerMessageError(f"a history step must carry {len(slots)} actions")
        rows.append(tuple(normalize_action(a) for a in row))
    for value in checks:
        if not (isinstance(value, int) and 0 <= value <= MAX_CHECKSUM):
            raise PeerMessageError("history checksums must be u32")
    held: dict[int, tuple[Action, ...]] = {}
    for key, values in pending.items():
        if not (key.isdigit() and int(key) in slots and isinstance(values, list)):
            raise PeerMessageError(f"history pending inputs for an unknown slot {key!r}")
        held[int(key)] = tuple(normalize_action(a) for a in values)
    return History(frame, delay, tuple(rows), tuple(checks), held)
