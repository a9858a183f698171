"""Who must be visited: each special-group resident's period, last visit, due date and worker."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from handlers.visits.rules import Period, VisitRules, period_of
from models import Grid, Resident, Unit, Visit, Worker, WorkerRole

_DEFAULT_ROLES = (WorkerRole.FULLTIME, WorkerRole.LEADER)  # who visits when the registry names nobody


@dataclass(frozen=True)
class VisitStatus:
    """One special-group resident as of a moment."""

    resident: Resident
    grid: Grid | None
    worker: Worker | None  # responsible for the visits
    frequency: str
    period: Period  # the current one
    last_visit: datetime | None
    overdue: bool  # the previous period ended without a visit

    @property
    def visited(self) -> bool:
        """Visited in the current period."""
        return self.last_visit is not None and self.last_visit >= self.period.start

    @property
    def due(self) -> date:
        """The last day of the period in which the next visit must happen."""
        return (self.period.following(self.frequency) if self.visited else self.period).last_day

    def as_json(self) -> dict:
        """The `gridbot visits due --json` row (CONTRACT)."""
        return {"resident": self.resident.userid, "name": self.resident.name,
                "group": "、".join(self.resident.groups), "groups": list(self.resident.groups),
                "grid": self.grid.code if self.grid else None,
                "worker": self.worker.userid if self.worker else None,
                "last_visit": self.last_visit.isoformat() if self.last_visit else None,
                "due": self.due.isoformat(), "overdue": self.overdue}


def responsible(resident: Resident, grid: Grid | None) -> Worker | None:
    """The person's own visit worker, else the grid's first on-duty 专职网格员, else its 网格长."""
    if resident.visit_worker is not None:
        return resident.visit_worker
    if grid is None:
        return None
    on_duty = sorted((w for w in grid.workers if w.on_duty), key=lambda w: w.id)
    for role in _DEFAULT_ROLES:
        found = next((w for w in on_duty if w.role == role), None)
        if found is not None:
            return found
    return None


def grid_leaders(grid: Grid | None) -> list[Worker]:
    """The grid's on-duty 网格长 (told about overdue visits)."""
    if grid is None:
        return []
    return [w for w in grid.workers if w.role == WorkerRole.LEADER and w.on_duty]


def _last_visits(session: Session, ids: list[int], now: datetime) -> dict[int, datetime]:
    found: dict[int, datetime] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        query = (select(Visit.resident_id, func.max(Visit.at)).where(Visit.resident_id.in_(chunk), Visit.at <= now)
                 .group_by(Visit.resident_id))
        found.update({rid: at for rid, at in session.execute(query)})
    return found


def special_residents(session: Session, grid_ids: Iterable[int] | None = None) -> list[Resident]:
    """Residents in some special group (of the given grids), with their unit, grid and workers loaded."""
    query = (select(Resident).join(Unit, Resident.unit_id == Unit.id).where(Resident.groups_since.is_not(None))
             .options(selectinload(Resident.unit).selectinload(Unit.grid).selectinload(Grid.workers),
                      selectinload(Resident.visit_worker))
             .order_by(Unit.grid_id, Resident.id))
    if grid_ids is not None:
        query = query.where(Unit.grid_id.in_(list(grid_ids)))
    return list(session.scalars(query))


def statuses(session: Session, rules: VisitRules, now: datetime, *,
             grid_ids: Iterable[int] | None = None) -> list[VisitStatus]:
    """Every special-group resident (of `grid_ids`) as of `now`."""
    residents = special_residents(session, grid_ids)
    last = _last_visits(session, [r.id for r in residents], now)
    found = []
    for resident in residents:
        frequency = rules.frequency(resident.groups)
        period = period_of(frequency, now)
        previous = period.previous(frequency)
        seen = last.get(resident.id)
        missed = resident.groups_since is not None and resident.groups_since < previous.start \
            and (seen is None or seen < previous.start)
        grid = resident.unit.grid if resident.unit else None
        status = VisitStatus(resident, grid, responsible(resident, grid), frequency, period, seen, False)
        found.append(replace(status, overdue=missed and not status.visited))
    return found


def due_list(session: Session, rules: VisitRules, now: datetime, *, worker: Worker | None = None,
             grid_ids: Iterable[int] | None = None) -> list[VisitStatus]:
    """Who must still be visited this period (of `worker`, or of `grid_ids`): overdue first, then by due date."""
    if worker is not None and grid_ids is None:
        grid_ids = worker_grid_ids(session, worker)
    rows = [s for s in statuses(session, rules, now, grid_ids=grid_ids) if not s.visited
            and (worker is None or (s.worker is not None and s.worker.id == worker.id))]
    return sorted(rows, key=lambda s: (not s.overdue, s.due, s.resident.id))


def worker_grid_ids(session: Session, worker: Worker) -> list[int]:
    """The worker's grids, and the grids of people who name them as their visit worker."""
    query = (select(Unit.grid_id).join(Resident, Resident.unit_id == Unit.id)
             .where(Resident.visit_worker_id == worker.id).distinct())
    return list(dict.fromkeys([grid.id for grid in worker.grids] + list(session.scalars(query))))
