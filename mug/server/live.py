"""Live multiplayer state: lobby queues, matches, who finished, who is absent, who is connected where.

One small interface, `LiveState`, with two implementations: `LocalState` (this module) keeps everything in
this process's memory, for one server process; `mug.server.live_redis.RedisState` keeps it in Redis, for
several processes serving one experiment (`MUG_REDIS_URL`). `mug.server.multiplayer` and
`mug.server.participants` talk only to the interface; `mug.app.create_app` picks the implementation.

What each operation guarantees, whatever the implementation:

- lobby operations are atomic: a participant joins, leaves or times out of a queue exactly once, and a group
  forms exactly once, even when members arrive at the same moment on different processes. The rules (first
  come first served, kept groups waiting for their own members, slots by the lobby's rule, timeouts) are
  `mug.server.lobby.LobbyQueue`'s, applied to the shared queue;
- a formed match records, in the same atomic step, each member's group (`group_of`: whom they meet again
  in a lobby that keeps groups) and the slot each got (`slot_counts`, which `"balanced"` slots read);
- `end` returns True once per match across every process (the one caller that gets True applies the
  outcomes); `add_finished` returns the set after adding, so whoever completes the set ends the match;
- marks (`absent`, `rejoining`) are shared: a member's absence noticed by one process is ended by whichever
  process the member's page comes back to, and timed out by whichever ticks first (the match ends once);
- presence: `claim` registers the connection of a participant and refuses a second tab held on another
  process; `release` says whether the closing connection was still the participant's current one (a page
  that reconnected to another process has moved on: its old connection's close changes nothing);
  `owner` names the other process holding the participant's connection, for the work that must run there
  (their outcome page, a lobby timeout's jump), which `send` asks it to do.

The database stays the source of truth for what must outlive every process (participants, matches, waits);
this is live state, rebuilt from the database by `Multiplayer.restore` when it is lost.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from mug.server.limits import WindowCounter
from mug.server.lobby import Group, LobbyQueue, Match, Matched, Matches, Notice, SlotCounts, SlotRule

# members of live matches whose connection to the server is gone ("absent"), or whose reloaded page is
# rejoining and has not reported `resumed` yet ("rejoining"), each since when
Mark = Literal["absent", "rejoining"]
Command = dict[str, Any]  # a request to another process: {"op": ..., ...} (JSON)
CommandHandler = Callable[[Command], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class LobbyRules:
    """One game scene's lobby: how many play together, how long one may wait (None: for ever), and how
    members get their slots (`mug.server.lobby.SlotRule`), and the most two strangers' round trips to the
    server may add up to (None: no limit)."""

    scene_id: str
    group_size: int
    timeout_s: float | None
    slots: SlotRule = "arrival"
    max_rtt_ms: float | None = None


class LiveState(Protocol):
    """The live state several server processes share (or one process keeps to itself)."""

    process_id: str

    async def start(self, on_command: CommandHandler) -> None:
        """Begin serving (`on_command` runs what other processes `send` to this one)."""

    async def close(self) -> None:
        """Stop serving; what others need to know of this process expires with it."""

    def held(self) -> int:
        """Matches held in this process's memory (for /healthz)."""
        ...

    # lobbies

    async def in_lobby(self, rules: LobbyRules, pid: str) -> bool:
        """Whether the participant waits in that lobby."""
        ...

    async def lobby_join(
        self,
        rules: LobbyRules,
        pid: str,
        now: float,
        since: float | None,
        group: Group | None = None,
        rtt_ms: float | None = None,
    ) -> list[Notice]:
        """`LobbyQueue.join` on the shared queue (with `group`, waiting for that kept group; `rtt_ms`, their
        round trip to the server); a formed match is registered with it, with its members' groups and slot
        counts."""
        ...

    async def lobby_leave(self, rules: LobbyRules, pid: str, now: float) -> list[Notice]:
        """`LobbyQueue.leave` on the shared queue."""
        ...

    async def lobby_tick(self, rules: LobbyRules, now: float, partial: bool) -> list[Notice]:
        """Time out who waited too long (`LobbyQueue.tick`), or with `partial`, form a match of everyone
        waiting once the first wait runs out (`LobbyQueue.form_partial`)."""
        ...

    async def lobby_kept(self, rules: LobbyRules) -> dict[str, Group]:
        """Who waits in that lobby for a kept group, and the group."""
        ...

    async def lobby_release(self, rules: LobbyRules, pid: str, now: float) -> list[Notice]:
        """`LobbyQueue.release` on the shared queue: they wait for whoever comes instead of their group."""
        ...

    async def group_of(self, pid: str) -> Group | None:
        """The group of the participant's latest match (its members in that match's slot order), or None."""
        ...

    async def slot_counts(self, pid: str) -> dict[int, int]:
        """How often the participant had each slot (slot -> matches)."""
        ...

    # matches

    async def add_match(self, match: Match) -> bool:
        """Register a match (restored from the database); False when it is known already."""
        ...

    async def match_of(self, pid: str) -> tuple[Match | None, str | None]:
        """The participant's latest match (live or ended) and why it ended (None while live)."""
        ...

    async def live_match_of(self, pid: str) -> Match | None:
        """The participant's match if it has not ended."""
        ...

    async def end(self, match_id: str, reason: str, now: float) -> bool:
        """End a match: True for the first caller only."""
        ...

    async def forget(self, pid: str) -> None:
        """Drop the participant's pointer to an ended match (they moved on or went away)."""

    async def finished(self, match_id: str) -> frozenset[str]:
        """The members of a live match who played every episode (or moved on)."""
        ...

    async def add_finished(self, match_id: str, pid: str) -> frozenset[str]:
        """Count a member as finished; returns who has finished now."""
        ...

    async def prune(self, match: Match, connected: Callable[[str], bool]) -> None:
        """An ended match keeps no live state: its finishers and its members' marks go; members who are not
        `connected` are forgotten."""

    # marks on members of live matches (see `Mark`)

    async def mark(self, kind: Mark, pid: str, since: float, keep_first: bool = False) -> None:
        """Mark a participant since `since` (with `keep_first`, an earlier mark of that kind stays)."""

    async def unmark(self, kind: Mark, pid: str) -> None: ...

    async def marked(self, kind: Mark, among: Iterable[str] | None = None) -> dict[str, float]:
        """Participants marked so (of `among`, or all) and since when."""
        ...

    # presence (who is connected where)

    async def claim(self, pid: str, sid: str, tab: str) -> str | None:
        """Record that connection `sid` (tab `tab`) is the participant's now.

        Returns:
            The participant's previous connection when another process holds it (to be dropped: a refresh).

        Raises:
            WireError: `second_tab` when another process holds a connection of another tab.
        """
        ...

    async def release(self, pid: str, sid: str) -> bool:
        """Connection `sid` closed: True if it was still the participant's current connection."""
        ...

    async def owner(self, pid: str) -> str | None:
        """The other live process that holds the participant's connection, or None (this one, or nobody)."""
        ...

    async def take(self, bucket: str, key: str, limit: int, window_s: float) -> int | None:
        """Count one event of `bucket` for `key` (say, a new participant from an address) unless `key` already
        had `limit` of them in the last `window_s` seconds, across every process; then count nothing and return
        how many it had. None: counted."""

    async def send(self, process_id: str, command: Command) -> None:
        """Ask another process to run a command (see `start`)."""

    async def sweep(self, now: float) -> list[str]:
        """Participants whose connection was held by a process that is gone (killed): each is returned once,
        to be treated as disconnected."""
        ...


class LocalState:
    """`LiveState` in this process's memory: the lobby queues and the match registry of `mug.server.lobby`."""

    process_id = "local"

    def __init__(self) -> None:
        self.matches = Matches()
        self.queues: dict[str, LobbyQueue] = {}
        self.groups: dict[str, Group] = {}
        self.slots: SlotCounts = {}  # shared by every queue: counts over all scenes
        # live matches only (pruned when they end): members who played every episode
        self._finished: dict[str, set[str]] = {}
        self._marks: dict[str, dict[str, float]] = {"absent": {}, "rejoining": {}}
        self._windows = WindowCounter()

    async def start(self, on_command: CommandHandler) -> None:
        return None

    async def close(self) -> None:
        return None

    def held(self) -> int:
        return len(self.matches)

    def _queue(self, rules: LobbyRules) -> LobbyQueue:
        queue = self.queues.get(rules.scene_id)
        if queue is None:
            queue = LobbyQueue(
                rules.scene_id,
                rules.group_size,
                rules.timeout_s,
                self.matches,
                rules.slots,
                self.slots,
                max_rtt_ms=rules.max_rtt_ms,
            )
            self.queues[rules.scene_id] = queue
        return queue

    def _formed(self, notices: list[Notice]) -> list[Notice]:
        for notice in notices:
            if isinstance(notice, Matched):
                for pid in notice.match.members:
                    self.groups[pid] = notice.match.group
        return notices

    async def in_lobby(self, rules: LobbyRules, pid: str) -> bool:
        return pid in self._queue(rules)

    async def lobby_join(
        self,
        rules: LobbyRules,
        pid: str,
        now: float,
        since: float | None,
        group: Group | None = None,
        rtt_ms: float | None = None,
    ) -> list[Notice]:
        return self._formed(self._queue(rules).join(pid, now, since=since, group=group, rtt_ms=rtt_ms))

    async def lobby_leave(self, rules: LobbyRules, pid: str, now: float) -> list[Notice]:
        return self._queue(rules).leave(pid, now)

    async def lobby_tick(self, rules: LobbyRules, now: float, partial: bool) -> list[Notice]:
        queue = self._queue(rules)
        if not partial:
            return queue.tick(now)
        deadline = queue.next_deadline()
        return self._formed(queue.form_partial(now)) if deadline is not None and deadline <= now else []

    async def lobby_kept(self, rules: LobbyRules) -> dict[str, Group]:
        return self._queue(rules).kept

    async def lobby_release(self, rules: LobbyRules, pid: str, now: float) -> list[Notice]:
        return self._formed(self._queue(rules).release(pid, now))

    async def group_of(self, pid: str) -> Group | None:
        return self.groups.get(pid)

    async def slot_counts(self, pid: str) -> dict[int, int]:
        return dict(self.slots.get(pid, {}))

    async def add_match(self, match: Match) -> bool:
        if self.matches.get(match.id) is not None:
            return False
        self.matches.add(match)
        for pid in match.members:
            self.groups[pid] = match.group
        return True

    async def match_of(self, pid: str) -> tuple[Match | None, str | None]:
        match = self.matches.member_of(pid)
        return match, None if match is None else self.matches.end_reason(match.id)

    async def live_match_of(self, pid: str) -> Match | None:
        return self.matches.live_match_of(pid)

    async def end(self, match_id: str, reason: str, now: float) -> bool:
        return self.matches.end(match_id, reason, now)

    async def forget(self, pid: str) -> None:
        self.matches.forget(pid)

    async def finished(self, match_id: str) -> frozenset[str]:
        return frozenset(self._finished.get(match_id, ()))

    async def add_finished(self, match_id: str, pid: str) -> frozenset[str]:
        done = self._finished.setdefault(match_id, set())
        done.add(pid)
        return frozenset(done)

    async def prune(self, match: Match, connected: Callable[[str], bool]) -> None:
        self._finished.pop(match.id, None)
        for pid in match.members:
            for marks in self._marks.values():
                marks.pop(pid, None)
            if not connected(pid):
                self.matches.forget(pid)

    async def mark(self, kind: Mark, pid: str, since: float, keep_first: bool = False) -> None:
        if keep_first:
            self._marks[kind].setdefault(pid, since)
        else:
            self._marks[kind][pid] = since

    async def unmark(self, kind: Mark, pid: str) -> None:
        self._marks[kind].pop(pid, None)

    async def marked(self, kind: Mark, among: Iterable[str] | None = None) -> dict[str, float]:
        marks = self._marks[kind]
        if among is None:
            return dict(marks)
        return {pid: marks[pid] for pid in among if pid in marks}

    # one process: `Participants` knows every connection itself

    async def claim(self, pid: str, sid: str, tab: str) -> str | None:
        return None

    async def release(self, pid: str, sid: str) -> bool:
        return True

    async def owner(self, pid: str) -> str | None:
        return None

    async def take(self, bucket: str, key: str, limit: int, window_s: float) -> int | None:
        return self._windows.take(bucket, key, limit, window_s)

    async def send(self, process_id: str, command: Command) -> None:
        raise RuntimeError("one process has no other process to send to")

    async def sweep(self, now: float) -> list[str]:
        return []
