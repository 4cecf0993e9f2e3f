"""`--servers`: helpers for the runs on a shared PostgreSQL and Redis (the rest is in `lobby_load.cluster_runs`)."""

from __future__ import annotations

import socket


def flush_redis(port: int) -> None:
    """Empty the throw-away Redis between runs (each run starts from no live state)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"FLUSHALL\r\n")
        if not conn.recv(16).startswith(b"+OK"):
            raise RuntimeError("Redis did not flush")


def redis_calls(port: int) -> int:
    """Commands Redis has run since it started (INFO commandstats, every command's calls summed)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"INFO commandstats\r\n")
        data = b""
        while True:  # a bulk string: $<length>\r\n<text>\r\n
            data += conn.recv(65536)
            head, _, rest = data.partition(b"\r\n")
            if head.startswith(b"$") and len(rest) >= int(head[1:]):
                break
    total = 0
    for line in rest.split():  # cmdstat_get:calls=12,usec=...
        if line.startswith(b"cmdstat_"):
            total += int(line.split(b":", 1)[1].split(b",")[0].removeprefix(b"calls="))
    return total - 1  # not this INFO
