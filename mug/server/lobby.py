"""Matchmaking as a plain class: no I/O, no clock reads; every call returns the notices to send.

`mug.server.multiplayer` turns the notices into the server's events (their payloads are the typed messages of
`mug.server.wire`): the lobby knows who, never how it is sent.

Rules:

- Groups form first come first served: the first `group_size` participants waiting make a match. A match
  forms the moment the group is full, so fewer than `group_size` strangers ever wait in one lobby; a
  participant who leaves simply drops out of the queue.
- A kept group (`join(..., group=Group)`: the members of an earlier match who meet again) waits apart from the
  strangers, for its own members only, and forms once all of them are waiting. Each kept group is its own
  section of the queue; timeouts apply to everyone alike.
- Slots (`slots`): `"arrival"`: slot `i` is the `i`-th member to join; `"rotate"`: a kept group moves every
  member one slot down (slot `i` goes to the member who had slot `i + 1` last time: in a pair, the roles
  swap), a new group takes arrival order; `"balanced"`: the order in which each member has had each slot
  least often so far (`SlotCounts`, over every match the counts have seen), ties broken by the number of
  matches this queue has formed, so that among strangers with no history the first to arrive does not always
  get slot 0.
- Round trips (`max_rtt_ms`): each stranger comes with their round trip to the server (`join(..., rtt_ms=)`,
  measured by the server before they join), and strangers group only when, for every two of them, the sum
  of their round trips is at most `max_rtt_ms` (what a relay at the server would give them; a direct link
  is usually shorter). The group is chosen greedily in arrival order from the newcomer (exact for pairs);
  someone whose round trip is unknown groups with nobody and waits for their timeout. Those who do not fit
  wait, so more than `group_size` strangers may wait. Kept groups ignore the limit (they have played
  together already).
- Joining twice raises `LobbyError("already_waiting")` (the page asked twice; refusing is clearer than a
  silent no-op). Leaving when not waiting is a no-op (a disconnect handler may call it blindly).
- `tick(now)` times out everyone who has waited `timeout_s` or longer. Pass one clock to every call (wall
  clock, since `Match.created_at` is stored); join order is taken as deadline order, so a clock that steps
  backwards only delays timeouts, it never loses a participant.

Costs: `join`, `leave` and `tick` are O(waiting) per call (finding a participant's section: fewer than
`group_size` strangers plus the members of kept groups waiting for a partner) plus O(1) per participant timed
out (an ordered dict keyed by participant id keeps join order and gives O(1) removal); `"balanced"` tries
every order of up to 6 members (720) and assigns greedily beyond.
"""

from __future__ import annotations

import itertools
import secrets
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from mug.server.wire import WireError

MATCH_ID_BYTES = 16  # token_urlsafe(16): 22 characters, 128 random bits
SEED_BOUND = 2**31
SlotRule = Literal["arrival", "balanced", "rotate"]
SLOT_RULES: tuple[SlotRule, ...] = ("arrival", "balanced", "rotate")
BALANCE_EXACT_MAX = 6  # "balanced" tries every order up to this many members (720), greedy beyond


def new_match_id() -> str:
    """An unguessable match id that never begins with `-`.

    The export prefixes a quote to cells a spreadsheet would evaluate (`-` is one of those starts), so an id
    beginning with `-` would be written differently in the CSV files than everywhere else. Drawing again keeps
    the ids uniform over the rest (21 characters of 64 and a first one of 63).
    """
    while True:
        match_id = secrets.token_urlsafe(MATCH_ID_BYTES)
        if not match_id.startswith("-"):
            return match_id


class LobbyError(WireError):
    """A lobby or match request the server refuses; `code` is machine-readable."""


@dataclass(frozen=True, slots=True)
class Match:
    """A group of participants who play one game scene together.

    Attributes:
        id: unguessable match id (`secrets.token_urlsafe`).
        scene_id: the game scene.
        members: participant ids in slot order (slot `i` = `members[i]`).
        seed: the match seed, in `[0, 2**31)`; episode seeds derive from it.
        created_at: the `now` passed when the group formed.
        group_id: the group's id: the id of the group's first match, kept by every later match in which the
            same participants meet again ("" is read as the match's own id).
    """

    id: str
    scene_id: str
    members: tuple[str, ...]
    seed: int
    created_at: float
    group_id: str = ""

    @property
    def group(self) -> Group:
        """The group this match's members form (its id and the members in this match's slot order)."""
        return Group(self.group_id or self.id, self.members)

    def slot_of(self, participant_id: str) -> int:
        """The slot of a member. Raises ValueError for a non-member."""
        return self.members.index(participant_id)


@dataclass(frozen=True, slots=True)
class Group:
    """Participants who played a match together and may meet again (`Lobby(keep_group=True)`).

    Attributes:
        id: the group id (`Match.group_id`).
        members: participant ids in the slot order of their last match.
    """

    id: str
    members: tuple[str, ...]


# how often each participant had each slot: participant id -> slot -> count
SlotCounts = dict[str, dict[int, int]]


def assign_slots(
    arrived: Sequence[str],
    rule: SlotRule,
    counts: Mapping[str, Mapping[int, int]] | None = None,
    previous: Group | None = None,
    formed: int = 0,
) -> tuple[str, ...]:
    """The members of a new match in slot order.

    Args:
        arrived: the members in the order they joined.
        rule: `"arrival"`, `"rotate"` or `"balanced"` (see the module docstring).
        counts: for `"balanced"`: how often each member had each slot so far (missing: never).
        previous: for `"rotate"`: the kept group these members formed before (slot order of its last match).
        formed: for `"balanced"`: matches formed so far in this lobby (breaks ties among equal orders).

    Returns:
        The members, slot 0 first.

    Raises:
        ValueError: an unknown rule.
    """
    members = tuple(arrived)
    if rule == "arrival":
        return members
    if rule == "rotate":
        if previous is not None and sorted(previous.members) == sorted(members):
            return previous.members[1:] + previous.members[:1]
        return members
    if rule != "balanced":
        raise ValueError(f"slots must be one of {', '.join(SLOT_RULES)}, got {rule!r}")
    counts = counts or {}

    def used(pid: str, slot: int) -> int:
        return counts.get(pid, {}).get(slot, 0)

    if len(members) > BALANCE_EXACT_MAX:
        free = list(range(len(members)))
        order: list[str | None] = [None] * len(members)
        for pid in members:
            slot = min(free, key=lambda s: (used(pid, s), s))
            free.remove(slot)
            order[slot] = pid
        return tuple(p for p in order if p is not None)
    best: list[tuple[str, ...]] = []
    best_cost: int | None = None
    for perm in itertools.permutations(members):
        cost = sum(used(pid, slot) for slot, pid in enumerate(perm))
        if best_cost is None or cost < best_cost:
            best, best_cost = [perm], cost
        elif cost == best_cost:
            best.append(perm)
    # equal orders: cycle through them match by match, so arrival order alone decides no role for good
    return best[formed % len(best)]


@dataclass(frozen=True, slots=True)
class Waiting:
    """Who waits in a lobby, sent to everyone waiting whenever it changes."""

    scene_id: str
    to: tuple[str, ...]
    waiting: tuple[str, ...]
    needed: int


@dataclass(frozen=True, slots=True)
class Matched:
    """A group formed; sent to each member with their slot."""

    match: Match

    @property
    def to(self) -> tuple[str, ...]:
        return self.match.members


@dataclass(frozen=True, slots=True)
class TimedOut:
    """A participant waited `timeout_s` without a group forming and left the lobby."""

    scene_id: str
    participant_id: str
    waited_s: float

    @property
    def to(self) -> tuple[str, ...]:
        return (self.participant_id,)


Notice = Waiting | Matched | TimedOut


@dataclass(frozen=True, slots=True)
class _EndInfo:
    reason: str
    at: float


class Matches:
    """Registry of matches: who is in which match, and which matches have ended.

    A participant belongs to at most one live match. An ended match stays recorded for its members (so
    signaling can say `match_ended` rather than `not_in_match`) until each has joined another one or been
    forgotten (`forget`: they moved on or their connection is gone); then it is dropped.
    """

    def __init__(self) -> None:
        self._by_id: dict[str, Match] = {}
        self._by_member: dict[str, Match] = {}
        self._ended: dict[str, _EndInfo] = {}

    def add(self, match: Match) -> None:
        """Register a new match.

        Raises:
            LobbyError: `duplicate_match` for a known id, `already_in_match` when a member is in a live match.
        """
        if match.id in self._by_id:
            raise LobbyError("duplicate_match", f"match {match.id!r} is already registered")
        for pid in match.members:
            if self.live_match_of(pid) is not None:
                raise LobbyError("already_in_match", f"participant {pid!r} is already in a live match")
        for pid in match.members:
            old = self._by_member.get(pid)
            if old is not None:
                self._release(old, pid)
            self._by_member[pid] = match
        self._by_id[match.id] = match

    def get(self, match_id: str) -> Match | None:
        """The match with this id (live or ended), or None."""
        return self._by_id.get(match_id)

    def member_of(self, participant_id: str) -> Match | None:
        """The participant's latest match (live or ended; see `is_ended`), or None."""
        return self._by_member.get(participant_id)

    def live_match_of(self, participant_id: str) -> Match | None:
        """The participant's match if it has not ended, else None."""
        m = self._by_member.get(participant_id)
        return None if m is None or m.id in self._ended else m

    def is_ended(self, match_id: str) -> bool:
        """Whether `end` was called for this match."""
        return match_id in self._ended

    def end_reason(self, match_id: str) -> str | None:
        """Why the match ended, or None while it is live (or unknown)."""
        info = self._ended.get(match_id)
        return None if info is None else info.reason

    def peers_of(self, participant_id: str) -> list[str]:
        """The other members of the participant's live match, in slot order (empty when none)."""
        m = self.live_match_of(participant_id)
        return [] if m is None else [p for p in m.members if p != participant_id]

    def end(self, match_id: str, reason: str, now: float) -> bool:
        """End a match; signaling between its members is refused from now on.

        Args:
            match_id: the match.
            reason: short machine-readable reason (`"finished"`, `"peer_left"`, `"desync"`...).
            now: current time.

        Returns:
            True the first time, False when the match had already ended.

        Raises:
            LobbyError: `unknown_match`.
        """
        if match_id not in self._by_id:
            raise LobbyError("unknown_match", f"no match {match_id!r}")
        if match_id in self._ended:
            return False
        self._ended[match_id] = _EndInfo(reason, now)
        return True

    def forget(self, participant_id: str) -> None:
        """Drop a participant's record (they left the experiment); drop ended matches nobody points at."""
        m = self._by_member.pop(participant_id, None)
        if m is not None:
            self._release(m, None)

    def _release(self, match: Match, leaving: str | None) -> None:
        # Drop an ended match once no member points at it any more; keeps memory bounded by participants.
        if match.id not in self._ended:
            return
        if any(self._by_member.get(p) is match for p in match.members if p != leaving):
            return
        del self._by_id[match.id]
        del self._ended[match.id]

    def __len__(self) -> int:
        return len(self._by_id)


@dataclass(slots=True)
class LobbyQueue:
    """The waiting queue of one game scene.

    Args:
        scene_id: the game scene.
        group_size: members per match (>= 1).
        timeout_s: how long one may wait before `tick` times them out; None waits forever.
        matches: registry to record formed matches in (and to refuse participants already in a live match).
        slots: how members get slots (`SlotRule`, see the module docstring).
        slot_counts: for `"balanced"`: how often each participant had each slot; updated as matches form (share
            one mapping between the queues of an experiment to count over all its scenes).
        formed: matches this queue formed before (for `"balanced"`'s ties; counted on as matches form).
        max_rtt_ms: the most the round trips of two strangers to the server may add up to; None: no limit.
    """

    scene_id: str
    group_size: int
    timeout_s: float | None
    matches: Matches | None = None
    slots: SlotRule = "arrival"
    slot_counts: SlotCounts = field(default_factory=dict)
    formed: int = 0
    max_rtt_ms: float | None = None
    _waiting: OrderedDict[str, float] = field(default_factory=OrderedDict, init=False, repr=False)
    _kept: dict[str, Group] = field(default_factory=dict, init=False, repr=False)
    _rtt: dict[str, float] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.group_size < 1:
            raise ValueError(f"LobbyQueue {self.scene_id!r}: group_size must be >= 1, got {self.group_size}")
        if self.timeout_s is not None and self.timeout_s <= 0:
            raise ValueError(f"LobbyQueue {self.scene_id!r}: timeout_s must be positive or None, got {self.timeout_s}")
        if self.max_rtt_ms is not None and self.max_rtt_ms <= 0:
            raise ValueError(
                f"LobbyQueue {self.scene_id!r}: max_rtt_ms must be positive or None, got {self.max_rtt_ms}"
            )
        if self.slots not in SLOT_RULES:
            raise ValueError(
                f"LobbyQueue {self.scene_id!r}: slots must be one of {', '.join(SLOT_RULES)}, got {self.slots!r}"
            )

    @property
    def waiting(self) -> tuple[str, ...]:
        """Participants waiting, in join order."""
        return tuple(self._waiting)

    @property
    def waits(self) -> dict[str, float]:
        """Participants waiting and when each started waiting, in join order (to store the queue elsewhere and
        rebuild it with `join(pid, joined, group=kept.get(pid))` in that order)."""
        return dict(self._waiting)

    @property
    def rtts(self) -> dict[str, float]:
        """The round trips of those waiting who came with one (ms)."""
        return dict(self._rtt)

    @property
    def kept(self) -> dict[str, Group]:
        """Participants waiting for their kept group, and that group."""
        return dict(self._kept)

    def __len__(self) -> int:
        return len(self._waiting)

    def __contains__(self, participant_id: object) -> bool:
        return participant_id in self._waiting

    def next_deadline(self) -> float | None:
        """When the next timeout falls due (call `tick` then), or None."""
        if self.timeout_s is None or not self._waiting:
            return None
        return next(iter(self._waiting.values())) + self.timeout_s

    def _section(self, group: Group | None) -> list[str]:
        # who waits with a participant of this group (None: the strangers), in join order
        gid = None if group is None else group.id
        return [p for p in self._waiting if (self._kept[p].id if p in self._kept else None) == gid]

    def join(
        self,
        participant_id: str,
        now: float,
        since: float | None = None,
        group: Group | None = None,
        rtt_ms: float | None = None,
    ) -> list[Notice]:
        """Add a participant to the queue.

        Args:
            participant_id: who joins.
            now: the current time (a match formed now is created at `now`).
            since: when they started waiting, if earlier (they join again after a reconnection or a server
                restart and keep their place in time: their timeout is not reset).
            group: the kept group they wait for (they must be one of its `group_size` members), or None to be
                grouped with whoever comes.
            rtt_ms: their round trip to the server, for `max_rtt_ms` (None: not measured).

        Returns:
            `[Matched]` when their arrival completes a group, else `[Waiting]` for everyone waiting with them.

        Raises:
            LobbyError: `already_waiting` (joined twice), `already_in_match` (in a live match of `matches`).
            ValueError: a group they are not in, or not of `group_size` members.
        """
        if participant_id in self._waiting:
            raise LobbyError("already_waiting", f"participant {participant_id!r} already waits in {self.scene_id!r}")
        if self.matches is not None and self.matches.live_match_of(participant_id) is not None:
            raise LobbyError(
                "already_in_match",
                f"participant {participant_id!r} is in a live match; end it before joining",
            )
        if group is not None and (participant_id not in group.members or len(set(group.members)) != self.group_size):
            raise ValueError(
                f"LobbyQueue {self.scene_id!r}: {participant_id!r} cannot wait for group {group.id!r} "
                f"({len(group.members)} members, needs {self.group_size} including them)"
            )
        self.put(participant_id, now if since is None else min(since, now), group, rtt_ms)
        section = self._section(group)
        members = section[: self.group_size] if group is not None else self._fitting(participant_id, section)
        if len(members) < self.group_size:
            return [self._waiting_notice(section)]
        return [self._form(tuple(members), now, group)]

    def put(self, participant_id: str, joined: float, group: Group | None = None, rtt_ms: float | None = None) -> None:
        """Put a participant back in the queue as they waited (since `joined`), forming nothing: to rebuild a
        queue stored elsewhere from `waits`, `kept` and `rtts`."""
        last = next(reversed(self._waiting.values()), None)
        self._waiting[participant_id] = joined
        if group is not None:
            self._kept[participant_id] = group
        if rtt_ms is not None:
            self._rtt[participant_id] = rtt_ms
        if last is not None and joined < last:
            # keep join order = deadline order (`tick` stops at the first participant not yet due)
            self._waiting = OrderedDict(sorted(self._waiting.items(), key=lambda item: item[1]))

    def _fitting(self, anchor: str, strangers: list[str]) -> list[str]:
        # up to group_size strangers with `anchor`, in arrival order, every two within max_rtt_ms together
        if self.max_rtt_ms is None:
            return strangers[: self.group_size]
        limit, rtt = self.max_rtt_ms, self._rtt
        if anchor not in rtt:
            return [anchor]
        chosen = [anchor]
        for pid in strangers:
            if len(chosen) == self.group_size:
                break
            if pid != anchor and pid in rtt and all(rtt[pid] + rtt[q] <= limit for q in chosen):
                chosen.append(pid)
        return [pid for pid in strangers if pid in chosen]

    def form_partial(self, now: float) -> list[Notice]:
        """Start a match now with those waiting with the first to have joined, fewer than `group_size` (for a
        lobby whose timeout lets AI policies take the empty slots). Returns `[]` when nobody waits."""
        if not self._waiting:
            return []
        first = next(iter(self._waiting))
        group = self._kept.get(first)
        section = self._section(group)
        members = section if group is not None else self._fitting(first, section)
        return [self._form(tuple(members), now, group, partial=True)]

    def _form(self, members: tuple[str, ...], now: float, group: Group | None, partial: bool = False) -> Matched:
        for pid in members:
            del self._waiting[pid]
            self._kept.pop(pid, None)
            self._rtt.pop(pid, None)
        order = assign_slots(members, self.slots, self.slot_counts, group, self.formed)
        match_id = new_match_id()
        match = Match(
            id=match_id,
            scene_id=self.scene_id,
            members=order,
            seed=secrets.randbelow(SEED_BOUND),
            created_at=now,
            # a kept group stays one group; a partial one (AI in the empty slots) is a new group of its own
            group_id=group.id if group is not None and not partial else match_id,
        )
        self.formed += 1
        for slot, pid in enumerate(order):
            counts = self.slot_counts.setdefault(pid, {})
            counts[slot] = counts.get(slot, 0) + 1
        if self.matches is not None:
            self.matches.add(match)
        return Matched(match)

    def leave(self, participant_id: str, now: float) -> list[Notice]:
        """Remove a participant from the queue; a no-op (`[]`) when they are not waiting.

        Returns:
            `[Waiting]` for those still waiting with them, or `[]`.
        """
        if self._waiting.pop(participant_id, None) is None:
            return []
        self._rtt.pop(participant_id, None)
        section = self._section(self._kept.pop(participant_id, None))
        return [self._waiting_notice(section)] if section else []

    def release(self, participant_id: str, now: float) -> list[Notice]:
        """A participant waiting for a kept group waits for whoever comes instead (a member of the group has
        left), keeping their place in time; a no-op (`[]`) when they do not wait for a kept group.

        Returns:
            `[Matched]` when they complete a group of strangers, else `[Waiting]` for the strangers, then a
            `Waiting` for those still waiting for the group.
        """
        group = self._kept.pop(participant_id, None)
        if group is None:
            return []
        notices: list[Notice] = []
        strangers = self._section(None)
        members = self._fitting(participant_id, strangers)
        if len(members) >= self.group_size:
            notices.append(self._form(tuple(members), now, None))
        else:
            notices.append(self._waiting_notice(strangers))
        rest = self._section(group)
        if rest:
            notices.append(self._waiting_notice(rest))
        return notices

    def tick(self, now: float) -> list[Notice]:
        """Time out everyone who has waited `timeout_s` or longer.

        Returns:
            One `TimedOut` per participant, then one `Waiting` for those left in each section where someone
            timed out.
        """
        if self.timeout_s is None:
            return []
        notices: list[Notice] = []
        touched: dict[str | None, Group | None] = {}
        while self._waiting:
            pid, joined = next(iter(self._waiting.items()))
            if joined + self.timeout_s > now:
                break
            del self._waiting[pid]
            self._rtt.pop(pid, None)
            group = self._kept.pop(pid, None)
            touched[None if group is None else group.id] = group
            notices.append(TimedOut(self.scene_id, pid, now - joined))
        for group in touched.values():
            section = self._section(group)
            if section:
                notices.append(self._waiting_notice(section))
        return notices

    def _waiting_notice(self, section: list[str]) -> Waiting:
        waiting = tuple(section)
        # more than a group may wait when round trips keep them apart: someone waiting always needs one more
        return Waiting(self.scene_id, waiting, waiting, max(1, self.group_size - len(waiting)))
