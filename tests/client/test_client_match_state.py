import pytest

from mug.client.match_state import ALLOWED, IllegalMatchTransition, MatchLifecycle, MatchState


def test_a_match_runs_through_its_states_and_the_wire_sees_their_text() -> None:
    life = MatchLifecycle()
    for state in ("running", "pause", "running", "finished", "done"):
        life.to(MatchState(state))
        assert life.state == state and f"{life.state}" == state


def test_an_illegal_transition_raises_naming_both_states() -> None:
    life = MatchLifecycle()
    with pytest.raises(IllegalMatchTransition, match="synchronizing to finished"):
        life.to(MatchState.FINISHED)
    life.to(MatchState.PEER_GONE)
    with pytest.raises(IllegalMatchTransition, match="allowed: nothing"):
        life.to(MatchState.RUNNING)


def test_the_states_are_the_pages_match_states() -> None:
    # worker_protocol.js: MatchState
    assert {s.value for s in MatchState} == {"synchronizing", "running", "pause", "finished", "done", "peer_gone"}
    assert set(ALLOWED) == set(MatchState)
