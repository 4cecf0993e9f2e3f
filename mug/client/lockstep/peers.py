"""Per-peer link state: liveness, round trips, the input-delay proposal handshake and send bookkeeping."""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field

from .timing import RTT_SAMPLES_KEPT


@dataclass
class PeerLink:
    peer: str
    slots: tuple[int, ...]
    last_heard_ms: float | None = None  # None until the first poll starts the silence clock
    last_sent_ms: float = float("-inf")
    last_ping_ms: float = float("-inf")
    last_proposal_ms: float = float("-inf")
    ping_seq: int = 0
    pings_out: dict[int, float] = field(default_factory=dict)  # seq -> send time
    rtt_samples: deque[float] = field(default_factory=lambda: deque(maxlen=RTT_SAMPLES_KEPT))
    sync_samples: int = 0
    proposal: int | None = None  # their proposed input delay
    has_our_proposal: bool = False  # they acknowledged ours (flag, or they already send inputs)
    their_input_ack: int = 0  # next input frame they need from us
    owe_ack_since: float | None = None  # they sent data we have not acknowledged in a message yet
    gone: bool = False
    away_since: float | None = None  # silent or lost, within the reconnect grace period (the match pauses)
    rejoin_nonce: int | None = None  # the last REJOIN of theirs we answered with our history
    rejoin_answered_ms: float = float("-inf")  # when we last sent them a history

    def next_ping(self, now_ms: float) -> int:
        seq = self.ping_seq
        self.ping_seq = (self.ping_seq + 1) & 0xFFFF
        self.pings_out[seq] = now_ms
        self.last_ping_ms = now_ms
        if len(self.pings_out) > 64:  # lost pings: keep the newest only
            for old in sorted(self.pings_out, key=self.pings_out.__getitem__)[:-64]:
                del self.pings_out[old]
        return seq

    def pong(self, seq: int, now_ms: float) -> None:
        sent = self.pings_out.pop(seq, None)
        if sent is not None:
            self.rtt_samples.append(now_ms - sent)
            self.sync_samples += 1

    @property
    def rtt_ms(self) -> float | None:
        return statistics.median(self.rtt_samples) if self.rtt_samples else None
