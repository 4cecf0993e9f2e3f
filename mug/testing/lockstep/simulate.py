"""Drive several `LockstepSession`s over a `SimNetwork` with a simulated clock: tests and benchmarks.

`Simulation` polls every peer every `tick_ms` of simulated time, feeds random local inputs from per-peer
seeded RNGs, fulfils Step requests on a tiny deterministic game and reports its checksums. Nothing sleeps,
nothing binds a socket; the same seed gives the same run.

`benchmark(...)` runs one impairment profile and returns the stalled share and input-to-step latency, e.g.

    >>> from mug.testing.lockstep.network import LinkProfile
    >>> result = benchmark(peers=2, profile=LinkProfile(latency_ms=75, jitter_ms=20, loss=0.05), frames=1200)
    >>> result.stalled_share, result.mean_input_latency_frames, result.input_delay
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field
from typing import Any

from mug.client.lockstep.lifecycle import SessionState
from mug.client.lockstep.requests import Request, Send, Step
from mug.client.lockstep.session import LockstepSession
from mug.testing.lockstep.network import LinkProfile, SimNetwork

_MASK = (1 << 61) - 1


class TinyGame:
    """A deterministic test game: an integer state mixed with every frame's actions.

    Args:
        slots: the slots of the match.
        diverge_at: if set, this copy mutates its state differently at that frame (an injected desync).
    """

    def __init__(self, slots: list[int], diverge_at: int | None = None) -> None:
        self.slots = sorted(slots)
        self.state = 1
        self.diverge_at = diverge_at

    def step(self, frame: int, actions: dict[int, Any]) -> None:
        for slot, action in actions.items():
            self.state = (self.state * 1_000_003 + (slot + 1) * zlib.crc32(repr(action).encode()) + frame) & _MASK
        if frame == self.diverge_at:
            self.state ^= 1

    def acting_slot(self) -> int:
        """Turn-based mode: whose turn it is, decided by the state (so identical on every peer)."""
        return self.slots[self.state % len(self.slots)]

    def checksum(self) -> str:
        return f"{self.state:016x}"


@dataclass
class SimPeer:
    """One simulated participant: its session, game, input RNG and everything that happened to it."""

    peer: str
    session: LockstepSession
    game: TinyGame
    rng: random.Random
    start_ms: float = 0.0
    steps: list[tuple[int, dict[int, Any]]] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    requests: list[tuple[float, Request]] = field(default_factory=list)

    def of_type(self, kind: type) -> list[Any]:
        return [r for _, r in self.requests if isinstance(r, kind)]


class Simulation:
    """Several sessions on one simulated network.

    Args:
        owners: slot -> peer id (the `peers` argument of every session).
        network: the impaired network.
        seed: seeds each peer's input RNG.
        tick_ms: simulated time between polls.
        actions: the random inputs a slot can take (drawn per peer RNG).
        input_change: probability per tick that a local slot's input changes.
        start_ms: per-peer start time (sessions are polled from then on).
        diverge: peer -> frame at which that peer's game diverges.
        step_ms: (low, high): each live Step keeps its peer busy for a time drawn from this range (the
            environment's step and render); meanwhile it is not polled and what arrives waits for it. Its
            sends of the poll go out first (as the browser worker sends before it steps).
        hiccups: peer -> (per second, low ms, high ms): at random moments (on average that often) the peer is
            not scheduled for a time drawn from the range, as a browser thread on a loaded machine; what
            arrives meanwhile waits for it.
        session_kwargs: passed to every LockstepSession (input_delay, frame_ms, max_frames, ...).
    """

    def __init__(
        self,
        owners: dict[int, str],
        network: SimNetwork,
        *,
        seed: int = 0,
        tick_ms: float = 1.0,
        actions: list[Any] | None = None,
        input_change: float = 0.05,
        start_ms: dict[str, float] | None = None,
        diverge: dict[str, int] | None = None,
        step_ms: tuple[float, float] | None = None,
        hiccups: dict[str, tuple[float, float, float]] | None = None,
        **session_kwargs: Any,
    ) -> None:
        self.step_ms = step_ms
        self.hiccups = hiccups or {}
        self._busy_until: dict[str, float] = {}
        self._inbox: dict[str, list[tuple[str, bytes]]] = {}
        self._cost_rng = random.Random(seed + 7919)
        self.network = network
        self.tick_ms = tick_ms
        self.now = 0.0
        self.actions = actions if actions is not None else [0, 1, 2, 3, 4]
        self.input_change = input_change
        slots = sorted(owners)
        self.turn_based = bool(session_kwargs.get("turn_based", False))
        self.owners = dict(owners)
        self.session_kwargs = session_kwargs
        self.peers: dict[str, SimPeer] = {}
        self.reloads: dict[str, tuple[float, float]] = {}  # peer -> (page closed at, reopened at)
        self.before_reload: dict[str, SimPeer] = {}
        for i, peer in enumerate(sorted(set(owners.values()))):
            local = [s for s in slots if owners[s] == peer]
            session = LockstepSession(local_slots=local, slots=slots, peers=owners, **session_kwargs)
            game = TinyGame(slots, diverge_at=(diverge or {}).get(peer))
            sim_peer = SimPeer(peer, session, game, random.Random(seed * 1000 + i), (start_ms or {}).get(peer, 0))
            self.peers[peer] = sim_peer
            if self.turn_based:
                session.set_acting_slots(0, [game.acting_slot()])

    def reload(self, peer: str, at_ms: float, back_ms: float) -> None:
        """`peer`'s page is closed at `at_ms` (its session and game are lost) and opened again at `back_ms`,
        with a fresh session that rejoins the match (`rejoin=True`) and a fresh game."""
        self.reloads[peer] = (at_ms, back_ms)

    def _apply_reloads(self) -> None:
        for peer, (at, back) in list(self.reloads.items()):
            p = self.peers[peer]
            if self.now >= at and peer not in self.before_reload:
                self.before_reload[peer] = p
            if self.now >= back:
                del self.reloads[peer]
                local = [s for s, o in self.owners.items() if o == peer]
                session = LockstepSession(
                    local_slots=local,
                    slots=sorted(self.owners),
                    peers=self.owners,
                    rejoin=True,
                    rejoin_nonce=int(back),
                    **self.session_kwargs,
                )
                self.peers[peer] = SimPeer(peer, session, TinyGame(sorted(self.owners)), p.rng, self.now)

    def _closed(self, peer: str) -> bool:
        return peer in self.reloads and self.now >= self.reloads[peer][0]

    def tick(self) -> None:
        """Advance the clock by one tick: deliver, input, poll, fulfil."""
        self.now += self.tick_ms
        self._apply_reloads()
        for src, dst, data in self.network.deliver(self.now):
            p = self.peers[dst]
            if self.now >= p.start_ms and not self._closed(dst):
                self._inbox.setdefault(dst, []).append((src, data))
        for p in self.peers.values():
            hiccup = self.hiccups.get(p.peer)
            if hiccup is not None and self._cost_rng.random() < hiccup[0] * self.tick_ms / 1000.0:
                frozen = self.now + self._cost_rng.uniform(hiccup[1], hiccup[2])
                self._busy_until[p.peer] = max(self._busy_until.get(p.peer, 0.0), frozen)
            if self.now < p.start_ms or self._closed(p.peer) or self.now < self._busy_until.get(p.peer, 0.0):
                continue
            for src, data in self._inbox.pop(p.peer, []):
                p.session.receive(src, data, self.now)
            s = p.session
            if s.state in (SessionState.SYNCHRONIZING, SessionState.REJOINING, SessionState.RUNNING):
                for slot in s.local_slots:
                    if p.rng.random() < self.input_change:
                        s.add_local_input(slot, p.rng.choice(self.actions))
            requests = s.poll(self.now)
            for request in sorted(requests, key=lambda r: not isinstance(r, Send)):  # sends first
                self._fulfil(p, request)

    def _fulfil(self, p: SimPeer, request: Request) -> None:
        if isinstance(request, Send):
            self.network.send(p.peer, request.peer, request.data, self.now, reliable=request.reliable)
            return
        p.requests.append((self.now, request))
        if isinstance(request, Step):
            if self.step_ms is not None and not request.replay:
                self._busy_until[p.peer] = self.now + self._cost_rng.uniform(*self.step_ms)
            p.game.step(request.frame, request.actions)
            p.steps.append((request.frame, request.actions))
            p.states.append(p.game.checksum())
            p.session.report_checksum(request.frame, p.game.checksum())
            if self.turn_based and p.session.frame == request.frame + 1:
                p.session.set_acting_slots(request.frame + 1, [p.game.acting_slot()])
            elif self.turn_based and not request.replay:
                raise AssertionError("a live Step must be the session's last stepped frame")

    def run(self, until_ms: float = 600_000.0, settle_ms: float = 500.0) -> None:
        """Tick until every session has ENDED (then `settle_ms` more, to exchange the last checksums)."""
        ended_at: float | None = None
        while self.now < until_ms:
            self.tick()
            if all(p.session.state is SessionState.ENDED for p in self.peers.values()):
                ended_at = self.now if ended_at is None else ended_at
                if self.now - ended_at >= settle_ms:
                    return


@dataclass(frozen=True)
class BenchmarkResult:
    """What `benchmark` measured (means over peers)."""

    input_delay: int | None
    stalled_share: float  # stalled time / running time
    stalls: float  # stall count per peer
    mean_input_latency_frames: float  # from sealing a local input to stepping its frame, in frames
    frames: int  # frames stepped per peer (all equal unless a peer left)
    simulated_ms: float
    bytes_per_frame_per_peer: float


def benchmark(
    peers: int = 2,
    profile: LinkProfile | None = None,
    frames: int = 1200,
    fps: float = 60.0,
    input_delay: int | None = None,
    seed: int = 0,
    step_ms: tuple[float, float] | None = None,
    tick_ms: float = 1.0,
    hiccups: tuple[float, float, float] | None = None,
    start_ms: dict[str, float] | None = None,
    adaptive_delay: bool = True,
    pace: bool = True,
) -> BenchmarkResult:
    """Run `peers` peers (one slot each) for `frames` frames over `profile` and measure the session.

    Args:
        peers: number of peers, each owning one slot.
        profile: impairments of every directed link (default: 10 ms one way, no loss).
        frames: frames to play (max_frames).
        fps: frames per second.
        input_delay: a fixed delay, or None for automatic.
        seed: network and input seed.
        step_ms: the environment's cost per step (a range), see `Simulation`.
        tick_ms: how often each peer is polled (the browser worker polls every 4 ms).
        hiccups: (per second, low ms, high ms) for every peer, see `Simulation`.
        start_ms: per-peer start times (peers that start apart start with their clocks apart).
        adaptive_delay, pace: passed to the sessions (False: as before `mug.client.lockstep.pacing`, to compare).

    Returns:
        A BenchmarkResult (means over peers). Raises AssertionError if the peers' trajectories differ.
    """
    names = [f"p{i}" for i in range(peers)]
    sim = Simulation(
        {i: name for i, name in enumerate(names)},
        SimNetwork(seed=seed, default=profile or LinkProfile()),
        seed=seed,
        tick_ms=tick_ms,
        step_ms=step_ms,
        hiccups={name: hiccups for name in names} if hiccups else None,
        start_ms=start_ms,
        input_delay=input_delay,
        frame_ms=1000.0 / fps,
        max_frames=frames,
        adaptive_delay=adaptive_delay,
        pace=pace,
    )
    sim.run()
    runs = list(sim.peers.values())
    assert all(r.steps == runs[0].steps for r in runs), "trajectories differ between peers"
    statuses = [r.session.status() for r in runs]
    frame_ms = 1000.0 / fps
    latencies = [s["input_latency_ms"] or 0.0 for s in statuses]
    return BenchmarkResult(
        input_delay=statuses[0]["input_delay"],
        stalled_share=sum(s["stalled_share"] for s in statuses) / peers,
        stalls=sum(s["stalls"]["count"] for s in statuses) / peers,
        mean_input_latency_frames=sum(latencies) / peers / frame_ms,
        frames=len(runs[0].steps),
        simulated_ms=sim.now,
        bytes_per_frame_per_peer=sim.network.stats.bytes_sent / max(1, len(runs[0].steps)) / peers,
    )
