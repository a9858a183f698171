"""A worker's three lists: today's patrol (日巡查), the visits still due (周探访), this month's survey (月摸排)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers.texts import BEIJING
from handlers.visits.due import VisitStatus, statuses, still_due, worker_grid_ids
from handlers.visits.rules import VisitRules, period_of
from models import Grid, PatrolCheckin, Unit, Worker


@dataclass(frozen=True)
class PatrolRound:
    grid: Grid
    points: list[str]  # configured points, else today's share of the grid's units


@dataclass(frozen=True)
class WorkLists:
    """What a worker has to do, as of a moment."""

    patrol: list[PatrolRound]
    checkins_today: int
    visits: list[VisitStatus]  # everyone still due this period
    this_week: list[VisitStatus]  # the week's share of them
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


def survey_units(rules: VisitRules, rows: Iterable[VisitStatus], now: datetime) -> list[Unit]:
    """Units housing people of the survey groups (among `rows`) where nobody has been visited this month."""
    month = period_of("monthly", now)
    units: dict[int, Unit] = {}
    done: set[int] = set()
    for row in rows:
        unit = row.resident.unit
        if unit is None or not rules.survey_groups & set(row.resident.groups):
            continue
        units[unit.id] = unit
        if row.last_visit is not None and row.last_visit >= month.start:
            done.add(unit.id)
    return sorted((unit for uid, unit in units.items() if uid not in done), key=lambda unit: unit.code)


def week_share(due: list[VisitStatus], now: datetime) -> list[VisitStatus]:
    """This week's visits (周探访): everyone overdue or due by the end of the week, and of the rest an even
    share of the weeks left before their due date (so a month's visits spread over its weeks)."""
    week_end = period_of("weekly", now).end
    now_due = [row.overdue or row.period.end <= week_end for row in due]
    must = [row for row, urgent in zip(due, now_due) if urgent]
    rest = [row for row, urgent in zip(due, now_due) if not urgent]
    if not rest:
        return must
    weeks_left = max(1, math.ceil((rest[0].period.end - now) / timedelta(days=7)))
    return must + rest[:math.ceil(len(rest) / weeks_left)]


def checkins_today(session: Session, worker: Worker, now: datetime) -> int:
    """The worker's patrol check-ins since Beijing midnight."""
    midnight = now.astimezone(BEIJING).replace(hour=0, minute=0, second=0, microsecond=0)
    return session.scalar(select(func.count(PatrolCheckin.id)).where(
        PatrolCheckin.worker_id == worker.id, PatrolCheckin.at >= midnight, PatrolCheckin.at <= now)) or 0


def work_lists(session: Session, rules: VisitRules, worker: Worker, now: datetime,
               rows: list[VisitStatus] | None = None) -> WorkLists:
    """The worker's three lists as of `now`; `rows`: every status already computed (the clock's digests)."""
    grids = sorted(worker.grids, key=lambda grid: grid.code)
    own = {grid.id for grid in grids}
    if rows is None:
        rows = statuses(session, rules, now, grid_ids=worker_grid_ids(session, worker))
    patrol = [PatrolRound(grid, points) for grid in grids if (points := patrol_today(session, rules, grid, now))]
    due = still_due(rows, worker)
    return WorkLists(patrol, checkins_today(session, worker, now), due, week_share(due, now),
                     survey_units(rules, [row for row in rows if row.grid is not None and row.grid.id in own], now))
