"""The admin view's routes (Starlette), all under /admin; see `mug.server.admin` for what each does."""

from __future__ import annotations

import asyncio
import html
import logging
import os
import tempfile
import time
import urllib.parse
import zipfile
from pathlib import Path
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from mug.configurations import Experiment
from mug.server.admin.auth import CSRF_HEADER, AdminAuth, Session, csrf_ok, same_origin
from mug.server.admin.view import snapshot
from mug.server.pages import tree_version

log = logging.getLogger("mug.admin")

STATIC = Path(__file__).resolve().parent / "static"
MAX_FORM_BYTES = 4096  # a login form is a password
SNAPSHOT_CACHE_S = 1.0  # several admin tabs polling every 2 s read the database at most once a second
NO_STORE = {"Cache-Control": "no-store"}
# the admin pages load only their own files, and nothing may frame them
SECURITY_HEADERS = {
    # (uPlot sets element styles from script: 'unsafe-inline' for styles only)
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'",
    "X-Frame-Options": "DENY",
    # (not "no-referrer": Chromium then sends its form posts with `Origin: null`, which the checks refuse)
    "Referrer-Policy": "same-origin",
    **NO_STORE,
}


class AdminView:
    """The admin view of one experiment.

    Args:
        experiment: the experiment served.
        auth: the password, sessions and CSRF checks.
        services: `() -> (store, multiplayer)`, available once the server has started.
        database_url: for the export.
        bundle_dir: the bundle served (its lock file's hash goes into the export's metadata).
    """

    def __init__(
        self, experiment: Experiment, auth: AdminAuth, services: Any, database_url: str, bundle_dir: Path
    ) -> None:
        self.experiment = experiment
        self.auth = auth
        self.services = services
        self.database_url = database_url
        self.bundle_dir = bundle_dir
        self.static_version = tree_version(STATIC)
        self._cached: tuple[float, dict[str, Any]] | None = None
        self._lock = asyncio.Lock()

    def routes(self) -> list[Route | Mount]:
        """The routes, as a list (Starlette style)."""
        return [
            Route("/admin", self.index, methods=["GET"]),
            Route("/admin/login", self.login, methods=["POST"]),
            Route("/admin/logout", self.logout, methods=["POST"]),
            Route("/admin/api/state", self.state, methods=["GET"]),
            Route("/admin/api/matches/{match_id}/end", self.end_match, methods=["POST"]),
            Route("/admin/api/participants/{pid}/exclude", self.exclude, methods=["POST"]),
            Route("/admin/export.zip", self.export, methods=["GET"]),
            Mount(f"/admin/static/{self.static_version}", StaticFiles(directory=STATIC), name="admin-static"),
        ]

    def _page(self, name: str, status_code: int = 200, **values: str) -> HTMLResponse:
        body = (STATIC / name).read_text(encoding="utf-8")
        values = {"STATIC": f"/admin/static/{self.static_version}/", "TITLE": self.experiment.title, **values}
        for key, value in values.items():
            body = body.replace(f"__{key}__", html.escape(value))
        return HTMLResponse(body, status_code=status_code, headers=SECURITY_HEADERS)

    def _login_page(self, message: str = "", status_code: int = 200) -> HTMLResponse:
        return self._page("login.html", status_code, MESSAGE=message)

    async def index(self, request: Request) -> Response:
        session = self.auth.session(request)
        if session is None:
            return self._login_page()
        return self._page("admin.html", CSRF=session.csrf)

    async def login(self, request: Request) -> Response:
        address = request.client.host if request.client else "unknown"
        if not same_origin(request, required=False):
            return self._login_page("This form must be sent from this server's own page.", 403)
        _, multiplayer = self.services()
        if not await self.auth.allow_attempt(multiplayer.live, address):
            log.warning("admin login refused for %s: too many attempts", address)
            refusal = self._login_page("Too many attempts from your address: wait a minute and try again.", 429)
            refusal.headers["Retry-After"] = "60"
            return refusal
        body = await _bounded_body(request)
        if body is None:
            return self._login_page("The form was too large.", 413)
        # an HTML form's urlencoded body (parsed here: Starlette's form parser needs python-multipart)
        fields = urllib.parse.parse_qs(body.decode("utf-8", "replace"), max_num_fields=4)
        sent = fields.get("password")
        if not sent or not self.auth.password_ok(sent[0]):
            log.warning("admin login failed from %s", address)
            return self._login_page("Wrong password.", 401)
        log.info("admin logged in from %s", address)
        response = RedirectResponse("/admin", status_code=303, headers=NO_STORE)
        self.auth.set_cookie(response, request, self.auth.new_cookie())
        return response

    async def logout(self, request: Request) -> Response:
        refused = self._refuse_action(request)
        if refused is not None:
            return refused
        response = RedirectResponse("/admin", status_code=303, headers=NO_STORE)
        self.auth.clear_cookie(response, request)
        return response

    def _refuse_action(self, request: Request) -> Response | None:
        """Why an action is refused (no session, a cross-site request, no CSRF token), or None to go on."""
        session = self.auth.session(request)
        if session is None:
            return _error(401, "not_logged_in", "log in at /admin first")
        if not same_origin(request, required=True):
            return _error(403, "bad_origin", "actions must come from this server's own admin page (Origin header)")
        if not csrf_ok(session, request.headers.get(CSRF_HEADER)):
            return _error(403, "bad_csrf", f"the {CSRF_HEADER} header must carry this session's token")
        return None

    def _session(self, request: Request) -> Session | None:
        return self.auth.session(request)

    async def state(self, request: Request) -> Response:
        if self._session(request) is None:
            return _error(401, "not_logged_in", "log in at /admin first")
        return JSONResponse(await self._snapshot(), headers=NO_STORE)

    async def _snapshot(self, fresh: bool = False) -> dict[str, Any]:
        async with self._lock:
            now = time.time()
            if fresh or self._cached is None or now - self._cached[0] > SNAPSHOT_CACHE_S:
                store, _ = self.services()
                self._cached = (now, await snapshot(store, self.experiment, now))
            return self._cached[1]

    async def end_match(self, request: Request) -> Response:
        refused = self._refuse_action(request)
        if refused is not None:
            return refused
        match_id = request.path_params["match_id"]
        _, multiplayer = self.services()
        if not await multiplayer.end_by_admin(match_id):
            return _error(404, "no_live_match", f"there is no running match {match_id[:64]!r}")
        self._cached = None
        return JSONResponse({"ok": True, "match": match_id}, headers=NO_STORE)

    async def exclude(self, request: Request) -> Response:
        refused = self._refuse_action(request)
        if refused is not None:
            return refused
        pid = request.path_params["pid"]
        _, multiplayer = self.services()
        try:
            scene = await multiplayer.exclude(pid)
        except LookupError as exc:
            return _error(404, "no_participant", str(exc))
        except ValueError as exc:
            return _error(409, "ended_already", str(exc))
        self._cached = None
        return JSONResponse({"ok": True, "participant": pid, "scene": scene}, headers=NO_STORE)

    async def export(self, request: Request) -> Response:
        if self._session(request) is None:
            return _error(401, "not_logged_in", "log in at /admin first")
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        name = f"{self.experiment.id}-{stamp}.zip"
        # in a thread, with its own event loop and database connection: writing the tables of a large study
        # takes seconds that this process's lobbies and matches must not wait for
        archive = await asyncio.to_thread(self._export_zip)
        return FileResponse(
            archive,
            media_type="application/zip",
            filename=name,
            headers=NO_STORE,
            background=BackgroundTask(archive.unlink, missing_ok=True),
        )

    def _export_zip(self) -> Path:
        """`mug export` of this experiment into a temporary zip file (the caller removes it)."""
        from mug.server.export import export_csv

        handle, name = tempfile.mkstemp(prefix="mug-export-", suffix=".zip")
        os.close(handle)
        archive = Path(name)
        try:
            with tempfile.TemporaryDirectory(prefix="mug-export-") as folder:
                paths = export_csv(self.database_url, folder, self.experiment.id, self.experiment, self.bundle_dir)
                with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as out:
                    for path in paths:
                        out.write(path, path.relative_to(folder).as_posix())
        except BaseException:
            archive.unlink(missing_ok=True)
            raise
        return archive


async def _bounded_body(request: Request) -> bytes | None:
    """The request body, or None when it is larger than a login form can be."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_FORM_BYTES):
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return None
    return body


def _error(status_code: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": {"code": code, "message": message}}, status_code, headers=NO_STORE)
