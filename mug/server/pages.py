"""HTTP routes: the participant page, the browser client's files, the Pyodide bundle, and health."""

from __future__ import annotations

import functools
import hashlib
import html
import json
import mimetypes
from pathlib import Path
from stat import S_ISREG
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from mug.server.assets import IMMUTABLE, Assets

CLIENT_STATIC = Path(__file__).resolve().parent.parent / "client" / "static"

for _ext, _type in {
    ".wasm": "application/wasm",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".whl": "application/zip",
    ".zip": "application/zip",
    ".json": "application/json",
}.items():
    mimetypes.add_type(_type, _ext)


class ImmutableFiles(StaticFiles):
    """Static files under a content-versioned URL: browsers may keep them for a year without asking again.

    A file with a gzip copy beside it (`NAME.gz`, written by the bundle builder) is sent compressed to
    browsers that accept gzip.
    """

    async def get_response(self, path: str, scope: Scope) -> Response:
        if _accepts_gzip(scope):
            full, stat = self.lookup_path(path + ".gz")
            if stat is not None and S_ISREG(stat.st_mode):
                return FileResponse(
                    full,
                    stat_result=stat,
                    media_type=mimetypes.guess_type(path)[0],
                    headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding", "Cache-Control": IMMUTABLE},
                )
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = IMMUTABLE
        return response


def _accepts_gzip(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"accept-encoding":
            return b"gzip" in value
    return False


def tree_version(folder: Path) -> str:
    """A short hash of a folder's file names and contents: changes whenever any file changes."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


class Site:
    """The page and file routes of one experiment."""

    def __init__(
        self, title: str, bundle_dir: Path, bundle: dict[str, Any] | None, assets: Assets | None = None
    ) -> None:
        self.title = title
        self.bundle_dir = bundle_dir
        self.bundle = bundle
        self.assets = assets or Assets()
        self.static_version = tree_version(CLIENT_STATIC)

    @functools.cached_property
    def template(self) -> str:
        """The page template, read once."""
        return (CLIENT_STATIC / "page.html").read_text(encoding="utf-8")

    def page_config(self) -> dict[str, Any]:
        """The configuration the page starts from (no secrets: every visitor sees it)."""
        bundle = None
        if self.bundle is not None:
            base = f"/bundle/{self.bundle['bundle_id']}/"
            bundle = {
                "indexURL": base,
                "lockFileURL": base + self.bundle["lock_file"],
                "packages": self.bundle["packages"],
                # loaded by the worker only for scenes with an OnnxPolicy
                "onnxruntime": base + self.bundle["onnxruntime"] if self.bundle.get("onnxruntime") else None,
            }
        return {
            "title": self.title,
            "socketPath": "/socket.io",
            "static": f"/static/{self.static_version}/",
            "bundle": bundle,
        }

    async def index(self, request: Request) -> HTMLResponse:
        # `</` cannot appear inside the JSON, so the inline script cannot be closed early by a value
        config = json.dumps(self.page_config()).replace("</", "<\\/")
        body = self.template.replace("__MUG_CONFIG__", config).replace("__MUG_TITLE__", html.escape(self.title))
        return HTMLResponse(body, headers={"Cache-Control": "no-store"})

    def routes(self) -> list[Route | Mount]:
        """The routes, as a list (Starlette style)."""
        routes: list[Route | Mount] = [
            Route("/", self.index),
            Mount(f"/static/{self.static_version}", ImmutableFiles(directory=CLIENT_STATIC), name="static"),
            *self.assets.routes(),  # the researcher's files (mug.server.assets)
        ]
        if self.bundle is not None:
            routes.append(
                Mount(f"/bundle/{self.bundle['bundle_id']}", ImmutableFiles(directory=self.bundle_dir), name="bundle")
            )
        return routes


def health_route(info: Any) -> Route:
    """`GET /healthz`: liveness plus a few figures for monitoring."""

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", **info()})

    return Route("/healthz", healthz)
