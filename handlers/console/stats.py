"""Dashboard figures (一图统揽) for a period and a set of grids, computed in the database.

Definitions (the page's footnote says the same):
- 受理量: cases reported in the period.
- 办结率: of those, closed or archived ÷ (received − withdrawn − merged − transferred).
- 按时响应率 (117): of those whose take deadline has passed or that were taken, the share
  taken no later than `take_due`.
- 满意度: (满意 + 基本满意) ÷ ratings, over the period's cases: the reporter's rating and those of the
  residents following the case (their duplicate reports were merged into it), one per person and case.
- 回头件: of those, reports of a problem already closed at the same place not long before (handlers/cases/duplicates).
- 在办 / 超时: right now, whatever the period (the backlog a street office works on).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Subquery

from handlers.cases.timing import CLOCK_STATES, due_by
from handlers.texts import BEIJING
from models import OPEN_STATES, Case, CaseLink, CaseState, Grid

DONE_STATES = (CaseState.CLOSED, CaseState.ARCHIVED)
NOT_COUNTED = (CaseState.WITHDRAWN, CaseState.MERGED, CaseState.TRANSFERRED)
GOOD_RATINGS = ("satisfied", "basic")


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC; built from Beijing calendar days."""

    start: datetime
    end: datetime

    @classmethod
    def days(cls, first: date, last: date) -> Period:
        start = datetime(first.year, first.month, first.day, tzinfo=BEIJING)
        end = datetime(last.year, last.month, last.day, tzinfo=BEIJING) + timedelta(days=1)
        return cls(start, end)

    def each_day(self) -> list[date]:
        first = self.start.astimezone(BEIJING).date()
        count = max(0, round((self.end - self.start) / timedelta(days=1)))
        return [first + timedelta(days=i) for i in range(count)]


@dataclass
class Tally:
    """Sums over a group of the period's cases, in the order `_period_columns` selects them."""

    received: int = 0
    done: int = 0
    counted: int = 0
    taken_on_time: int = 0
    take_due_passed: int = 0
    good_ratings: int = 0
    rated: int = 0
    closed: int = 0
    close_hours: float = 0.0

    def add(self, values) -> None:
        for f, value in zip(fields(Tally), values):
            setattr(self, f.name, getattr(self, f.name) + (float(value) if f.type == "float" else int(value)))


@dataclass
class Kpis(Tally):
    """The period's sums plus the backlog now, and the rates the page shows."""

    open_now: int = 0
    overdue_now: int = 0
    repeats: int = 0

    @property
    def repeat_rate(self) -> float | None:
        return self._rate(self.repeats, self.received)

    @staticmethod
    def _rate(part: int, whole: int) -> float | None:
        return part / whole if whole else None

    @property
    def done_rate(self) -> float | None:
        return self._rate(self.done, self.counted)

    @property
    def on_time_rate(self) -> float | None:
        return self._rate(self.taken_on_time, self.take_due_passed)

    @property
    def satisfaction(self) -> float | None:
        return self._rate(self.good_ratings, self.rated)


@dataclass
class GridRow:
    grid_id: int
    code: str
    name: str
    received: int
    done: int
    overdue_now: int
    avg_close_hours: float | None


@dataclass
class Dashboard:
    period: Period
    kpis: Kpis
    by_category: list[tuple[str, int]] = field(default_factory=list)
    by_grid: list[GridRow] = field(default_factory=list)
    per_day: list[tuple[date, int, int]] = field(default_factory=list)  # day, received, done
    overdue_cases: list[Case] = field(default_factory=list)

    @property
    def slowest_grids(self) -> list[GridRow]:
        timed = [row for row in self.by_grid if row.avg_close_hours is not None]
        return sorted(timed, key=lambda row: -row.avg_close_hours)[:10]


def overdue_condition(now: datetime) -> ColumnElement[bool]:
    """A case whose clock runs (not suspended) with an open 117 step past its deadline."""
    return and_(Case.state.in_(CLOCK_STATES), due_by(now))


def _in_scope(grid_ids: frozenset[int] | None, grid: ColumnElement = Case.grid_id) -> list[ColumnElement[bool]]:
    return [] if grid_ids is None else [grid.in_(grid_ids or {-1})]


def _local_day(session: Session) -> ColumnElement:
    if session.get_bind().dialect.name == "postgresql":
        return func.date(func.timezone("Asia/Shanghai", Case.created_at))
    return func.date(Case.created_at, "+8 hours")


def _hours_to_close(session: Session) -> ColumnElement:
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", Case.closed_at - Case.created_at) / 3600.0
    return (func.julianday(Case.closed_at) - func.julianday(Case.created_at)) * 24.0


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _follower_ratings() -> Subquery:
    """Per case, the followers' ratings (good, all): a follower who is also the reporter is not counted twice."""
    return (
        select(CaseLink.case_id, _count_if(CaseLink.rating.in_(GOOD_RATINGS)).label("good"),
               func.count().label("rated"))
        .join(Case, Case.id == CaseLink.case_id)
        .where(CaseLink.rating.is_not(None), CaseLink.userid != Case.reporter_userid)
        .group_by(CaseLink.case_id).subquery("follower_ratings")
    )


def _period_columns(session: Session, now: datetime, followers: Subquery) -> list[ColumnElement]:
    """The Tally columns; `followers` (one row per case, outer-joined) adds the followers' ratings."""
    take_judged = and_(Case.take_due.is_not(None), or_(Case.taken_at.is_not(None), Case.take_due < now))
    closed = Case.closed_at.is_not(None)
    return [
        func.count(),
        _count_if(Case.state.in_(DONE_STATES)),
        _count_if(Case.state.not_in(NOT_COUNTED)),
        _count_if(and_(take_judged, Case.taken_at.is_not(None), Case.taken_at <= Case.take_due)),
        _count_if(take_judged),
        _count_if(Case.rating.in_(GOOD_RATINGS)) + func.coalesce(func.sum(followers.c.good), 0),
        _count_if(Case.rating.is_not(None)) + func.coalesce(func.sum(followers.c.rated), 0),
        _count_if(closed),
        func.coalesce(func.sum(case((closed, _hours_to_close(session)), else_=0.0)), 0.0),
    ]


def dashboard(session: Session, period: Period, grid_ids: frozenset[int] | None, now: datetime,
              overdue_limit: int = 20) -> Dashboard:
    """Everything the dashboard page shows: grouped passes over the period's index range and the backlog."""
    in_period = [Case.created_at >= period.start, Case.created_at < period.end, *_in_scope(grid_ids)]
    day = _local_day(session).label("day")
    total, by_day, by_grid_tally = Tally(), {}, {}
    followers = _follower_ratings()
    for day_value, grid_id, *values in session.execute(
        select(day, Case.grid_id, *_period_columns(session, now, followers))
        .select_from(Case)
        .outerjoin(followers, followers.c.case_id == Case.id).where(*in_period).group_by(day, Case.grid_id)
    ):
        total.add(values)
        by_day.setdefault(str(day_value), Tally()).add(values)
        if grid_id is not None:
            by_grid_tally.setdefault(grid_id, Tally()).add(values)
    by_category = session.execute(
        select(func.coalesce(Case.category, "—"), func.count()).where(*in_period)
        .group_by(Case.category).order_by(func.count().desc())
    ).all()

    backlog = session.execute(
        select(Case.grid_id, func.count(), _count_if(overdue_condition(now)))
        .where(Case.state.in_(OPEN_STATES), *_in_scope(grid_ids)).group_by(Case.grid_id)
    ).all()
    overdue_by_grid = {grid_id: int(late) for grid_id, _, late in backlog}
    open_now, overdue_now = sum(int(n) for _, n, _ in backlog), sum(overdue_by_grid.values())

    grids = {g.id: g for g in session.scalars(select(Grid))}
    by_grid = sorted((
        GridRow(grid_id, grids[grid_id].code, grids[grid_id].name, t.received, t.done,
                overdue_by_grid.get(grid_id, 0), t.close_hours / t.closed if t.closed else None)
        for grid_id, t in by_grid_tally.items() if grid_id in grids
    ), key=lambda row: (-row.received, row.code))
    per_day = []
    for d in period.each_day():
        t = by_day.get(d.isoformat(), Tally())
        per_day.append((d, t.received, t.done))
    overdue_cases = session.scalars(
        select(Case).where(overdue_condition(now), *_in_scope(grid_ids))
        .order_by(Case.take_due).limit(overdue_limit)
    ).all()
    # On ix_cases_repeats: the period's repeats only (the grid as `grid_id + 0`, or SQLite reads the grids' cases).
    repeats = session.scalar(select(func.count()).select_from(Case).where(
        Case.repeat_of_id.is_not(None), Case.created_at >= period.start, Case.created_at < period.end,
        *_in_scope(grid_ids, Case.grid_id + 0)))
    kpis = Kpis(**vars(total), open_now=open_now, overdue_now=overdue_now, repeats=repeats)
    return Dashboard(period, kpis, [(name, int(count)) for name, count in by_category], by_grid, per_day,
                     list(overdue_cases))
