"""一图统揽 on a map: every grid's boundary with its open and overdue cases, visit coverage and due visits."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.cases.timing import overdue_by
from handlers.chat.case_numbers import format_case_number
from handlers.texts import label
from handlers.visits.coverage import GridCoverage, coverage
from handlers.visits.rules import VisitRules
from models import OPEN_STATES, Case, Grid

CASES_PER_GRID = 20
MAX_OPEN_CASES = 5000


def _point(case: Case) -> tuple[float, float] | None:
    """Where a case happened, when known: its location message."""
    location = case.location or {}
    if location.get("lat") is not None and location.get("lng") is not None:
        return float(location["lat"]), float(location["lng"])
    return None


def _case_row(case: Case, now: datetime) -> dict:
    return {"id": case.id, "number": format_case_number(case.id), "category": case.category or "",
            "state": label("states", case.state), "overdue": overdue_by(case, now) is not None}


def _visit_rows(row: GridCoverage | None) -> list[dict]:
    if row is None:
        return []
    return [{"name": s.resident.name or s.resident.userid, "groups": "、".join(s.resident.groups),
             "due": s.due.isoformat(), "overdue": s.overdue, "worker": s.worker.name if s.worker else ""}
            for s in row.due]


def map_data(session: Session, rules: VisitRules, now: datetime, grid_ids: Iterable[int] | None) -> dict:
    """The map page's data: grids with a boundary (in scope), their figures, and open cases with a location."""
    query = select(Grid).order_by(Grid.code)
    if grid_ids is not None:
        query = query.where(Grid.id.in_(list(grid_ids) or [-1]))
    grids = [grid for grid in session.scalars(query) if grid.boundary]
    ids = [grid.id for grid in grids]
    cases = session.scalars(select(Case).where(Case.state.in_(OPEN_STATES), Case.grid_id.in_(ids or [-1]))
                            .order_by(Case.id.desc()).limit(MAX_OPEN_CASES)).all()
    by_grid: dict[int, list[Case]] = defaultdict(list)
    for case in cases:
        by_grid[case.grid_id].append(case)
    visits = {row.grid_id: row for row in coverage(session, rules, now, ids)}
    shapes = []
    for grid in grids:
        open_cases, row = by_grid.get(grid.id, []), visits.get(grid.id)
        rows = [_case_row(case, now) for case in open_cases]
        shapes.append({
            "code": grid.code, "name": grid.name, "boundary": [[lat, lng] for lng, lat in grid.boundary],
            "open": len(rows), "overdue": sum(r["overdue"] for r in rows),
            "people": row.people if row else 0, "visited": row.visited if row else 0,
            "coverage": row.rate if row else None, "visits_overdue": row.overdue if row else 0,
            "cases": sorted(rows, key=lambda r: (not r["overdue"], -r["id"]))[:CASES_PER_GRID],
            "due_visits": _visit_rows(row)})
    markers = [{**_case_row(case, now), "lat": point[0], "lng": point[1], "grid": case.grid.code}
               for case in cases if (point := _point(case)) is not None]
    return {"grids": shapes, "markers": markers}
