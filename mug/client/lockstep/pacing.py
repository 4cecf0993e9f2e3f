"""Adaptive input delay: each peer sends its inputs as far ahead as its partners need, measured while playing.

The input delay D agreed at the start comes from round trips measured while every page was idle. Once the game
runs, an input also waits for the sender's own work (its env step and render, which block the thread the
inputs are sent from) and for the scheduler of a loaded machine; a peer whose inputs often arrive after the
frame they are for makes its partners stall, frame after frame. As the lockstep of Age of Empires did (its
"communications turn" followed the measured latency and the slowest machine's frame time), the delay follows
what is measured:

- **Pace.** A peer whose partner runs slower than the frame rate (its env step and its machine cannot keep
  30 frames a second) would otherwise run ahead until it stalls, again and again, each stall re-phasing its
  clock to the slow partner's input. Instead, as GGPO's time synchronisation does, it waits a little longer
  between frames while a partner's inputs arrive just in time: when the latest frame's slack is under
  `PACE_TARGET_MS`, the next frame is due later by half the shortfall (at most `PACE_MAX_SHARE` of a frame).
  Frames that are a few ms longer are not seen; a stall is. The game then runs at the slower peer's pace
  with no stall, and at full pace again once it keeps up.
- **Share.** Between two peers the slack is zero-sum: a lead of one clock over the other is slack the other
  lacks, and a stall re-phases the stalled peer's clock to the input that ended it, leaving it none. So when a
  partner reports more slack toward this peer than this peer has toward it (by more than twice
  `SHARE_DEADBAND_MS`), this peer moves its clock later by half the gap, a quarter frame per frame at most,
  then waits a window before the next correction. Only the peer with less slack moves.
- **Slack.** Peer B's slack toward peer A at frame f is how long before B's frame f was due A's input for f
  reached B (negative: B's frame waited). B keeps its last `SLACK_WINDOW_FRAMES` slacks per partner and
  reports a low one (the `SLACK_REPORT_RANK`-th smallest) in each ping to that partner (`Ping.slack`).
- **Raise.** When a partner reports a low slack under `RAISE_BELOW_MS`, this peer's inputs are late for it:
  this peer schedules its own inputs one frame further ahead (its *local* delay, up to MAX_INPUT_DELAY). The
  frame in between is sealed with the same input, so nothing is lost.
- **Lower.** When every partner's reported slack stays above one frame plus `LOWER_MARGIN_MS` for
  `LOWER_AFTER` reports in a row, one frame is given back (never below the delay agreed at the start).
- **Settle.** A decision is taken at most once per report (pings go every PING_INTERVAL_MS); after a change
  it waits until the partners' windows have been refilled under the new delay and a ping has reported them.

Why this keeps lockstep deterministic: every input is sent with the frame it applies to, and every peer steps
frame f with exactly the inputs sent for f. A peer's local delay only decides which frame its new inputs are
sealed for, so peers may use different delays at any time. The delay agreed at the start still fixes the first
frames (below D every slot plays the default action).

Sans-IO like the session: every time is the caller's clock, passed in.
"""

from __future__ import annotations

from collections import deque

from mug.client.lockstep.timing import (
    LOWER_AFTER,
    LOWER_MARGIN_MS,
    MAX_INPUT_DELAY,
    PACE_MAX_SHARE,
    PACE_TARGET_MS,
    PING_INTERVAL_MS,
    RAISE_BELOW_MS,
    SHARE_DEADBAND_MS,
    SLACK_REPORT_RANK,
    SLACK_WINDOW_FRAMES,
)
from mug.client.lockstep.wire import NO_SLACK

_MAX_PENDING_ARRIVALS = 4096  # frames received ahead and not stepped yet, per peer (bounded like the inputs)


class Pacing:
    """The slack toward each partner, the partners' reports, and this peer's local input delay.

    Args:
        peers: the remote peers.
        frame_ms: the frame duration.
        adaptive: False: keep the agreed delay (a delay the scene fixes); pacing and sharing still work.
        pace: False: no pacing or sharing either (only to measure what they do).
    """

    def __init__(self, peers: list[str], frame_ms: float, adaptive: bool = True, pace: bool = True) -> None:
        self.frame_ms = frame_ms
        self.adaptive = adaptive
        self.pace = pace
        self._arrived: dict[str, dict[int, float]] = {p: {} for p in peers}
        self._slack: dict[str, deque[float]] = {p: deque(maxlen=SLACK_WINDOW_FRAMES) for p in peers}
        self._theirs: dict[str, float | None] = dict.fromkeys(peers)
        self._settle_frames = SLACK_WINDOW_FRAMES + int(2 * PING_INTERVAL_MS / frame_ms) + 1
        self._settle = self._settle_frames
        self._calm = 0  # decisions in a row that would lower the delay
        self._fresh = False  # a report came since the last decision
        self.agreed: int | None = None
        self.delay: int | None = None  # this peer's local delay
        self.max_delay = 0
        self.raises = 0
        self.lowers = 0
        self._latest: float | None = None  # the smallest slack of the last stepped frame
        self._shift = 0.0  # ms still to add to the clock to share the slack evenly (see `reported`)
        self._shift_settle = 0
        self.shifts = 0
        self.paced_ms = 0.0  # time added to frames by pacing

    def start(self, input_delay: int) -> None:
        """The delay is agreed (or, after a resume, agreed again): start from it, measuring afresh."""
        self.agreed = self.delay = input_delay
        self.max_delay = max(self.max_delay, input_delay)
        for p in self._arrived:
            self._arrived[p].clear()
            self._slack[p].clear()
            self._theirs[p] = None
        self._settle = self._settle_frames
        self._calm = 0

    def forget_reports(self) -> None:
        """A pause re-phased the clocks: what was measured before no longer describes the match."""
        for p in self._arrived:
            self._slack[p].clear()
            self._theirs[p] = None
        self._settle = self._settle_frames
        self._calm = 0

    def arrived(self, peer: str, first: int, end: int, now_ms: float) -> None:
        """Frames first..end-1 of `peer`'s inputs became known at `now_ms`."""
        arrived = self._arrived.get(peer)
        if arrived is None:
            return
        if len(arrived) + (end - first) > _MAX_PENDING_ARRIVALS:
            arrived.clear()
        for f in range(first, end):
            arrived.setdefault(f, now_ms)

    def stepped(self, frame: int, due_ms: float, needed: list[str]) -> None:
        """Frame `frame`, due at `due_ms`, was stepped with the inputs of the remote peers `needed`."""
        latest: float | None = None
        for p, arrived in self._arrived.items():
            at = arrived.pop(frame, None)
            if p in needed and at is not None:
                self._slack[p].append(due_ms - at)
                latest = due_ms - at if latest is None else min(latest, due_ms - at)
        self._latest = latest

    def pace_ms(self) -> float:
        """Milliseconds to add to the next frame's due time: half of what the last frame's slack fell short of
        `PACE_TARGET_MS`, at most `PACE_MAX_SHARE` of a frame (0 with enough slack)."""
        if not self.pace:
            return 0.0
        extra = 0.0
        if self._latest is not None and self._latest < PACE_TARGET_MS:
            extra = (PACE_TARGET_MS - self._latest) / 2
        if self._shift > 0:
            extra = max(extra, min(self._shift, PACE_MAX_SHARE * self.frame_ms))
            self._shift = max(0.0, self._shift - extra)
            if self._shift == 0:
                self._shift_settle = SLACK_WINDOW_FRAMES  # both windows must describe the new phase
        elif self._shift_settle > 0:
            self._shift_settle -= 1
        extra = min(extra, PACE_MAX_SHARE * self.frame_ms)
        self.paced_ms += extra
        return extra

    def low_slack(self, peer: str) -> float | None:
        """A low slack toward `peer` (ms): the `SLACK_REPORT_RANK`-th smallest of the window; None until the
        window is full."""
        window = self._slack.get(peer)
        if window is None or len(window) < SLACK_WINDOW_FRAMES:
            return None
        return sorted(window)[SLACK_REPORT_RANK - 1]

    def for_ping(self, peer: str) -> int:
        """`Ping.slack` for `peer`: our low slack toward it in whole ms, clamped to i16, or NO_SLACK."""
        value = self.low_slack(peer)
        if value is None:
            return NO_SLACK
        return max(-32767, min(32767, round(value)))

    def reported(self, peer: str, slack: int) -> None:
        """`peer` reported its low slack toward us (a ping)."""
        if peer in self._theirs:
            self._theirs[peer] = None if slack == NO_SLACK else float(slack)
            self._fresh = True
            self._share()

    def _share(self) -> None:
        # Between two peers the slack is zero-sum: a lead of one clock over the other is slack the other lacks.
        # The peer with less moves its clock later by half the gap, so both can absorb the same hiccup.
        if not self.pace or self._shift > 0 or self._shift_settle > 0:
            return
        gap = 0.0
        for p, theirs in self._theirs.items():
            mine = self.low_slack(p)
            if theirs is not None and mine is not None and (theirs - mine) / 2 > SHARE_DEADBAND_MS:
                gap = max(gap, (theirs - mine) / 2)
        if gap > 0:
            self._shift = gap
            self.shifts += 1

    def next_delay(self) -> int | None:
        """Called once per stepped frame: this peer's local delay for the inputs it seals next."""
        if self.delay is None or self.agreed is None:
            return self.delay
        if self._settle > 0:
            self._settle -= 1
            return self.delay
        reports = [v for v in self._theirs.values() if v is not None]
        if not self.adaptive or not reports or not self._fresh:
            return self.delay
        self._fresh = False
        worst = min(reports)
        change = 0
        if worst < RAISE_BELOW_MS and self.delay < MAX_INPUT_DELAY:
            change = 1
            self._calm = 0
        elif worst > self.frame_ms + LOWER_MARGIN_MS and self.delay > self.agreed:
            self._calm += 1
            if self._calm >= LOWER_AFTER:
                change = -1
        else:
            self._calm = 0
        if change:
            self.delay += change
            self.max_delay = max(self.max_delay, self.delay)
            if change > 0:
                self.raises += 1
            else:
                self.lowers += 1
            self._calm = 0
            for p in self._theirs:
                self._theirs[p] = None  # wait for reports that describe the new delay
            self._settle = self._settle_frames
        return self.delay

    def status(self) -> dict[str, object]:
        """The local delay (now and its maximum), its changes, and the slack per peer both ways (ms)."""
        return {
            "adaptive": self.adaptive,
            "local_delay": self.delay,
            "max_delay": self.max_delay,
            "raises": self.raises,
            "lowers": self.lowers,
            "paced_ms": round(self.paced_ms, 1),
            "shifts": self.shifts,
            "slack_ms": {p: self.low_slack(p) for p in self._slack},
            "their_slack_ms": dict(self._theirs),
        }
