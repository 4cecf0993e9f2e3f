"""Chromium: two server processes serve one experiment (Redis and PostgreSQL, started by the scenario).

The two participants open different processes, as a load balancer would send them: they are matched across
the processes, their WebRTC signaling is relayed between them, and they play the scene to its end.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_e2e_multiplayer import check_complete_match, netns_prefix, scenario, table

from mug.testing.bundle import BuiltBundle
from mug.testing.services import PostgresServer, RedisServer, ServiceNotInstalled

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.postgres]


@pytest.mark.netns
def test_two_participants_on_two_server_processes_are_matched_and_play_to_the_end(
    bundle: BuiltBundle, tmp_path: Path
) -> None:
    try:  # the scenario starts both inside its network namespace; skip here when either is missing
        RedisServer().stop()
        PostgresServer().stop()
    except ServiceNotInstalled as exc:
        pytest.skip(str(exc))
    result = scenario(netns_prefix(), "mp_duo", 2, bundle.path, tmp_path, "--servers", "2")
    assert len(set(result["servers"])) == 2
    check_complete_match(result, tmp_path, 2, "direct")
    logs = [tmp_path / "server.log", tmp_path / "server1.log"]
    # each process greeted one of the two participants
    for log in logs:
        greeted = [line for line in log.read_text().splitlines() if " (new) " in line and "refused" not in line]
        assert len(greeted) == 1, log.read_text()[-3000:]
    for row in table(tmp_path, "participants.csv"):
        assert (row["steps_stored"], row["steps_refused"], row["outcome"]) == ("180", "0", ""), row
