"""Who may use the admin view: the password, the login rate limit, the session cookie and CSRF checks.

- The password (`MUG_ADMIN_PASSWORD`) is compared in constant time (`hmac.compare_digest` of SHA-256 digests,
  so neither its length nor its content leaks through timing).
- Login attempts are counted per client address over a sliding minute, in the live state
  (`LiveState.take`): with several processes behind Redis they share one count. The address is the ASGI
  client, which uvicorn takes from X-Forwarded-For only for proxies in its `--forwarded-allow-ips`.
- A session is a cookie `mug_admin` = `<random id>.<issued at>.<MAC>`: 128 random bits, the issue time, and an
  HMAC-SHA256 over both with a key derived from the password (PBKDF2, once at start-up), so every process that
  knows the password accepts it without shared session state, and changing the password ends every session. It
  lasts `SESSION_S`. The cookie is HttpOnly, SameSite=Strict, Path=/admin, and Secure when the request came
  over HTTPS (the scheme uvicorn reports, X-Forwarded-Proto included from trusted proxies).
- Actions (POST) need the session's CSRF token (an HMAC of the session id, sent by the page in the
  `X-MUG-CSRF` header or a `csrf` form field) and an `Origin` header naming this server; the login form too
  must come from this origin when the browser says where it came from.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from mug.server.live import LiveState

COOKIE = "mug_admin"
COOKIE_PATH = "/admin"
CSRF_HEADER = "x-mug-csrf"
SESSION_S = 12 * 3600  # a session lasts a working day; then log in again
LOGIN_ATTEMPTS_PER_MINUTE = 5  # per client address, shared by every process
LOGIN_WINDOW_S = 60.0
_KDF_ROUNDS = 200_000  # the session key from the password: a stolen cookie is no cheap test of guesses


@dataclass(frozen=True, slots=True)
class Session:
    """A logged-in admin session."""

    id: str
    issued_at: float
    csrf: str


class AdminAuth:
    """Checks the password and issues and verifies session cookies and CSRF tokens.

    Args:
        password: the admin password.
        namespace: the experiment id (separates the keys of experiments sharing a password).
        attempts_per_minute: login attempts allowed per client address in any one-minute window.
    """

    def __init__(
        self,
        password: str,
        namespace: str,
        attempts_per_minute: int = LOGIN_ATTEMPTS_PER_MINUTE,
    ) -> None:
        if not password:
            raise ValueError("the admin password is empty: set MUG_ADMIN_PASSWORD, or leave the admin view off")
        self._digest = hashlib.sha256(password.encode()).digest()
        salt = f"mug-admin-session:{namespace}".encode()
        self._key = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _KDF_ROUNDS)
        self.attempts_per_minute = attempts_per_minute

    def password_ok(self, attempt: str) -> bool:
        """Whether `attempt` is the password (constant time)."""
        return hmac.compare_digest(hashlib.sha256(attempt.encode()).digest(), self._digest)

    async def allow_attempt(self, live: LiveState, address: str) -> bool:
        """Count a login attempt from `address` in the live state (one sliding minute shared by every process);
        False, counting nothing, once it made the limit's worth in the last minute."""
        refused = await live.take("admin_login", address, self.attempts_per_minute, LOGIN_WINDOW_S)
        return refused is None

    def _mac(self, message: str) -> str:
        return hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()

    def new_cookie(self, now: float | None = None) -> str:
        """A new session's cookie value."""
        session_id = secrets.token_hex(16)
        issued = str(int(time.time() if now is None else now))
        return f"{session_id}.{issued}.{self._mac(session_id + '.' + issued)}"

    def session(self, request: Request, now: float | None = None) -> Session | None:
        """The request's valid session, or None (no cookie, a forged or expired one)."""
        value = request.cookies.get(COOKIE, "")
        parts = value.split(".")
        if len(parts) != 3 or not parts[1].isdigit():
            return None
        session_id, issued, mac = parts
        if not hmac.compare_digest(mac, self._mac(session_id + "." + issued)):
            return None
        age = (time.time() if now is None else now) - int(issued)
        if not 0 <= age <= SESSION_S:
            return None
        return Session(session_id, float(issued), self._mac("csrf:" + session_id))

    def set_cookie(self, response: Response, request: Request, value: str) -> None:
        """Put the session cookie on a response (Secure when the request came over HTTPS)."""
        response.set_cookie(
            COOKIE,
            value,
            max_age=SESSION_S,
            path=COOKIE_PATH,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme in ("https", "wss"),
        )

    def clear_cookie(self, response: Response, request: Request) -> None:
        """Remove the session cookie (log out in this browser)."""
        response.delete_cookie(
            COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict", secure=request.url.scheme == "https"
        )


def same_origin(request: Request, required: bool) -> bool:
    """Whether the request's `Origin` header names this server (as the browser reached it). Without the header:
    `not required` (a browser always sends it with a script's POST; an old one may leave it out of a form's)."""
    origin = request.headers.get("origin")
    if origin is None:
        return not required
    return origin == f"{request.url.scheme}://{request.url.netloc}"


def csrf_ok(session: Session, sent: str | None) -> bool:
    """Whether `sent` is the session's CSRF token (constant time)."""
    return sent is not None and hmac.compare_digest(sent.encode(), session.csrf.encode())
