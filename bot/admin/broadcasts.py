"""Broadcasts: a policy notice to the residents of chosen grids or communities, with delivery counts."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.admin.common.deps import Viewer, current_viewer, get_now, get_session
from bot.admin.common.rendering import refused, render_page, see_other
from handlers.console import broadcasts
from handlers.console.accounts import grids_under
from models import Area, AreaLevel, Grid

router = APIRouter(prefix="/broadcasts")


@router.get("", response_class=HTMLResponse)
def page(request: Request, done: int | None = None, error: str | None = None,
         viewer: Viewer = Depends(current_viewer), session: Session = Depends(get_session)) -> HTMLResponse:
    grids = [g for g in session.scalars(select(Grid).order_by(Grid.code)) if viewer.scope.allows(g.id)]
    communities = session.scalars(select(Area).where(Area.level == AreaLevel.COMMUNITY,
                                                     Area.id.in_({g.area_id for g in grids}))
                                  .order_by(Area.code)).all()
    return render_page(request, "broadcasts", grids=grids, communities=communities, done=done, error=error,
                       history=broadcasts.history(session, viewer.scope.grid_ids), per_minute=broadcasts.SEND_PER_MINUTE,
                       per_hour=broadcasts.MAX_PER_HOUR)


@router.post("")
async def send(request: Request, title: str = Form(""), text: str = Form(""), viewer: Viewer = Depends(current_viewer),
               session: Session = Depends(get_session), now: datetime = Depends(get_now)) -> Response:
    viewer.require("work")
    form = await request.form()
    chosen = set(session.scalars(select(Grid.id).where(Grid.code.in_(form.getlist("grid")))))
    for code in form.getlist("community"):
        area_id = session.scalar(select(Area.id).where(Area.code == code))
        if area_id is not None:
            chosen |= grids_under(session, area_id)
    if viewer.scope.grid_ids is not None:
        chosen &= viewer.scope.grid_ids
    try:
        broadcast = broadcasts.send(session, author=viewer.name, title=title, text=text, grid_ids=chosen,
                                          now=now, sender_area=viewer.area_name)
    except broadcasts.BroadcastError as error:
        return refused(session, "/admin/broadcasts", error)
    session.commit()
    return see_other("/admin/broadcasts", done=str(broadcast.id))
