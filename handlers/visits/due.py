"""Who must be visited: each special-group resident's period, last visit, due date and worker."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, contains_eager, selectinload

from handlers.visits.rules import FREQUENCIES, Period, VisitRules, period_of
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


def grid_default(grid: Grid) -> Worker | None:
    """Who visits the grid's special groups unless the registry names someone: its first on-duty
    专职网格员, else its 网格长."""
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


def _last_visits(session: Session, residents: Select, now: datetime) -> dict[int, datetime]:
    """Each of those residents' latest visit up to `now` (one grouped query over the same filter)."""
    ids = residents.with_only_columns(Resident.id).order_by(None).scalar_subquery()
    query = (select(Visit.resident_id, func.max(Visit.at)).where(Visit.resident_id.in_(ids), Visit.at <= now)
             .group_by(Visit.resident_id))
    return dict(session.execute(query).tuples().all())


def _special_query(grid_ids: Iterable[int] | None) -> Select:
    query = select(Resident).join(Unit, Resident.unit_id == Unit.id).where(Resident.groups_since.is_not(None))
    return query.where(Unit.grid_id.in_(list(grid_ids))) if grid_ids is not None else query


def special_residents(session: Session, grid_ids: Iterable[int] | None = None) -> list[Resident]:
    """Residents in some special group (of the given grids), with their unit, grid and workers loaded."""
    grids = select(Grid).options(selectinload(Grid.workers))
    if grid_ids is not None:
        grids = grids.where(Grid.id.in_(list(grid_ids)))
    session.scalars(grids).all()  # into the identity map: each unit.grid is then found without a query
    query = (_special_query(grid_ids).options(contains_eager(Resident.unit), selectinload(Resident.visit_worker))
             .order_by(Unit.grid_id, Resident.id))
    return list(session.scalars(query))


def statuses(session: Session, rules: VisitRules, now: datetime, *,
             grid_ids: Iterable[int] | None = None) -> list[VisitStatus]:
    """Every special-group resident (of `grid_ids`) as of `now`."""
    residents = special_residents(session, grid_ids)
    last = _last_visits(session, _special_query(grid_ids), now)
    periods = {f: (period_of(f, now), period_of(f, now).previous(f)) for f in FREQUENCIES}
    defaults: dict[int, Worker | None] = {}  # grid id → its default visit worker
    found = []
    for resident in residents:
        frequency = rules.frequency(resident.groups)
        period, previous = periods[frequency]
        seen = last.get(resident.id)
        visited = seen is not None and seen >= period.start
        missed = resident.groups_since is not None and resident.groups_since < previous.start \
            and (seen is None or seen < previous.start)
        grid = resident.unit.grid if resident.unit else None
        if grid is not None and grid.id not in defaults:
            defaults[grid.id] = grid_default(grid)
        worker = resident.visit_worker or (defaults[grid.id] if grid is not None else None)
        found.append(VisitStatus(resident, grid, worker, frequency, period, seen, missed and not visited))
    return found


def still_due(rows: Iterable[VisitStatus], worker: Worker | None = None) -> list[VisitStatus]:
    """Those not yet visited this period (that `worker` visits): overdue first, then by due date."""
    due = [s for s in rows if not s.visited and (worker is None or (s.worker is not None and s.worker.id == worker.id))]
    return sorted(due, key=lambda s: (not s.overdue, s.due, s.resident.id))


def due_list(session: Session, rules: VisitRules, now: datetime, *, worker: Worker | None = None,
             grid_ids: Iterable[int] | None = None) -> list[VisitStatus]:
    """Who must still be visited this period (of `worker`, or of `grid_ids`): overdue first, then by due date."""
    if worker is not None and grid_ids is None:
        grid_ids = worker_grid_ids(session, worker)
    return still_due(statuses(session, rules, now, grid_ids=grid_ids), worker)


def worker_grid_ids(session: Session, worker: Worker) -> list[int]:
    """The worker's grids, and the grids of people who name them as their visit worker."""
    query = (select(Unit.grid_id).join(Resident, Resident.unit_id == Unit.id)
             .where(Resident.visit_worker_id == worker.id).distinct())
    return list(dict.fromkeys([grid.id for grid in worker.grids] + list(session.scalars(query))))
