"""Drawing for browser environments: return a `Surface` from `render()` (see `mug.rendering.surface`)."""

from mug.rendering.surface import SpriteSheet, Surface, color_hex

__all__ = ["Surface", "SpriteSheet", "color_hex"]
