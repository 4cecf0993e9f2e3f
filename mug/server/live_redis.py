"""`LiveState` in Redis: several server processes, on one machine or several, serve one experiment.

Every key starts with `mug:<experiment id>:` so experiments can share one Redis:

| key | type | holds |
| --- | --- | --- |
| `lobby:<scene>` | hash | participant -> when they started waiting (`repr` of a float, seconds since the epoch) |
| `keep:<scene>` | hash | participant waiting in `lobby:<scene>` for a kept group -> that group as JSON: id, members |
| `rtt:<scene>` | hash | participant waiting in `lobby:<scene>` -> their round trip to the server in ms (`max_rtt_ms`) |
| `formed:<scene>` | string | how many matches the lobby formed (`"balanced"` slots break ties with it) |
| `match:<id>` | string | a match as JSON: id, scene_id, members (slot order), seed, created_at, group_id |
| `group:<pid>` | string | the group of the participant's latest match as JSON: id, members (slot order) |
| `slots:<pid>` | hash | slot -> how many matches the participant had that slot in |
| `member:<pid>` | string | the participant's latest match id |
| `ended:<id>` | string | why the match ended (set once: `SET NX`) |
| `live` | set | ids of matches that have not ended |
| `finished:<id>` | set | members of a live match who played every episode |
| `mark:absent` | hash | participant -> since when their connection is gone (members of live matches) |
| `mark:rejoining` | hash | participant -> since when their reloaded page rejoins its running match |
| `conn` | hash | participant -> their connection as JSON: process, sid, tab |
| `proc:<process>` | string | present while that process lives (renewed; expires `PROCESS_TTL_S` after its end) |
| `sweep` | string | the lease of the process that looks for connections of dead processes (`SWEEP_LEASE_S`) |
| `take:<bucket>:<key>` | sorted set | a sliding window (`LiveState.take`): one member per event, scored by Redis time |

and the pub/sub channel `cmd:<process>` carries commands to one process (JSON, see `LiveState.send`).

Atomicity. A lobby operation reads the queue under `WATCH`, applies `mug.server.lobby.LobbyQueue`'s own rules
to it (the queue holds fewer than a group of strangers, plus kept groups waiting for a member), and writes the
result, with a formed match, its members' pointers, groups and slot counts and the lobby's count of matches,
in one `MULTI`/`EXEC` (the slot counts the `"balanced"` rule read are watched too); a concurrent change to the
queue (a join on another process) aborts the transaction and it runs again on the new queue. So two arrivals
on two processes never both complete one group, nobody is matched twice, and a timeout is applied by exactly
one process (it takes the participant out of the queue; the others find them gone). Ending a match is `SET
ended:<id> NX`: one process wins and applies the outcomes. Presence (`claim`, `release`, and the sweep's
removal of a dead process's connections) are Lua scripts, atomic on the server.

Ended matches keep their records for `ENDED_TTL_S` (so late signals get `match_ended` and late reports find
the match), then Redis drops them: memory stays bounded by the matches of the last hour.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlparse

import redis.asyncio as aioredis
import socketio
from redis.exceptions import WatchError

from mug.server.live import Command, CommandHandler, LobbyRules, Mark
from mug.server.lobby import Group, LobbyError, LobbyQueue, Match, Matched, Notice
from mug.server.wire import WireError

log = logging.getLogger("mug.live")

PROCESS_TTL_S = 5.0  # a process that has not renewed its key for this long is gone: its connections are swept
HEARTBEAT_S = 1.0  # how often a process renews its key (well inside the TTL, even on a busy machine)
SWEEP_LEASE_S = 1.0  # one process a second looks for connections of dead processes
ENDED_TTL_S = 3600  # an ended match's records stay this long in Redis, then expire
# a participant's group and slot counts stay this long after their latest match (a study's rounds are minutes
# or hours apart; the database keeps them for good)
GROUP_TTL_S = 7 * 24 * 3600
MATCH_CACHE_MAX = 10_000  # matches are immutable, so each process caches them by id; cleared past this many

_MATCH_OF = """
local id = redis.call('GET', KEYS[1])
if not id then return false end
local match = redis.call('GET', ARGV[1] .. 'match:' .. id)
return {id, match or false, redis.call('GET', ARGV[1] .. 'ended:' .. id) or false}
"""

# ARGV: pid, sid, tab, this process, key prefix
_CLAIM = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local entry = cjson.encode({proc = ARGV[4], sid = ARGV[2], tab = ARGV[3]})
if cur then
  local c = cjson.decode(cur)
  if c.proc ~= ARGV[4] and redis.call('EXISTS', ARGV[5] .. 'proc:' .. c.proc) == 1 then
    if c.tab ~= ARGV[3] then return {'second_tab'} end
    redis.call('HSET', KEYS[1], ARGV[1], entry)
    return {'stale', c.sid}
  end
end
redis.call('HSET', KEYS[1], ARGV[1], entry)
return {'ok'}
"""

# ARGV: pid, sid
_RELEASE = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur and cjson.decode(cur).sid == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0
"""

# ARGV: pid, the entry as read (removed only if unchanged: the participant may have reconnected meanwhile)
_DROP_IF = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 1
end
return 0
"""


# ARGV: limit, window in seconds, a unique member. Redis's own clock, so every process counts in one window.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local had = redis.call('ZCARD', KEYS[1])
if had >= tonumber(ARGV[1]) then return had end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
return -1
"""


def _match_json(match: Match) -> str:
    return json.dumps(
        {
            "id": match.id,
            "scene_id": match.scene_id,
            "members": list(match.members),
            "seed": match.seed,
            "created_at": match.created_at,
            "group_id": match.group_id,
        }
    )


def _match_from(text: str) -> Match:
    d = json.loads(text)
    return Match(
        d["id"], d["scene_id"], tuple(d["members"]), int(d["seed"]), float(d["created_at"]), str(d["group_id"])
    )


def _group_json(group: Group) -> str:
    return json.dumps({"id": group.id, "members": list(group.members)})


def _group_from(text: str) -> Group:
    d = json.loads(text)
    return Group(str(d["id"]), tuple(str(m) for m in d["members"]))


REDIS_CONNECTIONS = 100  # per process; a command beyond them waits for one (up to REDIS_WAIT_S)
REDIS_WAIT_S = 20.0


def blocking_pool(url: str, **kwargs: Any) -> Any:
    """A connection pool whose commands wait for a free connection instead of failing: redis-py's default
    pool raises `MaxConnectionsError` once REDIS_CONNECTIONS commands are in flight, which a burst of a few
    hundred arrivals on one process reaches (measured with benchmarks/lobby_load.py --servers 2)."""
    return aioredis.BlockingConnectionPool.from_url(
        url, max_connections=REDIS_CONNECTIONS, timeout=REDIS_WAIT_S, **kwargs
    )


class BlockingRedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    """python-socketio's Redis manager on a `blocking_pool` (its own `Redis.from_url` pool fails in bursts)."""

    def _redis_connect(self) -> None:
        if urlparse(self.redis_url).scheme.endswith("+sentinel"):
            super()._redis_connect()
            return
        self.redis = aioredis.Redis.from_pool(blocking_pool(self.redis_url, **self.redis_options))
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.connected = True


class RedisState:
    """`mug.server.live.LiveState` kept in Redis.

    Args:
        url: the Redis URL (`redis://host:port/db`, `rediss://` for TLS, `unix:///path`).
        namespace: separates experiments sharing one Redis (the experiment id).
    """

    def __init__(self, url: str, namespace: str) -> None:
        self.process_id = secrets.token_hex(8)
        # typed Any: redis-py's types cover bytes and str replies; this client decodes every reply to str
        self.redis: Any = aioredis.Redis.from_pool(blocking_pool(url, decode_responses=True))
        self.prefix = f"mug:{namespace}:"
        self._cache: dict[str, Match] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._pubsub: Any = None
        self._match_of = self.redis.register_script(_MATCH_OF)
        self._claim = self.redis.register_script(_CLAIM)
        self._release = self.redis.register_script(_RELEASE)
        self._drop_if = self.redis.register_script(_DROP_IF)
        self._take = self.redis.register_script(_TAKE)

    def _k(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    # lifecycle

    async def start(self, on_command: CommandHandler) -> None:
        await self._beat()
        self._pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        await self._pubsub.subscribe(self._k("cmd", self.process_id))
        self._tasks = [asyncio.create_task(self._heartbeat()), asyncio.create_task(self._listen(on_command))]
        log.info("live state in Redis under %s, this process %s", self.prefix, self.process_id)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        with contextlib.suppress(Exception):
            if self._pubsub is not None:
                await self._pubsub.aclose()
            await self.redis.delete(self._k("proc", self.process_id))  # its connections are swept at once
        await self.redis.aclose()

    async def _beat(self) -> None:
        await self.redis.set(self._k("proc", self.process_id), "1", px=int(PROCESS_TTL_S * 1000))

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                await self._beat()
            except Exception:
                log.exception("could not renew this process's key in Redis")

    async def _listen(self, on_command: CommandHandler) -> None:
        while True:
            try:
                async for message in self._pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    try:
                        await on_command(json.loads(message["data"]))
                    except Exception:
                        log.exception("command from another process failed: %s", str(message["data"])[:200])
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("lost the command channel; subscribing again")
                await asyncio.sleep(HEARTBEAT_S)

    def held(self) -> int:
        return len(self._cache)

    # lobbies

    async def in_lobby(self, rules: LobbyRules, pid: str) -> bool:
        return bool(await self.redis.hexists(self._k("lobby", rules.scene_id), pid))

    async def lobby_join(
        self,
        rules: LobbyRules,
        pid: str,
        now: float,
        since: float | None,
        group: Group | None = None,
        rtt_ms: float | None = None,
    ) -> list[Notice]:
        def join(queue: LobbyQueue) -> list[Notice]:
            return queue.join(pid, now, since=since, group=group, rtt_ms=rtt_ms)

        return await self._lobby(rules, join, joining=pid)

    async def lobby_leave(self, rules: LobbyRules, pid: str, now: float) -> list[Notice]:
        return await self._lobby(rules, lambda queue: queue.leave(pid, now))

    async def lobby_kept(self, rules: LobbyRules) -> dict[str, Group]:
        stored: dict[str, str] = await self.redis.hgetall(self._k("keep", rules.scene_id))
        return {pid: _group_from(text) for pid, text in stored.items()}

    async def lobby_release(self, rules: LobbyRules, pid: str, now: float) -> list[Notice]:
        return await self._lobby(rules, lambda queue: queue.release(pid, now))

    async def lobby_tick(self, rules: LobbyRules, now: float, partial: bool) -> list[Notice]:
        def due(queue: LobbyQueue) -> list[Notice]:
            if not partial:
                return queue.tick(now)
            deadline = queue.next_deadline()
            return queue.form_partial(now) if deadline is not None and deadline <= now else []

        return await self._lobby(rules, due)

    async def _lobby(
        self, rules: LobbyRules, change: Callable[[LobbyQueue], list[Notice]], joining: str | None = None
    ) -> list[Notice]:
        key, keep, rtt, formed_key = (self._k(kind, rules.scene_id) for kind in ("lobby", "keep", "rtt", "formed"))
        async with self.redis.pipeline(transaction=True) as pipe:
            while True:
                try:
                    watched = [key, keep, rtt, formed_key] + ([] if joining is None else [self._k("member", joining)])
                    await pipe.watch(*watched)
                    if joining is not None and await self._in_live_match(pipe, joining):
                        raise LobbyError(
                            "already_in_match", f"participant {joining!r} is in a live match; end it before joining"
                        )
                    stored: dict[str, str] = await pipe.hgetall(key)
                    kept = {p: _group_from(g) for p, g in (await pipe.hgetall(keep)).items()}
                    rtts = {p: float(ms) for p, ms in (await pipe.hgetall(rtt)).items()}
                    counts: dict[str, dict[int, int]] = {}
                    if rules.slots == "balanced":
                        pids = [*stored, *([joining] if joining is not None else [])]
                        await pipe.watch(*(self._k("slots", p) for p in pids))
                        for p in pids:
                            counts[p] = {int(s): int(n) for s, n in (await pipe.hgetall(self._k("slots", p))).items()}
                    queue = LobbyQueue(
                        rules.scene_id,
                        rules.group_size,
                        rules.timeout_s,
                        slots=rules.slots,
                        slot_counts=counts,
                        formed=int(await pipe.get(formed_key) or 0),
                        max_rtt_ms=rules.max_rtt_ms,
                    )
                    for waiting, joined in sorted(stored.items(), key=lambda item: (float(item[1]), item[0])):
                        queue.put(waiting, float(joined), kept.get(waiting), rtts.get(waiting))
                    before = (queue.waits, queue.kept)
                    notices = change(queue)
                    after = queue.waits
                    formed = [n.match for n in notices if isinstance(n, Matched)]
                    if (after, queue.kept) == before and not formed:
                        return notices
                    pipe.multi()
                    pipe.delete(key, keep, rtt)
                    if queue.rtts:
                        pipe.hset(rtt, mapping={p: repr(ms) for p, ms in queue.rtts.items()})
                    if after:
                        pipe.hset(key, mapping={p: repr(t) for p, t in after.items()})
                    if queue.kept:
                        pipe.hset(keep, mapping={p: _group_json(g) for p, g in queue.kept.items()})
                    for match in formed:
                        self._write_match(pipe, match)
                        pipe.incr(formed_key)
                    await pipe.execute()
                    for match in formed:
                        self._remember(match)
                    return notices
                except WatchError:
                    continue  # the queue changed under us (another process): run the rules again

    async def _in_live_match(self, pipe: Any, pid: str) -> bool:
        match_id = await pipe.get(self._k("member", pid))
        if match_id is None:
            return False
        return bool(await pipe.exists(self._k("match", match_id))) and not await pipe.exists(self._k("ended", match_id))

    def _write_match(self, pipe: Any, match: Match) -> None:
        pipe.set(self._k("match", match.id), _match_json(match))
        for slot, pid in enumerate(match.members):
            pipe.set(self._k("member", pid), match.id)
            pipe.set(self._k("group", pid), _group_json(match.group), ex=GROUP_TTL_S)
            pipe.hincrby(self._k("slots", pid), str(slot), 1)
            pipe.expire(self._k("slots", pid), GROUP_TTL_S)
        pipe.sadd(self._k("live"), match.id)

    async def group_of(self, pid: str) -> Group | None:
        text = await self.redis.get(self._k("group", pid))
        return None if text is None else _group_from(text)

    async def slot_counts(self, pid: str) -> dict[int, int]:
        stored: dict[str, str] = await self.redis.hgetall(self._k("slots", pid))
        return {int(slot): int(n) for slot, n in stored.items()}

    def _remember(self, match: Match) -> None:
        if len(self._cache) >= MATCH_CACHE_MAX:
            self._cache.clear()
        self._cache[match.id] = match

    # matches

    async def add_match(self, match: Match) -> bool:
        if not await self.redis.set(self._k("match", match.id), _match_json(match), nx=True):
            return False
        async with self.redis.pipeline(transaction=True) as pipe:
            for pid in match.members:
                pipe.set(self._k("member", pid), match.id)
                pipe.set(self._k("group", pid), _group_json(match.group), ex=GROUP_TTL_S)
            pipe.sadd(self._k("live"), match.id)
            await pipe.execute()
        self._remember(match)
        return True

    async def match_of(self, pid: str) -> tuple[Match | None, str | None]:
        found = await self._match_of(keys=[self._k("member", pid)], args=[self.prefix])
        if not found or found[1] is None:
            return None, None  # no match, or an ended one that has expired
        match_id, text, reason = found[0], found[1], found[2]
        match = self._cache.get(match_id)
        if match is None:
            match = _match_from(text)
            self._remember(match)
        return match, reason

    async def live_match_of(self, pid: str) -> Match | None:
        match, reason = await self.match_of(pid)
        return match if reason is None else None

    async def end(self, match_id: str, reason: str, now: float) -> bool:
        if not await self.redis.set(self._k("ended", match_id), reason, nx=True):
            return False
        await self.redis.srem(self._k("live"), match_id)
        return True

    async def forget(self, pid: str) -> None:
        return None  # an ended match's pointers expire with it (`prune`)

    async def finished(self, match_id: str) -> frozenset[str]:
        return frozenset(await self.redis.smembers(self._k("finished", match_id)))

    async def add_finished(self, match_id: str, pid: str) -> frozenset[str]:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(self._k("finished", match_id), pid)
            pipe.smembers(self._k("finished", match_id))
            _, members = await pipe.execute()
        return frozenset(members)

    async def prune(self, match: Match, connected: Callable[[str], bool]) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._k("finished", match.id))
            pipe.hdel(self._k("mark", "absent"), *match.members)
            pipe.hdel(self._k("mark", "rejoining"), *match.members)
            pipe.expire(self._k("match", match.id), ENDED_TTL_S)
            pipe.expire(self._k("ended", match.id), ENDED_TTL_S)
            for pid in match.members:
                pipe.expire(self._k("member", pid), ENDED_TTL_S)
            await pipe.execute()
        self._cache.pop(match.id, None)

    # marks

    async def mark(self, kind: Mark, pid: str, since: float, keep_first: bool = False) -> None:
        if keep_first:
            await self.redis.hsetnx(self._k("mark", kind), pid, repr(since))
        else:
            await self.redis.hset(self._k("mark", kind), pid, repr(since))

    async def unmark(self, kind: Mark, pid: str) -> None:
        await self.redis.hdel(self._k("mark", kind), pid)

    async def marked(self, kind: Mark, among: Iterable[str] | None = None) -> dict[str, float]:
        if among is None:
            stored: dict[str, str] = await self.redis.hgetall(self._k("mark", kind))
            return {pid: float(since) for pid, since in stored.items()}
        pids = list(among)
        if not pids:
            return {}
        values = await self.redis.hmget(self._k("mark", kind), pids)
        return {pid: float(v) for pid, v in zip(pids, values, strict=True) if v is not None}

    # presence

    async def claim(self, pid: str, sid: str, tab: str) -> str | None:
        result = await self._claim(keys=[self._k("conn")], args=[pid, sid, tab, self.process_id, self.prefix])
        if result[0] == "second_tab":
            raise WireError("second_tab", "this study is already open in another tab or window")
        return str(result[1]) if result[0] == "stale" else None

    async def release(self, pid: str, sid: str) -> bool:
        return bool(await self._release(keys=[self._k("conn")], args=[pid, sid]))

    async def owner(self, pid: str) -> str | None:
        entry = await self.redis.hget(self._k("conn"), pid)
        if entry is None:
            return None
        process = str(json.loads(entry)["proc"])
        if process == self.process_id or not await self.redis.exists(self._k("proc", process)):
            return None
        return process

    async def take(self, bucket: str, key: str, limit: int, window_s: float) -> int | None:
        had = int(await self._take(keys=[self._k("take", bucket, key)], args=[limit, window_s, secrets.token_hex(8)]))
        return None if had < 0 else had

    async def send(self, process_id: str, command: Command) -> None:
        await self.redis.publish(self._k("cmd", process_id), json.dumps(command))

    async def sweep(self, now: float) -> list[str]:
        lease = self._k("sweep")
        if not await self.redis.set(lease, self.process_id, nx=True, px=int(SWEEP_LEASE_S * 1000)):
            return []
        entries: dict[str, str] = await self.redis.hgetall(self._k("conn"))
        alive: dict[str, bool] = {self.process_id: True}
        gone: list[str] = []
        for pid, entry in entries.items():
            process = str(json.loads(entry)["proc"])
            if process not in alive:
                alive[process] = bool(await self.redis.exists(self._k("proc", process)))
            if not alive[process] and await self._drop_if(keys=[self._k("conn")], args=[pid, entry]):
                gone.append(pid)
        if gone:
            log.warning("%d connections of server processes that are gone: counted as disconnected", len(gone))
        return gone
