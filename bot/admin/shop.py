"""积分超市 (/admin/shop): items with points and stock, 核销 of pickup codes, the month's ranking per grid
and volunteers with their hours and stars."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from bot.admin.common.deps import Viewer, current_viewer, get_now, get_session
from bot.admin.common.rendering import refused, render_page, see_other
from handlers.console import shop
from handlers.points import shop as counter

router = APIRouter(prefix="/shop")


@router.get("", response_class=HTMLResponse)
def page(request: Request, done: str | None = None, error: str | None = None, handed: str | None = None,
         viewer: Viewer = Depends(current_viewer), session: Session = Depends(get_session),
         now: datetime = Depends(get_now)) -> HTMLResponse:
    return render_page(request, "shop", shop_items=shop.items(session), redemptions=shop.recent_redemptions(session),
                       rankings=shop.rankings(session, now, viewer.scope.grid_ids), volunteers=shop.volunteers(session),
                       done=done, error=error, handed=handed)


@router.post("/items")
def save_item(name: str = Form(""), points: str = Form(""), stock: str = Form(""), active: str = Form(""),
              viewer: Viewer = Depends(current_viewer), session: Session = Depends(get_session),
              now: datetime = Depends(get_now)) -> Response:
    viewer.require("manage")
    try:
        shop.save_item(session, name=name, points=points, stock=stock, active=bool(active), actor=viewer.actor,
                       now=now)
    except shop.ItemError as error:
        return refused(session, "/admin/shop", error)
    session.commit()
    return see_other("/admin/shop", done=name.strip())


@router.post("/handover")
def hand_over(code: str = Form(""), viewer: Viewer = Depends(current_viewer), session: Session = Depends(get_session),
              now: datetime = Depends(get_now)) -> Response:
    """核销 at the counter: the same step as a worker's `核销 码`; the page shows its answer."""
    viewer.require("work")
    answer = counter.hand_over(session, code, viewer.actor, now)
    session.commit()
    return see_other("/admin/shop", handed=answer)
