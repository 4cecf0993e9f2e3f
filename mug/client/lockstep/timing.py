"""Timing constants of the lockstep protocol, each with the reason for its value.

All times are milliseconds of the caller's clock (`poll(now_ms)`); the core never reads a clock itself.
"""

from __future__ import annotations

import math

PEER_TIMEOUT_MS = 2000.0
"""A peer that sends nothing valid for this long is declared gone. Pings and resends keep a live peer
talking at least every `RESEND_INTERVAL_MS`/`PING_INTERVAL_MS`, so 2 s of silence means it is gone, while a tab
that hiccups for a second survives. The promise is that the other members learn of a lost peer within 3 s:
2 s leaves a second for the page to report it and the server to end the match for everyone."""

RESEND_INTERVAL_MS = 50.0
"""Unacknowledged inputs/checksums are re-sent after this much silence toward a peer. A stall caused by one
lost message therefore ends within about one interval (3 frames at 60 fps); one small packet per peer per
50 ms costs nothing on a data channel."""

ACK_DELAY_MS = 20.0
"""An acknowledgement owed to a peer waits this long for a message it can ride on (while running we send
one per frame anyway); then it goes on its own, as a pure acknowledgement (no inputs, no checksums: 21
bytes + one per slot) unless a resend is due anyway. Well under RESEND_INTERVAL_MS, so the peer does not
re-send data we already have; a pure acknowledgement carries no data, so it is never acknowledged in turn.
(Version 1 sent every acknowledgement with all unacknowledged data: at 30 fps, where a frame is longer
than this delay, that doubled the bytes sent.)"""

CHECKSUM_REDUNDANCY_FRAMES = 2
"""Besides the checksums never sent to a peer, a message repeats the last this-many frames sent (if not
acknowledged yet), so one lost message costs the checksums nothing. Inputs gate every peer's progress and
are repeated until acknowledged; checksums only have to arrive eventually (see checks.py)."""

CHECKSUM_REPAIR_MARGIN_MS = 100.0
"""A checksum frame that is still unacknowledged a round trip plus this long after it was last sent is
taken as lost: sending goes back to it. The margin covers the acknowledgement's own delay (up to a frame
or ACK_DELAY_MS) and poll granularity; a repair that was not needed costs a few bytes."""

PING_INTERVAL_MS = 500.0
"""While running, each peer is pinged this often, so `status()["rtt_ms"]` stays fresh and a silent-but-live
peer (everything acknowledged, nothing new to say) still proves it is alive well inside the timeout."""

SYNC_PING_INTERVAL_MS = 30.0
"""During synchronization pings go out quickly: the ping phase delays the start of the game."""

SYNC_PING_SAMPLES = 5
"""Round-trip samples per peer before proposing an input delay; the median of 5 ignores one outlier."""

SYNC_SAMPLE_TIMEOUT_MS = 1500.0
"""Stop sampling after this long even with fewer samples (a lossy link); at least one sample is needed."""

PROPOSAL_RESEND_MS = 100.0
"""Our input-delay proposal is repeated this often until each peer acknowledges it."""

DELAY_MARGIN_MS = 30.0
"""Added to the one-way trip when choosing the input delay: covers jitter, the caller's poll granularity
and the phase difference between peers' frame clocks."""

MIN_INPUT_DELAY = 1
"""At least one frame: an input can never be scheduled for the frame that is being stepped right now."""

MAX_INPUT_DELAY = 12
"""200 ms at 60 fps: beyond this the game feels broken anyway; a slower link stalls instead."""

MAX_CATCH_UP_MS = 100.0
"""When the caller polls late (coarse browser timers), the frame clock may lag wall time by up to this much
and catch up (one Step per poll); older lag is forgiven, so a paused tab is not followed by a burst. After a
*network* stall the clock is re-phased instead (next frame one frame_ms after the stall ends): this peer was
ahead of the slowest input stream, and catching up would only stall it again, frame after frame."""

SLACK_WINDOW_FRAMES = 60
"""Adaptive input delay (`mug.client.lockstep.pacing`): a peer's slack toward a partner is measured over the
last this-many frames it stepped with that partner's inputs: 2 s at 30 fps, 4 s at 15, so one window holds
enough frames to see a 2% tail."""

PACE_TARGET_MS = 8.0
"""Pacing (`mug.client.lockstep.pacing`): the slack a peer keeps toward its slowest partner by waiting a little
longer between frames. A few milliseconds covers the poll interval (4 ms) and timer jitter; more would only
slow the game for partners that are on time."""

PACE_MAX_SHARE = 0.25
"""At most a quarter of a frame is added to one frame (8 ms at 30 fps): a partner that fell far behind is
caught up with over several frames rather than by one long one."""

SHARE_DEADBAND_MS = 5.0
"""Slack sharing (`mug.client.lockstep.pacing`): a gap of slack between two peers under twice this is left
alone (medians of noisy arrival times; correcting it would only make both clocks wander)."""

SLACK_REPORT_RANK = 2
"""The slack a peer reports is the second smallest of its window: a single late message in a window (a lost
packet repaired by the next send) does not raise anyone's delay; two do."""

RAISE_BELOW_MS = 2.0
"""A partner's reported slack under this (the second-latest input of its window arrived less than 2 ms before
its frame was due, or after) raises this peer's local delay by a frame: at that slack a stall is one
scheduling hiccup away. The aim is the issue-level goal of fewer than 1% of frames stalled: more than one
late frame in 60 is about 2%."""

LOWER_MARGIN_MS = 10.0
"""The delay goes down a frame only when every partner's reported slack exceeds one frame plus this: after
the change it still has this much to spare."""

LOWER_AFTER = 10
"""... and only after this many such reports in a row (5 s of pings): a delay that was raised for a reason is
not given back at the first quiet moment."""

REJOIN_ANSWER_INTERVAL_MS = 1000.0
"""A peer's REJOIN is answered with our history at most this often: a history is the whole match so far, and
a rejoining session that got nothing asks again after 1 s anyway; a peer sending REJOINs with new nonces in
a loop gets one answer a second, not one per message."""

RTT_SAMPLES_KEPT = 5
"""Round-trip samples kept per peer; status reports their median."""


def choose_input_delay(rtt_ms: float, frame_ms: float) -> int:
    """Return the input delay (frames) this peer proposes for a measured worst round trip.

    D = clamp(ceil((rtt / 2 + DELAY_MARGIN_MS) / frame_ms), MIN_INPUT_DELAY, MAX_INPUT_DELAY): an input must
    reach every peer (one way) before they are due to step its frame, D frames later.

    Args:
        rtt_ms: the worst (largest) median round trip to any peer, in ms.
        frame_ms: the duration of one frame, in ms.

    Returns:
        The proposed input delay in frames.
    """
    frames = math.ceil((rtt_ms / 2.0 + DELAY_MARGIN_MS) / frame_ms)
    return max(MIN_INPUT_DELAY, min(MAX_INPUT_DELAY, frames))
