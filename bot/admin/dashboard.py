"""The dashboard (一图统揽): KPIs for a period and area, charts, slowest grids, overdue cases."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.admin.common.charts import daily_bars, daily_lines, hbars
from bot.admin.common.deps import Viewer, current_viewer, get_now, get_session
from bot.admin.common.rendering import render_page
from bot.state import AppState, get_state
from handlers.console.accounts import grids_under
from handlers.console.cases import parse_day
from handlers.console.stats import Period, dashboard
from handlers.texts import BEIJING
from handlers.visits.coverage import checkins_per_day, coverage
from handlers.visits.rules import visit_rules
from models import Area, Grid

router = APIRouter()


def period_from(days: int | None, start: str | None, end: str | None, now: datetime) -> Period:
    """An explicit [start, end] (Beijing days), else the last `days` days ending today."""
    today = now.astimezone(BEIJING).date()
    first, last = parse_day(start), parse_day(end)
    if first and last and first <= last:
        return Period.days(first, min(last, first + timedelta(days=366)))
    days = min(max(days or 30, 1), 366)
    return Period.days(today - timedelta(days=days - 1), today)


def visible_grids(session: Session, viewer: Viewer, area: str | None, grid: str | None) -> frozenset[int] | None:
    """The viewer's scope narrowed to an area code or a grid code (None: everything)."""
    chosen = viewer.scope.grid_ids
    if grid:
        ids = frozenset(session.scalars(select(Grid.id).where(Grid.code == grid)))
        chosen = ids if chosen is None else chosen & ids
    elif area:
        area_id = session.scalar(select(Area.id).where(Area.code == area))
        ids = grids_under(session, area_id) if area_id is not None else frozenset()
        chosen = ids if chosen is None else chosen & ids
    return chosen


@router.get("/", response_class=HTMLResponse)
def home(request: Request, days: int | None = None, start: str | None = None, end: str | None = None,
         area: str | None = None, grid: str | None = None, viewer: Viewer = Depends(current_viewer),
         session: Session = Depends(get_session), state: AppState = Depends(get_state),
         now: datetime = Depends(get_now)) -> HTMLResponse:
    period = period_from(days, start, end, now)
    grid_ids = visible_grids(session, viewer, area, grid)
    board = dashboard(session, period, grid_ids, now)
    areas = session.scalars(select(Area).where(Area.level != "district").order_by(Area.code)).all()
    grids = session.scalars(select(Grid).order_by(Grid.code)).all()
    charts = {
        "daily": daily_lines(board.per_day, chart_id="chart-daily"),
        "category": hbars(board.by_category[:15], chart_id="chart-category"),
        "grid": hbars([(row.name, row.received) for row in board.by_grid[:20]], chart_id="chart-grid"),
        "checkins": daily_bars(checkins_per_day(session, period.each_day(), period.start, period.end, grid_ids),
                               chart_id="chart-checkins", title="巡查打卡"),
    }
    visits = coverage(session, visit_rules(state.settings.config_dir), now, grid_ids)
    shown_start = period.start.astimezone(BEIJING).date()
    shown_end = (period.end - timedelta(days=1)).astimezone(BEIJING).date()
    return render_page(request, "dashboard", board=board, charts=charts, areas=areas, visits=visits,
                       grids=[g for g in grids if viewer.scope.allows(g.id)], start=shown_start, end=shown_end,
                       area=area or "", grid=grid or "", now=now)
