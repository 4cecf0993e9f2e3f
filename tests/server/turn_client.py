"""A minimal TURN client (RFC 8489 STUN, RFC 8656 TURN) over UDP: Binding and Allocate, long-term credentials.

Enough to prove a TURN server accepts or refuses credentials; not a relay. Message layout (big endian):

    type u16 | length u16 (of the attributes) | magic cookie u32 0x2112A442 | transaction id 12 bytes
    attributes: type u16 | length u16 | value, padded to a multiple of 4 bytes

Allocate flow: request with REQUESTED-TRANSPORT(UDP) -> 401 with REALM and NONCE -> request again with
USERNAME, REALM, NONCE and MESSAGE-INTEGRITY (HMAC-SHA1 keyed with MD5("user:realm:password") over the
message up to the attribute, with the header length already counting it) -> success with XOR-RELAYED-ADDRESS,
or an error (401 wrong or expired credentials, 438 stale nonce).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import struct
from dataclasses import dataclass, field

MAGIC = 0x2112A442
BINDING, ALLOCATE = 0x0001, 0x0003
SUCCESS, ERROR = 0x0100, 0x0110  # class bits added to the method

A_USERNAME, A_MESSAGE_INTEGRITY, A_ERROR_CODE = 0x0006, 0x0008, 0x0009
A_REALM, A_NONCE, A_XOR_RELAYED, A_REQ_TRANSPORT, A_XOR_MAPPED = 0x0014, 0x0015, 0x0016, 0x0019, 0x0020
UDP = 17


@dataclass
class Response:
    type: int
    attrs: dict[int, bytes] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.type & 0x0110 == SUCCESS

    @property
    def error_code(self) -> int | None:
        raw = self.attrs.get(A_ERROR_CODE)
        return None if raw is None else raw[2] * 100 + raw[3]

    def xor_address(self, attr: int) -> tuple[str, int]:
        raw = self.attrs[attr]
        port = struct.unpack("!H", raw[2:4])[0] ^ (MAGIC >> 16)
        addr = struct.unpack("!I", raw[4:8])[0] ^ MAGIC
        return socket.inet_ntoa(struct.pack("!I", addr)), port


def _attr(kind: int, value: bytes) -> bytes:
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * (-len(value) % 4)


def encode(msg_type: int, tid: bytes, attrs: list[tuple[int, bytes]], key: bytes | None = None) -> bytes:
    body = b"".join(_attr(k, v) for k, v in attrs)
    if key is None:
        return struct.pack("!HHI", msg_type, len(body), MAGIC) + tid + body
    # The length in the header covers MESSAGE-INTEGRITY (4 + 20 bytes) while the HMAC is computed.
    head = struct.pack("!HHI", msg_type, len(body) + 24, MAGIC) + tid
    mac = hmac.new(key, head + body, hashlib.sha1).digest()
    return head + body + _attr(A_MESSAGE_INTEGRITY, mac)


def decode(data: bytes) -> tuple[Response, bytes]:
    msg_type, length, magic = struct.unpack("!HHI", data[:8])
    if magic != MAGIC:
        raise ValueError("not a STUN message")
    tid, pos, end = data[8:20], 20, 20 + length
    resp = Response(msg_type)
    while pos + 4 <= end:
        kind, size = struct.unpack("!HH", data[pos : pos + 4])
        resp.attrs.setdefault(kind, data[pos + 4 : pos + 4 + size])
        pos += 4 + size + (-size % 4)
    return resp, tid


class TurnClient:
    """One UDP socket talking to one TURN server."""

    def __init__(self, host: str, port: int, timeout_s: float = 2.0) -> None:
        self.server = (host, port)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(timeout_s)
        self.sock.bind(("127.0.0.1", 0))

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> TurnClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, msg_type: int, attrs: list[tuple[int, bytes]], key: bytes | None = None) -> Response:
        """Send one request and wait (socket timeout) for the response with the same transaction id."""
        tid = os.urandom(12)
        self.sock.sendto(encode(msg_type, tid, attrs, key), self.server)
        while True:
            data, _ = self.sock.recvfrom(65536)
            resp, got = decode(data)
            if got == tid:
                return resp

    def binding(self) -> Response:
        return self.request(BINDING, [])

    def allocate(self, username: str, password: str) -> Response:
        """Allocate a UDP relay with long-term credentials; returns the final response (success or error)."""
        transport = (A_REQ_TRANSPORT, bytes([UDP, 0, 0, 0]))
        challenge = self.request(ALLOCATE, [transport])
        if challenge.ok or challenge.error_code != 401:
            return challenge
        realm, nonce = challenge.attrs[A_REALM], challenge.attrs[A_NONCE]
        key = hashlib.md5(username.encode() + b":" + realm + b":" + password.encode(), usedforsecurity=False).digest()
        attrs = [transport, (A_USERNAME, username.encode()), (A_REALM, realm), (A_NONCE, nonce)]
        return self.request(ALLOCATE, attrs, key)
