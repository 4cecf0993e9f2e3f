"""Throughput and memory of the pure matchmaking core (`mug.server.lobby`), no sockets.

Run: `.venv/bin/python benchmarks/lobby_core.py [N]` (N participants, default 10,000).

Figures printed:
- joins/s and matches/s for group sizes 2, 3 and 8, with a `Matches` registry, every notice built and
  every payload rendered for every recipient (what a Socket.IO handler does before emitting);
- the same with churn: every 5th participant leaves before a group forms and `tick` runs after each join;
- bytes per waiting participant (tracemalloc) in one queue holding all N (group size N + 1), not counting
  the participant id strings, which the server's participant table owns anyway;
- bytes per member of a live match in the registry.
"""

from __future__ import annotations

import secrets
import sys
import time
import tracemalloc

from mug.server.lobby import LobbyQueue, Matched, Matches, Notice


def render(notices: list[Notice]) -> int:
    sent = 0
    for n in notices:
        for to in n.to:
            n.payload(to)
            sent += 1
    return sent


def throughput(n: int, group: int, churn: bool) -> tuple[float, float, float]:
    pids = [secrets.token_urlsafe(16) for _ in range(n)]
    lobby = LobbyQueue("game", group, timeout_s=120, matches=Matches())
    matches = messages = 0
    t0 = time.perf_counter()
    for i, pid in enumerate(pids):
        now = i * 0.01
        notices = lobby.join(pid, now)
        if churn:
            if i % 5 == 4 and pid in lobby:
                notices += lobby.leave(pid, now)
            notices += lobby.tick(now)
        matches += sum(isinstance(x, Matched) for x in notices)
        messages += render(notices)
    dt = time.perf_counter() - t0
    return n / dt, matches / dt, messages / dt


def waiting_bytes(n: int) -> float:
    pids = [secrets.token_urlsafe(16) for _ in range(n)]
    lobby = LobbyQueue("big", n + 1, timeout_s=None)
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for i, pid in enumerate(pids):
        lobby.join(pid, float(i))  # the Waiting notice (O(n) here) is dropped at once
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    assert len(lobby) == n
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    return grown / n


def match_bytes(n: int) -> float:
    pids = [secrets.token_urlsafe(16) for _ in range(n)]
    reg = Matches()
    lobby = LobbyQueue("game", 2, timeout_s=None, matches=reg)
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for i, pid in enumerate(pids):
        lobby.join(pid, float(i))
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    assert len(reg) == n // 2
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    return grown / n


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    print(f"mug.server.lobby, {n:,} participants, Python {sys.version.split()[0]}")
    for churn in (False, True):
        for group in (2, 3, 8):
            best = max((throughput(n, group, churn) for _ in range(3)), key=lambda r: r[0])
            label = "join+leave+tick" if churn else "join"
            print(
                f"  group {group}, {label:15}: {best[0]:>10,.0f} joins/s  {best[1]:>9,.0f} matches/s"
                f"  {best[2]:>10,.0f} payloads/s"
            )
    t0 = time.perf_counter()
    per_waiting = waiting_bytes(n)
    print(
        f"  memory per waiting participant (one queue of {n:,}): {per_waiting:,.0f} bytes"
        f"  [{time.perf_counter() - t0:.2f} s incl. O(n) Waiting notices under tracemalloc]"
    )
    print(f"  memory per live-match member (groups of 2, registry):  {match_bytes(n):,.0f} bytes")


if __name__ == "__main__":
    main()
