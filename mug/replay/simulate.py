"""Re-simulation of recorded play with the browser's own code: `Runner` (single player) and `MatchRunner`.

Nothing here steps an env, seeds a generator or calls a policy: the runners do, exactly as in the worker.
Replay only stands in for the keyboard and the network:

- Single player: `Runner.start(spec, scene seed, first episode)`, then one `Runner.replay_tick` per recorded
  step, with the recorded actions of the human agents (the policies act by themselves, from generators
  seeded by the scene seed). A turn-based (AEC) game also replays the ticks in which the human made no
  move (a recorded row's `frame` counts every tick since the runner started), so the turn time limit runs
  out exactly where it did. Episodes follow each other in one runner, as on the page (`next_episode`); a
  page reloaded in the middle of a scene started a new runner at the next episode, and so does the replay
  (an episode after a gap, or whose first frame does not come after the last one).
- Match: one `MatchRunner` per member, fed lockstep frame by frame from 0 (`MatchRunner.replay_frame`, the
  path a rejoining page replays its peers' history on): a frame with a recorded row gets that row's human
  actions by slot, a frame without one gets no move (turn-based) or the default action. Pauses between
  episodes, episode seeds and AI policies are the runner's own.

Each replayed row is compared with the recorded one field by field (action, reward, terminated, truncated,
info, observation checksum, episode seed, frame, turn fallback; the AI policies' actions are part of
`action`). The first difference in an episode is reported; later episodes are still replayed.

A turn that the time limit played (a row with `turn_fallback` set) is replayed with no human move, so the
runner's own `turn_fallback` fires at that frame and chooses the move again, as the page's did. Rows of an
export without the `turn_fallback` column are replayed as before it existed: the recorded move is played as
the human's (its outcome is still checked, and a fallback due earlier is a mismatch).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mug.client.agents import AgentId, from_label
from mug.client.host import EnvError
from mug.client.match import MatchRunner
from mug.client.policies import PolicyError
from mug.client.runner import Runner
from mug.client.spec import GameSpec
from mug.replay.data import Match, Played, Recorded, ReplayError


@dataclass
class EpisodeResult:
    """One replayed episode: `mismatch` is None when every step agreed."""

    participant: str
    scene: str
    match_id: str
    episode: int
    steps: int
    mismatch: str | None = None
    fallbacks: int = 0  # recorded steps whose move the turn fallback chose

    @property
    def ok(self) -> bool:
        return self.mismatch is None


def _plain(value: Any) -> Any:
    """A row value as the database gives it back (mug.server.store.dumps: key-sorted JSON)."""
    return json.loads(json.dumps(value, sort_keys=True, allow_nan=True))


def difference(expected: Recorded, got: dict[str, Any]) -> str | None:
    """How the replayed row `got` differs from the recorded one, or None."""
    want = expected.compared()
    have = {k: _plain(got.get(k)) for k in want}
    fields = [k for k in want if want[k] != have[k]]
    if not fields:
        return None
    where = f"step {expected.step}" + (f" (frame {expected.frame})" if expected.frame is not None else "")
    checks = f"checksum expected {expected.obs_checksum} got {have['obs_checksum']}"
    others = [f"{k} expected {json.dumps(want[k])} got {json.dumps(have[k])}" for k in fields if k != "obs_checksum"]
    return f"{where}: " + "; ".join([checks, *others[:3]])


def _open_error(exc: Exception, spec: GameSpec) -> ReplayError:
    text = str(exc)
    if isinstance(exc, EnvError | PolicyError) and ("cannot be imported" in text or "No module" in text):
        return ReplayError(
            f"{text}. Install the experiment's env package into this Python (for example `pip install "
            f"path/to/your_env_package`), the one its GameScene.packages names, then replay again"
        )
    return ReplayError(f"env {spec.env!r}: {type(exc).__name__}: {exc}")


def _fallbacks(rows: list[Recorded]) -> int:
    return sum(1 for r in rows if r.turn_fallback)


def _episodes(rows: list[Recorded]) -> Iterator[tuple[int, list[Recorded]]]:
    start = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i].episode != rows[start].episode:
            yield rows[start].episode, rows[start:i]
            start = i


def _human_actions(row: Recorded, single: AgentId | None) -> dict[AgentId, Any]:
    if row.turn_fallback:
        return {}  # the human made no move: the replay's own turn fallback plays it
    if single is not None:
        return {single: row.action}
    if not isinstance(row.action, dict):
        return {}
    return {from_label(k): v for k, v in row.action.items()}


def replay_single(played: Played, spec: GameSpec, seed: int) -> list[EpisodeResult]:
    """Replay a participant's rows of a scene played alone, one result per recorded episode."""
    results: list[EpisodeResult] = []
    runner: Runner | None = None
    previous: Recorded | None = None  # the last recorded row of the previous episode
    try:
        for episode, rows in _episodes(played.rows):
            result = EpisodeResult(played.participant, played.scene, "", episode, len(rows), fallbacks=_fallbacks(rows))
            results.append(result)
            first = rows[0].frame or 0
            # the page's runner went on to this episode, unless it was reloaded (a new runner, frames from 0)
            same_page = previous is not None and previous.episode == episode - 1 and first > (previous.frame or 0)
            try:
                if runner is not None and same_page and runner.episode_done and not runner.scene_done:
                    runner.next_episode()
                else:
                    if runner is not None:
                        runner.close()
                    runner = Runner()
                    runner.start(spec, seed, episode)
                    if same_page and previous is not None:
                        runner.frame = previous.frame or 0  # after a mismatch: go on where the page was
            except (EnvError, PolicyError, ModuleNotFoundError) as exc:
                raise _open_error(exc, spec) from exc
            assert runner.host is not None
            single = runner.host.agents[0] if runner.host.single else None
            result.mismatch = _replay_episode(runner, rows, single, runner.host.kind == "aec")
            previous = rows[-1]
            if result.mismatch is not None:
                runner.close()
                runner = None  # the env's state is no longer the recorded one: the next episode starts afresh
    finally:
        if runner is not None:
            runner.close()
    return results


def _replay_episode(runner: Runner, rows: list[Recorded], single: AgentId | None, turn_based: bool) -> str | None:
    for row in rows:
        try:
            if turn_based and row.frame is not None:
                while runner.frame < row.frame - 1:  # the ticks in which the human made no move
                    waited = runner.replay_tick({})
                    if waited["rows"]:
                        got = waited["rows"][0]
                        return (
                            f"step {row.step} (frame {row.frame}): the replay played this step at frame "
                            f"{got['frame']} (the turn's time ran out, or no human was to move); "
                            f"checksum expected {row.obs_checksum} got {got['obs_checksum']}"
                        )
                    if runner.episode_done:
                        break
            if runner.episode_done:
                return f"step {row.step}: the replay's episode ended after step {runner.step}"
            out = runner.replay_tick(_human_actions(row, single))
        except Exception as exc:  # the env or a policy raised: that step cannot be reproduced
            return f"step {row.step}: the replay raised {type(exc).__name__}: {exc}"
        if not out["rows"]:
            return f"step {row.step} (frame {row.frame}): the replay made no step at that frame"
        diff = difference(row, out["rows"][0])
        if diff is not None:
            return diff
    return None


def replay_match(played: Played, spec: GameSpec, match: Match) -> list[EpisodeResult]:
    """Replay one member's rows of a match, one result per recorded episode."""
    if played.participant not in match.members:
        raise ReplayError(f"participant {played.participant!r} is not a member of match {match.match_id!r}")
    start = {
        "match_id": match.match_id,
        "seed": match.seed,
        "slot": match.members.index(played.participant),
        "members": match.members,
        "agents": match.agents,
        "input_delay": "auto",
    }
    try:
        runner = MatchRunner(spec, start)
    except (EnvError, PolicyError, ModuleNotFoundError) as exc:
        raise _open_error(exc, spec) from exc
    try:
        return _replay_frames(runner, played)
    finally:
        runner.close()


def _replay_frames(runner: MatchRunner, played: Played) -> list[EpisodeResult]:
    results = {
        e: EpisodeResult(played.participant, played.scene, played.match_id, e, len(rows), fallbacks=_fallbacks(rows))
        for e, rows in _episodes(played.rows)
    }
    by_frame: dict[int, Recorded] = {}
    for recorded in played.rows:
        if recorded.frame is None or recorded.frame in by_frame:
            results[
                recorded.episode
            ].mismatch = f"step {recorded.step}: a match row needs its own frame, found {recorded.frame}"
            return list(results.values())
        by_frame[recorded.frame] = recorded
    # humans' and ONNX agents' actions were lockstep inputs: both come from the rows (Python policies run)
    slot_of = {agent: slot for slot, agent in runner.plan.agent_of_slot.items()}
    idle: Any = None if runner.turn_based else runner.default_action
    last = max(by_frame, default=-1)
    for frame in range(last + 1):
        row = by_frame.get(frame)
        inputs = dict.fromkeys(runner.plan.slots, idle)
        if row is not None:
            for agent, action in _human_actions(row, None).items():
                if agent in slot_of:
                    inputs[slot_of[agent]] = action
        episode = runner.episode
        try:
            made = runner.replay_frame(frame, inputs)
        except Exception as exc:  # the env or a policy raised
            target = results.get(row.episode if row is not None else episode)
            if target is not None and target.mismatch is None:
                target.mismatch = f"frame {frame}: the replay raised {type(exc).__name__}: {exc}"
            break
        if row is None and not made:
            continue
        if row is None:
            got = made[0]
            target = results.get(got["episode"])
            if target is not None and target.mismatch is None:
                target.mismatch = (
                    f"frame {frame}: the replay made step {got['step']} where none is recorded; "
                    f"checksum got {got['obs_checksum']}"
                )
            if target is None:
                break
            continue
        target = results[row.episode]
        if target.mismatch is not None:
            continue
        if not made:
            target.mismatch = f"step {row.step} (frame {frame}): the replay made no step at that frame"
            continue
        target.mismatch = difference(row, made[0])
    return list(results.values())
