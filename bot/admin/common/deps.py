"""Dependencies of every console route: the session, the logged-in viewer, CSRF, role checks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from bot.admin.common.cookies import COOKIE, MAX_AGE, CookieSession, CookieSigner
from bot.admin.common.rendering import render_page
from bot.admin.common.throttle import LoginThrottle
from bot.state import AppState, get_state
from handlers.console.accounts import Scope, configured_password, may, same_secret, scope_of
from handlers.console.session_key import stored_secret
from models import AdminUser


class NotLoggedIn(Exception):
    """No valid session: the edge redirects to the login page."""


class Forbidden(Exception):
    """Logged in, but the role or scope does not allow this (403)."""


class CsrfRejected(Exception):
    """A form without the session's CSRF token (403)."""


@dataclass
class Console:
    """Per-process console state derived from settings."""

    state: AppState

    @cached_property
    def first_admin_password(self) -> str | None:
        return configured_password(self.state.settings.admin_password, self.state.settings.demo)

    @cached_property
    def throttle(self) -> LoginThrottle:
        return LoginThrottle()

    @cached_property
    def signer(self) -> CookieSigner:
        return CookieSigner(self.state.settings.session_secret or stored_secret(self.state.factory))

    def set_cookie(self, request: Request, response: Response, session: CookieSession) -> None:
        """Secure when forced by `GRIDBOT_SECURE_COOKIES` or when the request came over https (behind a proxy:
        uvicorn's `--forwarded-allow-ips` decides whose X-Forwarded-Proto counts)."""
        secure = self.state.settings.secure_cookies or request.url.scheme == "https"
        response.set_cookie(COOKIE, self.signer.dumps(session), max_age=MAX_AGE, httponly=True, samesite="lax",
                            secure=secure, path="/admin")


def get_console(request: Request, state: AppState = Depends(get_state)) -> Console:
    console = getattr(request.app.state, "gridbot_console", None)
    if console is None or console.state is not state:
        console = request.app.state.gridbot_console = Console(state)
    return console


def get_session(state: AppState = Depends(get_state)) -> Iterator[Session]:
    """One session per request; routes commit what they change."""
    with state.factory() as session:
        yield session


def get_now(state: AppState = Depends(get_state)) -> datetime:
    """The services' clock (tests may move it)."""
    return state.services.clock()


@dataclass(frozen=True)
class Viewer:
    """The logged-in account as plain values (safe to use after the request's session is gone)."""

    user_id: int
    name: str
    role: str
    area_name: str | None
    scope: Scope

    @property
    def actor(self) -> str:
        """How the console's actions appear in case timelines."""
        return f"admin:{self.name}"

    def can(self, capability: str) -> bool:
        return may(self.role, capability)

    def require(self, capability: str) -> None:
        if not self.can(capability):
            raise Forbidden(capability)

    def require_grid(self, grid_id: int | None) -> None:
        if not self.scope.allows(grid_id):
            raise Forbidden("scope")


def cookie_session(request: Request, console: Console = Depends(get_console)) -> CookieSession | None:
    return console.signer.loads(request.cookies.get(COOKIE))


def current_viewer(request: Request, session: Session = Depends(get_session),
                   cookie: CookieSession | None = Depends(cookie_session),
                   console: Console = Depends(get_console)) -> Viewer:
    """The logged-in account, or NotLoggedIn."""
    if cookie is None or cookie.user_id is None or console.first_admin_password is None:
        raise NotLoggedIn
    user = session.get(AdminUser, cookie.user_id)
    if user is None or not user.active or user.session_epoch != cookie.epoch:
        raise NotLoggedIn
    viewer = Viewer(user.id, user.username, user.role, user.area.name if user.area else None,
                    scope_of(session, user))
    request.state.viewer = viewer
    request.state.csrf = cookie.csrf
    return viewer


async def csrf_protect(request: Request, cookie: CookieSession | None = Depends(cookie_session)) -> None:
    """Every state-changing request must carry the session's token in its form."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    form = await request.form()
    token = form.get("csrf_token")
    if cookie is None or not isinstance(token, str) or not same_secret(token, cookie.csrf):
        raise CsrfRejected


def install_error_pages(app) -> None:
    """Turn the console's exceptions into a redirect to the login page, a 403 page, or a 404 for numbers out
    of range."""

    async def to_login(request: Request, _exc: Exception) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/admin/login?{urlencode({'next': target})}", status_code=303)

    async def forbidden(request: Request, exc: Exception) -> HTMLResponse:
        reason = "csrf" if isinstance(exc, CsrfRejected) else "role"
        return render_page(request, "forbidden", status_code=403, reason=reason)

    async def out_of_range(request: Request, _exc: Exception) -> HTMLResponse:
        """An id, page or date no database column can hold (SQLite: OverflowError; PostgreSQL: DataError)."""
        return render_page(request, "not_found", status_code=404 if request.method == "GET" else 400, what="页面")

    app.add_exception_handler(NotLoggedIn, to_login)
    app.add_exception_handler(Forbidden, forbidden)
    app.add_exception_handler(CsrfRejected, forbidden)
    app.add_exception_handler(OverflowError, out_of_range)
    app.add_exception_handler(DataError, out_of_range)


def safe_next(target: str | None) -> str:
    """Only console paths are followed after login (no open redirect)."""
    if target and target.startswith("/admin/") and not target.startswith("//"):
        return target
    return "/admin/"
