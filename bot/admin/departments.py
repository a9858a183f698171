"""吹哨报到 (/admin/departments): per department 报到率, time to 报到, 办结率 and returns; departments and
their liaisons edited by admins."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from bot.admin.common.deps import Viewer, current_viewer, get_now, get_session
from bot.admin.common.rendering import refused, render_page, see_other
from bot.admin.dashboard import period_from
from handlers.console import departments

router = APIRouter(prefix="/departments")


@router.get("", response_class=HTMLResponse)
def page(request: Request, days: int | None = None, done: str | None = None, error: str | None = None,
         viewer: Viewer = Depends(current_viewer), session: Session = Depends(get_session),
         now: datetime = Depends(get_now)) -> HTMLResponse:
    period = period_from(days, None, None, now)
    stats = departments.department_stats(session, period.start, period.end)
    return render_page(request, "departments", stats=stats, days=days or 30, done=done, error=error)


@router.post("")
def save(code: str = Form(""), name: str = Form(""), liaisons: str = Form(""), report_hours: str = Form(""),
         viewer: Viewer = Depends(current_viewer), session: Session = Depends(get_session),
         now: datetime = Depends(get_now)) -> Response:
    viewer.require("manage")
    try:
        departments.save_department(session, code=code, name=name, liaisons=liaisons, report_hours=report_hours,
                                    actor=viewer.actor, now=now)
    except departments.DepartmentError as error:
        return refused(session, "/admin/departments", error)
    session.commit()
    return see_other("/admin/departments", done=code.strip())
