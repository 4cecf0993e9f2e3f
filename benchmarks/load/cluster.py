"""`--servers`: helpers for the runs on a shared PostgreSQL and Redis (the rest is in `lobby_load.cluster_runs`)."""

from __future__ import annotations

import socket


def flush_redis(port: int) -> None:
    """Empty the throw-away Redis between runs (each run starts from no live state)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"FLUSHALL\r\n")
        if not conn.recv(16).startswith(b"+OK"):
            raise RuntimeError("Redis did not flush")
