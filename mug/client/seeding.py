"""Seeds derived from one root seed, identical on every platform.

A scene (or a multiplayer match) gets one root seed from the server; every episode seed and every policy
generator seed derives from it, so a whole session can be replayed from the root seed and the inputs.
"""

from __future__ import annotations

import hashlib

SEED_BITS = 31  # fits a signed 32-bit int: accepted by every environment's reset(seed=...)


def derive_seed(root: int, *labels: str | int) -> int:
    """Return a seed in [0, 2**31) derived from `root` and the labels, by SHA-256 of their text form.

    Args:
        root: the root seed (a match or scene seed).
        labels: what the seed is for, e.g. ("episode", 3) or ("policy", "agent_1", 0).

    Returns:
        The derived seed.
    """
    text = ":".join([str(int(root)), *map(str, labels)])
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") % (1 << SEED_BITS)


def episode_seed(root: int, episode: int) -> int:
    """Seed for `reset(seed=...)` of episode number `episode` (0-based)."""
    return derive_seed(root, "episode", episode)
