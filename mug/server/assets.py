"""Researcher files (sprites, images) served under content-versioned URLs.

An experiment's `assets` folder and each scene's (`Experiment.assets`, `GameScene.assets`, ...) are indexed
once, at start-up: every regular file below the folder, by its path relative to it (`"sprites/cat.png"`)
and the SHA-256 of its bytes. Names with a part that starts with "." (`.DS_Store`, `.git/...`) are left
out. A file is served at `/assets/<first 16 hex digits of its SHA-256>/<relative path>` with year-long
immutable caching: a changed file gets a new URL, so a browser never shows a stale sprite, and an unchanged
one is never asked for again.

The `.onnx` files of the scenes' `OnnxPolicy` controllers are indexed and served the same way (a missing
file stops the start-up, naming the field); the page gets each model's URL and SHA-256 in place of its
path (`Assets.controller`).

Only indexed files are served: a URL is looked up among them, never joined to a folder, so `..`, an
absolute path or an unknown name is a 404 by construction. A symbolic link that leads out of its folder is
refused at start-up (an error naming the field); a link to a file inside the folder serves that file;
links to folders are not followed. A file changed on disk after start-up is hashed again when asked for:
its old URL then answers 404 rather than other bytes under an immutable URL.

A scene's files are the experiment's plus its own (its own win on the same name). The page gets them as
`SceneSpec.assets` (name -> URL): the renderer resolves `Surface.image("cat.png")` (or `"assets/cat.png"`)
to the URL and preloads every image before the game starts; Markdown and HTML that refer to
`assets/<name>` (`![](assets/cat.png)`, `<img src="assets/cat.png">`) get the URL when the scene is sent.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from mug.configurations import Experiment, ExperimentError, GameScene

log = logging.getLogger("mug.assets")

PREFIX = "/assets"
IMMUTABLE = "public, max-age=31536000, immutable"
_DIGEST = 16
_REFERENCE = re.compile(r'\b(src|href)="(?:\./)?assets/([^"#?]+)"')


@dataclass(frozen=True)
class AssetFile:
    """One indexed file: its name (relative path), where it is, and what it held at start-up."""

    name: str
    path: Path
    root: Path
    sha256: str
    size: int
    mtime_ns: int

    @property
    def url(self) -> str:
        return f"{PREFIX}/{self.sha256[:_DIGEST]}/{quote(self.name)}"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def scan_folder(folder: str | Path, field: str) -> dict[str, AssetFile]:
    """Index the files of an assets folder.

    Args:
        folder: the folder.
        field: the configuration field it came from, for the message (e.g. ``"scene 'game': assets"``).

    Returns:
        name (relative posix path) -> file, sorted by name.

    Raises:
        ExperimentError: the folder does not exist, or a link in it leads out of it.
    """
    given = Path(folder)
    if not given.is_dir():
        raise ExperimentError(
            f"{field}: the assets folder {str(folder)!r} ({given.absolute()}) does not exist or is not a folder; "
            "a relative path is taken from the experiment file's folder"
        )
    root = given.resolve()
    found: dict[str, AssetFile] = {}
    for here, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for entry in [*dirs, *files]:
            path = Path(here) / entry
            if path.is_symlink() and not path.resolve().is_relative_to(root):
                raise ExperimentError(
                    f"{field}: {path} is a link to {path.resolve()}, outside the assets folder {root}: copy the "
                    "file into the folder instead"
                )
        for entry in sorted(files):
            path = Path(here) / entry
            if entry.startswith(".") or not path.is_file():
                continue
            stat = path.stat()
            name = path.relative_to(root).as_posix()
            found[name] = AssetFile(name, path, root, _sha256(path), stat.st_size, stat.st_mtime_ns)
    return dict(sorted(found.items()))


def _model_file(model: str, field: str) -> AssetFile:
    """Index one OnnxPolicy model file, served under its own name."""
    path = Path(model)
    if not path.is_file():
        raise ExperimentError(
            f"{field}: the OnnxPolicy model {model!r} ({path.absolute()}) does not exist or is not a file; "
            "a relative path is taken from the experiment file's folder"
        )
    stat = path.stat()
    return AssetFile(path.name, path, path.resolve().parent, _sha256(path), stat.st_size, stat.st_mtime_ns)


class Assets:
    """The experiment's asset folders, indexed: URLs for the page, and the route that serves them.

    Args:
        folders: scope -> indexed folder; scope None is the experiment's folder, a scene id that scene's.
    """

    def __init__(
        self, folders: dict[str | None, dict[str, AssetFile]] | None = None, models: dict[str, AssetFile] | None = None
    ) -> None:
        self.folders = dict(folders or {})
        self.models = dict(models or {})  # OnnxPolicy model path -> its file
        every = [f for files in self.folders.values() for f in files.values()] + list(self.models.values())
        self._by_url = {(f.sha256[:_DIGEST], f.name): f for f in every}

    @classmethod
    def of(cls, experiment: Experiment) -> Assets:
        """Index the experiment's `assets` folder and each scene's.

        Raises:
            ExperimentError: a folder is missing, or a link in it leads out of it (the message names the field).
        """
        folders: dict[str | None, dict[str, AssetFile]] = {}
        if experiment.assets is not None:
            folders[None] = scan_folder(experiment.assets, "assets")
        for scene in experiment.all_scenes:  # conditions and repetitions have scene ids of their own
            if scene.assets is not None:
                folders[scene.id] = scan_folder(scene.assets, f"scene {scene.id!r}: assets")
        models: dict[str, AssetFile] = {}
        for scene in experiment.all_scenes:
            if isinstance(scene, GameScene):
                for field, model in scene.onnx_models():
                    if model not in models:
                        models[model] = _model_file(model, f"scene {scene.id!r}: {field}")
        return cls(folders, models)

    def controller(self, spec: Any) -> Any:
        """A controller as the page gets it: an OnnxPolicy's `model` path becomes its versioned URL, with
        its `sha256`; "human" and Python policies are unchanged.

        Raises:
            KeyError: the model was not indexed (the assets were not built from this experiment).
        """
        if not (isinstance(spec, dict) and spec.get("kind") == "onnx"):
            return spec
        found = self.models[spec["model"]]
        return spec | {"model": found.url, "sha256": found.sha256}

    def files(self, scene_id: str | None) -> dict[str, AssetFile]:
        """The files a scene sees: the experiment's, then its own (which win on the same name)."""
        return {**self.folders.get(None, {}), **(self.folders.get(scene_id, {}) if scene_id is not None else {})}

    def urls(self, scene_id: str | None) -> dict[str, str]:
        """Name -> versioned URL of every file a scene sees (`SceneSpec.assets`)."""
        return {name: f.url for name, f in self.files(scene_id).items()}

    def rewrite(self, html: str, scene_id: str | None) -> str:
        """`src="assets/<name>"` and `href="assets/<name>"` in a scene's HTML -> the files' versioned URLs
        (unknown names are left as they are)."""
        files = self.files(scene_id)
        if not files:
            return html

        def swap(m: re.Match[str]) -> str:
            found = files.get(unquote(m.group(2)))
            return f'{m.group(1)}="{found.url}"' if found else m.group(0)

        return _REFERENCE.sub(swap, html)

    def listing(self) -> dict[str, dict[str, str]]:
        """Every indexed file's SHA-256, by folder ("experiment" or "scene:<id>") and name (for the bundle's
        manifest)."""
        listed = {
            ("experiment" if scope is None else f"scene:{scope}"): {n: f.sha256 for n, f in files.items()}
            for scope, files in self.folders.items()
        }
        if self.models:
            listed["models"] = {f.name: f.sha256 for f in self.models.values()}
        return listed

    async def serve(self, request: Request) -> Response:
        """`GET /assets/<digest>/<name>`: an indexed file whose bytes still have that digest, else 404."""
        key = (str(request.path_params["digest"]), str(request.path_params["name"]))
        found = self._by_url.get(key)
        if found is None or not self._still(found):
            return Response("not found", status_code=404, media_type="text/plain")
        media = mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        headers = {"Cache-Control": IMMUTABLE, "X-Content-Type-Options": "nosniff"}
        return FileResponse(found.path, media_type=media, headers=headers)

    def _still(self, f: AssetFile) -> bool:
        """Whether the file on disk still is what its URL names (inside its folder, the same bytes)."""
        try:
            if not f.path.resolve().is_relative_to(f.root) or not f.path.is_file():
                return False
            stat = f.path.stat()
            if (stat.st_size, stat.st_mtime_ns) == (f.size, f.mtime_ns):
                return True
            same = _sha256(f.path) == f.sha256
        except OSError:
            return False
        if not same:
            log.warning("asset %s changed since start-up: its old URL answers 404; restart to serve it", f.path)
        return same

    def routes(self) -> list[Route]:
        """The asset route (none without assets)."""
        if not self._by_url:
            return []
        return [Route(PREFIX + "/{digest}/{name:path}", self.serve, methods=["GET", "HEAD"])]
