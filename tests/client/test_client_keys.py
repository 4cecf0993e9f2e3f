import pytest

from mug.client.keys import KeyMapper

BINDINGS = {"ArrowLeft": 0, "ArrowRight": 2, "a": 0, " ": 5}


def test_held_uses_the_most_recent_bound_key() -> None:
    keys = KeyMapper(BINDINGS, default_action=1, input_mode="held")
    assert keys.action([], []) == 1
    assert keys.action(["ArrowLeft"], []) == 0
    assert keys.action(["ArrowLeft", "ArrowRight"], []) == 2
    assert keys.action(["ArrowRight", "Shift"], []) == 2  # unbound keys are skipped
    assert keys.action(["A"], []) == 0  # single characters ignore case


def test_held_counts_a_tap_between_ticks() -> None:
    keys = KeyMapper(BINDINGS, default_action=1, input_mode="held")
    assert keys.action([], ["ArrowRight"]) == 2


def test_press_ignores_held_keys() -> None:
    keys = KeyMapper(BINDINGS, default_action=1, input_mode="press")
    assert keys.action(["ArrowLeft"], []) == 1
    assert keys.action(["ArrowLeft"], ["ArrowLeft"]) == 0
    assert keys.action([], ["ArrowLeft", " "]) == 5


def test_bad_mode() -> None:
    with pytest.raises(ValueError, match="held"):
        KeyMapper(BINDINGS, 0, "toggle")  # type: ignore[arg-type]
