"""What the page receives for each scene (the SceneSpec of `mug.server.wire`)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from mug.configurations import EndScene, GameScene, Scene, StaticScene
from mug.server.assets import Assets

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def fill_redirect(template: str, values: dict[str, str]) -> str:
    """Fill `{name}` placeholders with URL-quoted values; unknown names become empty."""
    return _PLACEHOLDER.sub(lambda m: quote(values.get(m.group(1), ""), safe=""), template)


def scene_spec(
    scene: Scene,
    *,
    seed: int | None,
    completion_code: str,
    params: dict[str, str],
    assets: Assets | None = None,
    assets_of: str | None = None,
) -> dict[str, Any]:
    """The JSON the page needs to show a scene (never anything about other participants).

    `assets`: the experiment's indexed asset folders; Markdown references to `assets/<name>` get their
    versioned URLs, and a game scene gets `assets` (name -> URL, `mug.server.assets`). `assets_of`: the
    scene whose folder applies (default: this scene; an outcome page uses its game scene's).
    """
    files = assets or Assets()
    owner = assets_of or scene.id
    base: dict[str, Any] = {"id": scene.id, "kind": scene.kind, "title": scene.title}
    if isinstance(scene, StaticScene):
        return base | {
            "body_html": files.rewrite(scene.body_html, owner),
            "button_label": scene.button_label,
            "consent": scene.consent,
            "decline_label": scene.decline_label,
            "questions": [q.page_spec() for q in scene.questions],
        }
    if isinstance(scene, GameScene):
        return base | {
            "instructions_html": files.rewrite(scene.instructions_html, owner),
            "assets": files.urls(owner),
            "env": scene.env,
            "env_kwargs": scene.env_kwargs,
            "agents": {a: files.controller(c) for a, c in scene.agents_spec().items()},
            "key_bindings": scene.key_bindings,
            "pointer": scene.pointer_spec,
            "default_action": scene.default_action,
            "input_mode": scene.input_mode,
            "fps": scene.fps,
            "num_episodes": scene.num_episodes,
            "max_steps": scene.max_steps,
            "canvas_width": scene.canvas_width,
            "canvas_height": scene.canvas_height,
            "show_score": scene.show_score,
            "turn": scene.turn_spec,
            "pygame_stub": scene.pygame_stub,
            "seed": seed,
            "connect_timeout_s": scene.connect_timeout_s,
            "reconnect_grace_s": scene.reconnect_grace_s,
            "inactivity_s": scene.inactivity_s,
            "inactivity_warning_s": scene.inactivity_warning_s,
        }
    assert isinstance(scene, EndScene)
    redirect = None
    if scene.redirect_url:
        redirect = fill_redirect(scene.redirect_url, params | {"completion_code": completion_code})
    return base | {
        "body_html": files.rewrite(scene.body_html, owner),
        "completion_code": completion_code,
        "redirect": redirect,
        "redirect_delay_s": scene.redirect_delay_s,
    }
