"""The throw-away coturn of `mug.testing`: start, answer STUN, stop, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from mug.testing import coturn as coturn_module
from mug.testing.coturn import Coturn, CoturnNotInstalled, stun_binding_ok


def _started(turn: Coturn) -> Coturn:
    try:
        return turn.start()
    except CoturnNotInstalled as exc:
        pytest.skip(str(exc))


@pytest.mark.turn
def test_answers_stun_while_running_and_cleans_up_its_folder() -> None:
    turn = _started(Coturn())
    with turn:
        assert turn.secret and turn.urls == [f"turn:127.0.0.1:{turn.port}"]
        assert turn.log_path.exists() and stun_binding_ok(turn.port)
        folder = turn.log_path.parent
    assert not folder.exists()
    turn.stop()  # a second stop does nothing


@pytest.mark.turn
def test_a_given_work_dir_is_kept_with_the_log(tmp_path: Path) -> None:
    turn = _started(Coturn(user=("alice", "pw"), work_dir=tmp_path))
    port = turn.port
    turn.stop()
    assert (tmp_path / "coturn.log").exists()
    assert not stun_binding_ok(port, timeout_s=0.2)


def test_secret_and_user_together_are_refused() -> None:
    with pytest.raises(ValueError, match="not both"):
        Coturn(secret="s", user=("alice", "pw"))


def test_a_missing_turnserver_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(coturn_module, "find_turnserver", lambda: None)
    with pytest.raises(CoturnNotInstalled, match="apt-get install coturn"):
        Coturn().start()


def test_port_before_start_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        _ = Coturn().port
