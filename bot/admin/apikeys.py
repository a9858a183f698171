"""Open311 API keys in the console: list them with their use, create one (shown once), revoke one."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from bot.admin.common.deps import Viewer, current_viewer, get_now, get_session
from bot.admin.common.rendering import refused, render_page, see_other
from handlers import open311

router = APIRouter(prefix="/apikeys")


def _page(request: Request, session: Session, *, status_code: int = 200, **context) -> HTMLResponse:
    return render_page(request, "apikeys", status_code=status_code, keys=open311.list_keys(session),
                       default_rate=open311.DEFAULT_RATE, **{"new_key": None, "error": None, **context})


@router.get("", response_class=HTMLResponse)
def page(request: Request, error: str | None = None, viewer: Viewer = Depends(current_viewer),
         session: Session = Depends(get_session)) -> HTMLResponse:
    viewer.require("manage")
    return _page(request, session, error=error)


@router.post("", response_class=HTMLResponse)
def create(request: Request, name: str = Form(""), rate: int = Form(open311.DEFAULT_RATE),
           viewer: Viewer = Depends(current_viewer), session: Session = Depends(get_session),
           now: datetime = Depends(get_now)) -> HTMLResponse:
    """The new key is on this page only (never in a URL or a log)."""
    viewer.require("manage")
    try:
        key = open311.create_key(session, name.strip(), actor=viewer.actor, now=now, rate_per_minute=rate)
    except open311.ApiKeyError as error:
        session.rollback()
        return _page(request, session, status_code=400, error=str(error))
    session.commit()
    return _page(request, session, new_key=(name.strip(), key))


@router.post("/{name}/revoke")
def revoke(name: str, viewer: Viewer = Depends(current_viewer), session: Session = Depends(get_session),
           now: datetime = Depends(get_now)) -> Response:
    viewer.require("manage")
    try:
        open311.revoke_key(session, name, actor=viewer.actor, now=now)
    except open311.ApiKeyError as error:
        return refused(session, "/admin/apikeys", error)
    session.commit()
    return see_other("/admin/apikeys")
