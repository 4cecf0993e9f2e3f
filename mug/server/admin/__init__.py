"""The admin view at /admin: a live view of a running study, and a few actions on it.

It exists only when `MUG_ADMIN_PASSWORD` is set (`mug.settings.Settings.admin_password`); otherwise no route
is added, `/admin` is not found, and the log says the admin view is off. Its pages are their own small set
of static files (`static/`: `login.html`, `admin.html`, `admin.js`, `admin.css` and the vendored uPlot), never
part of the participant's page.

Routes (`routes.AdminView`):

| route | what |
| --- | --- |
| `GET /admin` | the login form, or (logged in) the live view |
| `POST /admin/login` | form field `password`: sets the session cookie; 401 wrong, 429 over the rate limit |
| `POST /admin/logout` | ends the session in this browser (an action: CSRF token and Origin) |
| `GET /admin/api/state` | the view's JSON (`view.snapshot`), polled every 2 s by the page |
| `POST /admin/api/matches/<id>/end` | ends a running match: outcome `ended_by_admin` for its members |
| `POST /admin/api/participants/<pid>/exclude` | outcome `excluded`, wherever they are |
| `GET /admin/export.zip` | the tables of `mug export` (this experiment), as a zip |

Security (`auth`): constant-time password check, login attempts limited per client address (shared through
the live state, so through Redis with several processes), an HttpOnly, SameSite=Strict session cookie
(Secure under HTTPS), and actions that need the session's CSRF token in a header plus a same-origin
`Origin`. Actions reach participants on any server process (events through the Socket.IO manager, outcome
pages through `LiveState` commands, as a match's own end does).
"""

from mug.server.admin.auth import AdminAuth
from mug.server.admin.routes import AdminView

__all__ = ["AdminAuth", "AdminView"]
