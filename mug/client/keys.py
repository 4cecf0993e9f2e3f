"""Keyboard state -> action, for a human agent.

The page reports keys by `KeyboardEvent.key` ("ArrowLeft", "a", " "). Single characters match a binding
regardless of case, so Shift or Caps Lock does not stop "a" from working.

- `held` mode: the action of the most recently pressed key that is still held and has a binding; a key
  pressed and released between two ticks (a tap shorter than a frame) still counts once.
- `press` mode: the action of the last bound key pressed since the previous tick; holding a key does
  nothing more.
Otherwise the scene's default action.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

InputMode = Literal["held", "press"]


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

    def _last_bound(self, keys: Sequence[str]) -> tuple[bool, Any]:
        for key in reversed(keys):
            k = _norm(key)
            if k in self.bindings:
                return True, self.bindings[k]
        return False, None

    def action(self, held: Sequence[str], pressed: Sequence[str]) -> Any:
        """Return the action for this tick.

        Args:
            held: keys held now, in the order they were pressed (most recent last).
            pressed: keys pressed since the previous tick, in order.
        """
        if self.input_mode == "held":
            found, action = self._last_bound(held)
            if found:
                return action
        found, action = self._last_bound(pressed)
        return action if found else self.default_action
