"""A human's controls: the keys (`mug.client.keys`) and the pointer (`mug.client.pointer`) -> their move.

Both runners ask the same question each frame: what did this person play? A click since the last frame
(the most recent one the action mask allows) comes first, since it is a deliberate choice of that frame;
otherwise the keys decide as `KeyMapper` says (held or pressed). Nothing applies: no move (a turn-based
game waits) or the scene's default action (a real-time game).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mug.client.keys import KeyMapper, Legal
from mug.client.pointer import Click, PointerMapper


class Controls:
    """Keys and clicks -> an action, for a human agent.

    Args:
        keys: the scene's key mapper.
        pointer: the scene's pointer spec (`GameScene.pointer_spec`), or None.
    """

    def __init__(self, keys: KeyMapper, pointer: Mapping[str, Any] | None = None) -> None:
        self.keys = keys
        self.pointer = PointerMapper.from_spec(pointer)

    def move(
        self,
        held: Sequence[str],
        pressed: Sequence[str],
        clicks: Sequence[Click] = (),
        legal: Legal | None = None,
        space: Any = None,
    ) -> tuple[bool, Any]:
        """(True, action) for the click or key that applies this frame, or (False, None)."""
        if self.pointer is not None and clicks:
            found, action = self.pointer.move(clicks, legal, space)
            if found:
                return True, action
        return self.keys.move(held, pressed, legal)

    def action(
        self,
        held: Sequence[str],
        pressed: Sequence[str],
        clicks: Sequence[Click] = (),
        legal: Legal | None = None,
        space: Any = None,
    ) -> Any:
        """`move`'s action, or the scene's default action when nothing applies."""
        found, action = self.move(held, pressed, clicks, legal, space)
        return action if found else self.keys.default_action
