"""Keyboard state -> action, for a human agent.

The page reports keys by `KeyboardEvent.key` ("ArrowLeft", "a", " "). Single characters match a binding
regardless of case, so Shift or Caps Lock does not stop "a" from working.

- `held` mode: the action of the most recently pressed key that is still held and has a binding; a key
  pressed and released between two ticks (a tap shorter than a frame) still counts once.
- `press` mode: the action of the last bound key pressed since the previous tick; holding a key does
  nothing more.
Otherwise the scene's default action (`action`), or no move at all (`move`, for a human's turn in a
turn-based game, which waits for a move). A key whose action the env's action mask forbids does nothing:
it is skipped as if it were not bound.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

InputMode = Literal["held", "press"]
Legal = Callable[[Any], bool]


def _norm(key: str) -> str:
    return key.lower() if len(key) == 1 else key


class KeyMapper:
    """Maps the page's key state to an action.

    Args:
        bindings: `KeyboardEvent.key` -> action.
        default_action: the action when no bound key applies.
        input_mode: "held" or "press" (see the module docstring).
    """

    def __init__(self, bindings: Mapping[str, Any], default_action: Any, input_mode: InputMode = "held") -> None:
        if input_mode not in ("held", "press"):
            raise ValueError(f"input_mode {input_mode!r}: use 'held' or 'press'")
        self.bindings = {_norm(k): v for k, v in bindings.items()}
        self.default_action = default_action
        self.input_mode = input_mode

    def _last_bound(self, keys: Sequence[str], legal: Legal | None) -> tuple[bool, Any]:
        for key in reversed(keys):
            k = _norm(key)
            if k in self.bindings and (legal is None or legal(self.bindings[k])):
                return True, self.bindings[k]
        return False, None

    def move(self, held: Sequence[str], pressed: Sequence[str], legal: Legal | None = None) -> tuple[bool, Any]:
        """Return (True, action) for the key that applies this tick, or (False, None) if none does.

        Args:
            held: keys held now, in the order they were pressed (most recent last).
            pressed: keys pressed since the previous tick, in order.
            legal: the action mask as a predicate; keys whose action it refuses are skipped.
        """
        if self.input_mode == "held":
            found, action = self._last_bound(held, legal)
            if found:
                return True, action
        return self._last_bound(pressed, legal)

    def action(self, held: Sequence[str], pressed: Sequence[str], legal: Legal | None = None) -> Any:
        """Return the action for this tick: `move`'s, or the default action when no key applies."""
        found, action = self.move(held, pressed, legal)
        return action if found else self.default_action
