"""Visit coverage per grid (the share of special-group residents visited this period) and patrol check-ins per day."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.texts import BEIJING
from handlers.visits.due import VisitStatus, statuses
from handlers.visits.rules import VisitRules
from models import PatrolCheckin


@dataclass
class GridCoverage:
    """One grid's special-group residents as of a moment."""

    grid_id: int
    code: str
    name: str
    people: int = 0
    visited: int = 0
    overdue: int = 0
    due: list[VisitStatus] = field(default_factory=list)  # not yet visited this period

    @property
    def rate(self) -> float | None:
        return self.visited / self.people if self.people else None


def coverage(session: Session, rules: VisitRules, now: datetime,
             grid_ids: Iterable[int] | None = None) -> list[GridCoverage]:
    """Per grid with special-group residents: how many, how many visited this period, how many overdue."""
    rows: dict[int, GridCoverage] = {}
    for status in statuses(session, rules, now, grid_ids=grid_ids):
        if status.grid is None:
            continue
        row = rows.setdefault(status.grid.id, GridCoverage(status.grid.id, status.grid.code, status.grid.name))
        row.people += 1
        row.visited += status.visited
        row.overdue += status.overdue
        if not status.visited:
            row.due.append(status)
    return sorted(rows.values(), key=lambda row: row.code)


def checkins_per_day(session: Session, days: list[date], start: datetime, end: datetime,
                     grid_ids: Iterable[int] | None = None) -> list[tuple[date, int]]:
    """Patrol check-ins on each Beijing day of [start, end)."""
    query = select(PatrolCheckin.at).where(PatrolCheckin.at >= start, PatrolCheckin.at < end)
    if grid_ids is not None:
        query = query.where(PatrolCheckin.grid_id.in_(list(grid_ids) or [-1]))
    counts = Counter(at.astimezone(BEIJING).date() for at in session.scalars(query))
    return [(day, counts.get(day, 0)) for day in days]
