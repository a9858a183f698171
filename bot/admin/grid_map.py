"""一图统揽 on a map (`/admin/map`): grid shapes coloured by cases or visit coverage, case markers, a grid's detail."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from bot.admin.common.deps import Viewer, current_viewer, get_now, get_session
from bot.admin.common.rendering import render_page
from bot.state import AppState, get_state
from handlers.console.grid_map import map_data
from handlers.visits.rules import visit_rules

router = APIRouter()


@router.get("/map", response_class=HTMLResponse)
def grid_map(request: Request, colour: str = "cases", viewer: Viewer = Depends(current_viewer),
             session: Session = Depends(get_session), state: AppState = Depends(get_state),
             now: datetime = Depends(get_now)) -> HTMLResponse:
    settings = state.settings
    data = map_data(session, visit_rules(settings.config_dir), now, viewer.scope.grid_ids)
    data["tiles"] = {"url": settings.map_tile_url, "attribution": settings.map_tile_attribution}
    return render_page(request, "map", data=data, colour="coverage" if colour == "coverage" else "cases")
