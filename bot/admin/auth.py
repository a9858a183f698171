"""Login, logout, console accounts and the audit log page."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial
from math import ceil

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from bot.admin.common.cookies import CookieSession
from bot.admin.common.deps import (
    Console,
    Viewer,
    cookie_session,
    current_viewer,
    get_console,
    get_now,
    get_session,
    safe_next,
)
from bot.admin.common.rendering import refused, render_page, see_other
from bot.admin.common.throttle import Busy
from handlers.console import accounts
from handlers.console.audit import recent
from models import AdminRole, AdminUser, Area

router = APIRouter()
log = logging.getLogger("gridbot.admin")


def _login_page(request: Request, console: Console, cookie: CookieSession, *, status_code: int = 200,
                error: accounts.LoginError | None = None, next_path: str = "/admin/", **context) -> HTMLResponse:
    request.state.csrf = cookie.csrf
    response = render_page(request, "login", status_code=status_code, error=error, next_path=next_path,
                           disabled=console.first_admin_password is None,
                           demo_password=accounts.DEMO_ADMIN_PASSWORD if console.state.settings.demo
                           and console.first_admin_password == accounts.DEMO_ADMIN_PASSWORD else None, **context)
    console.set_cookie(request, response, cookie)
    return response


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request, next: str | None = None, console: Console = Depends(get_console),
               cookie: CookieSession | None = Depends(cookie_session)) -> HTMLResponse:
    return _login_page(request, console, cookie or CookieSession.anonymous(), next_path=safe_next(next))


def _committed(session: Session) -> bool:
    """Commit, or roll back when the database is busy (SQLite's lock): a login never answers 500."""
    try:
        session.commit()
        return True
    except OperationalError:
        session.rollback()
        log.warning("login not recorded: database busy")
        return False


@router.post("/login")
def login(request: Request, username: str = Form(""), password: str = Form(""), next: str = Form("/admin/"),
          console: Console = Depends(get_console), cookie: CookieSession = Depends(cookie_session),
          session: Session = Depends(get_session), now: datetime = Depends(get_now)) -> Response:
    client = request.client.host if request.client else "?"
    page = partial(_login_page, request, console, cookie, next_path=safe_next(next))
    try:
        wait = console.throttle.retry_after(session, client, now)
        session.rollback()  # the read ends here: no lock is held while waiting for a password-check slot
    except OperationalError:  # SQLite's write lock held past the busy timeout
        session.rollback()
        return page(status_code=503, error=accounts.LoginError("busy"))
    if wait:
        response = page(status_code=429, error=accounts.LoginError("throttled"), retry_minutes=ceil(wait / 60))
        response.headers["Retry-After"] = str(ceil(wait))
        return response
    try:
        with console.throttle.checking():
            user = accounts.login(session, username.strip(), password,
                                  first_admin_password=console.first_admin_password, now=now)
    except Busy:
        return page(status_code=429, error=accounts.LoginError("busy"))
    except OperationalError:  # SQLite's write lock held past the busy timeout
        session.rollback()
        return page(status_code=503, error=accounts.LoginError("busy"))
    except accounts.LoginError as error:
        if error.reason == "invalid":
            console.throttle.failed(session, client, now)
        _committed(session)  # the failure count and the audit row, when the database can take them
        return page(status_code=503 if error.reason == "disabled" else 401, error=error)
    console.throttle.succeeded(session, client)
    if not _committed(session):
        return page(status_code=503, error=accounts.LoginError("busy"))
    response = RedirectResponse(safe_next(next), status_code=303)
    console.set_cookie(request, response, cookie.logged_in(user.id, user.session_epoch))
    return response


@router.post("/logout")
def logout(request: Request, viewer: Viewer = Depends(current_viewer), console: Console = Depends(get_console),
           session: Session = Depends(get_session), now: datetime = Depends(get_now)) -> Response:
    accounts.logout(session, session.get(AdminUser, viewer.user_id), now=now)
    session.commit()
    response = RedirectResponse("/admin/login", status_code=303)
    console.set_cookie(request, response, CookieSession.anonymous())
    return response


@router.get("/users", response_class=HTMLResponse)
def users(request: Request, error: str | None = None, viewer: Viewer = Depends(current_viewer),
          session: Session = Depends(get_session)) -> HTMLResponse:
    viewer.require("manage")
    rows = session.scalars(select(AdminUser).order_by(AdminUser.id)).all()
    areas = session.scalars(select(Area).order_by(Area.level, Area.code)).all()
    return render_page(request, "users", users=rows, areas=areas, roles=list(AdminRole), error=error)


@router.post("/users")
def create_user(request: Request, username: str = Form(...), password: str = Form(...), role: str = Form(...),
                area_id: str = Form(""), viewer: Viewer = Depends(current_viewer),
                session: Session = Depends(get_session), now: datetime = Depends(get_now)) -> Response:
    viewer.require("manage")
    try:
        accounts.create_user(session, actor=viewer.name, username=username, password=password, role=role,
                             area_id=int(area_id) if area_id.isdigit() else None, now=now)
    except accounts.AccountError as error:
        return refused(session, "/admin/users", error)
    session.commit()
    return see_other("/admin/users")


@router.post("/users/{user_id}/active")
def set_active(request: Request, user_id: int, active: str = Form(...), viewer: Viewer = Depends(current_viewer),
               session: Session = Depends(get_session), now: datetime = Depends(get_now)) -> Response:
    viewer.require("manage")
    user = session.get(AdminUser, user_id)
    if user is not None:
        try:
            accounts.set_active(session, actor=viewer.name, user=user, active=active == "1", now=now)
        except accounts.AccountError as error:
            return refused(session, "/admin/users", error)
        session.commit()
    return see_other("/admin/users")


@router.get("/audit", response_class=HTMLResponse)
def audit(request: Request, page: int = 1, action: str | None = None, viewer: Viewer = Depends(current_viewer),
          session: Session = Depends(get_session)) -> HTMLResponse:
    viewer.require("manage")
    page = max(1, page)
    entries, total = recent(session, limit=100, offset=(page - 1) * 100, action_prefix=action or None)
    return render_page(request, "audit", entries=entries, total=total, page=page, action=action or "")
