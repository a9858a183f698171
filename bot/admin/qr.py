"""Printable QR codes per building (楼栋二维码): a page per community to print, and its PDF."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.admin.common.deps import Viewer, current_viewer, get_session
from bot.admin.common.rendering import render_page
from bot.qr.links import community_codes, contact_url
from bot.qr.render import pdf, svg
from bot.state import AppState, get_state
from bot.wecom.errors import WeComError
from models import Area, AreaLevel, Grid, Unit

router = APIRouter(prefix="/qr")


def _codes(session: Session, state: AppState, viewer: Viewer, community: str):
    """(community name, its buildings the viewer may see); LookupError when there is none to show."""
    accounts = state.wecom.kf_accounts()
    if not accounts:
        raise LookupError("no kf account")
    base = contact_url(session, state.wecom, accounts[0]["open_kfid"])
    session.commit()
    name, codes = community_codes(session, base, community)
    if viewer.scope.grid_ids is None:
        return name, codes
    visible = set(session.scalars(select(Unit.code).join(Grid).where(Grid.id.in_(viewer.scope.grid_ids))))
    return name, [code for code in codes if code.unit_code in visible]


@router.get("", response_class=HTMLResponse)
def qr_page(request: Request, community: str = "", viewer: Viewer = Depends(current_viewer),
            session: Session = Depends(get_session), state: AppState = Depends(get_state)) -> HTMLResponse:
    """Pick a community; its buildings' codes, one printed page each."""
    communities = session.execute(select(Area.code, Area.name).where(Area.level == AreaLevel.COMMUNITY)
                                  .order_by(Area.code)).all()
    name, codes, error = "", [], None
    if community:
        try:
            name, codes = _codes(session, state, viewer, community)
        except (LookupError, WeComError) as problem:
            error = str(problem)
    return render_page(request, "qr", communities=communities, community=community, name=name,
                       codes=[(code, svg(code.url)) for code in codes], error=error)


@router.get("/{community}.pdf")
def qr_pdf(community: str, viewer: Viewer = Depends(current_viewer), session: Session = Depends(get_session),
           state: AppState = Depends(get_state)) -> Response:
    """The community's codes as a PDF, a page per building."""
    try:
        name, codes = _codes(session, state, viewer, community)
    except (LookupError, WeComError):
        return Response("not found", status_code=404)
    if not codes:
        return Response("not found", status_code=404)
    return Response(pdf(codes, name), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{community}.pdf"'})
