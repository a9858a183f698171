"""A worker's three lists: today's patrol (日巡查), the visits still due (周探访), this month's survey (月摸排)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers.texts import BEIJING
from handlers.visits.due import VisitStatus, due_list, special_residents
from handlers.visits.rules import VisitRules, period_of
from models import Grid, PatrolCheckin, Unit, Visit, Worker


@dataclass(frozen=True)
class PatrolRound:
    grid: Grid
    points: list[str]  # configured points, else today's share of the grid's units


@dataclass(frozen=True)
class WorkLists:
    """What a worker has to do, as of a moment."""

    patrol: list[PatrolRound]
    checkins_today: int
    visits: list[VisitStatus]
    survey: list[Unit]

    def __bool__(self) -> bool:
        return bool(self.patrol or self.visits or self.survey)


def patrol_today(session: Session, rules: VisitRules, grid: Grid, now: datetime) -> list[str]:
    """The grid's patrol points; without configured points, `units_per_day` of its units in turn by day."""
    if grid.code in rules.patrol_points:
        return list(rules.patrol_points[grid.code])
    units = list(session.scalars(select(Unit.address).where(Unit.grid_id == grid.id).order_by(Unit.code)))
    if not units:
        return []
    count = min(rules.units_per_day, len(units))
    first = now.astimezone(BEIJING).date().toordinal() * count % len(units)
    return [units[(first + i) % len(units)] for i in range(count)]


def survey_units(session: Session, rules: VisitRules, grid_ids: list[int], now: datetime) -> list[Unit]:
    """Units housing people of the survey groups where nobody has been visited this month."""
    month = period_of("monthly", now)
    people = [r for r in special_residents(session, grid_ids) if rules.survey_groups & set(r.groups)]
    visited = set(session.scalars(select(Visit.resident_id).where(
        Visit.resident_id.in_([r.id for r in people]), Visit.at >= month.start, Visit.at <= now)))
    units = {r.unit.id: r.unit for r in people}
    done = {r.unit.id for r in people if r.id in visited}
    return sorted((unit for uid, unit in units.items() if uid not in done), key=lambda unit: unit.code)


def checkins_today(session: Session, worker: Worker, now: datetime) -> int:
    """The worker's patrol check-ins since Beijing midnight."""
    midnight = now.astimezone(BEIJING).replace(hour=0, minute=0, second=0, microsecond=0)
    return session.scalar(select(func.count(PatrolCheckin.id)).where(
        PatrolCheckin.worker_id == worker.id, PatrolCheckin.at >= midnight, PatrolCheckin.at <= now)) or 0


def work_lists(session: Session, rules: VisitRules, worker: Worker, now: datetime) -> WorkLists:
    """The worker's three lists as of `now`."""
    grids = sorted(worker.grids, key=lambda grid: grid.code)
    patrol = [PatrolRound(grid, points) for grid in grids if (points := patrol_today(session, rules, grid, now))]
    return WorkLists(patrol, checkins_today(session, worker, now), due_list(session, rules, now, worker=worker),
                     survey_units(session, rules, [grid.id for grid in grids], now))
