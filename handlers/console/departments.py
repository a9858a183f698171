"""吹哨报到 in the console: per department 报到率, average time to 报到, 办结率 and returns; editing a
department and its liaisons."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from handlers.console.audit import record
from models import Department, Liaison, Whistle, WhistleState


@dataclass(frozen=True)
class DepartmentStats:
    """One department's whistles in a period."""

    department: Department
    whistles: int
    reported: int  # 报到 at all
    on_time: int  # 报到 before the deadline
    closed: int
    returned: int
    waiting: int  # called, no 报到 yet
    mean_to_report: timedelta | None

    @property
    def report_rate(self) -> float | None:
        """报到率: whistles answered by 报到 (late ones included)."""
        return self.reported / self.whistles if self.whistles else None

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.whistles if self.whistles else None

    @property
    def close_rate(self) -> float | None:
        """办结率: whistles the department closed."""
        return self.closed / self.whistles if self.whistles else None


def department_stats(session: Session, since: datetime, until: datetime) -> list[DepartmentStats]:
    """Every department, with its whistles blown in [since, until)."""
    departments = session.scalars(select(Department).options(selectinload(Department.liaisons))
                                  .order_by(Department.code)).all()
    whistles = session.scalars(select(Whistle).where(Whistle.at >= since, Whistle.at < until)).all()
    by_department: dict[int, list[Whistle]] = {}
    for whistle in whistles:
        by_department.setdefault(whistle.department_id, []).append(whistle)
    return [_stats(department, by_department.get(department.id, [])) for department in departments]


def _stats(department: Department, whistles: list[Whistle]) -> DepartmentStats:
    delays = [w.reported_at - w.at for w in whistles if w.reported_at is not None]
    return DepartmentStats(
        department=department, whistles=len(whistles), reported=len(delays),
        on_time=sum(1 for w in whistles if w.reported_at is not None and w.reported_at <= w.report_due),
        closed=sum(1 for w in whistles if w.state == WhistleState.CLOSED),
        returned=sum(1 for w in whistles if w.state == WhistleState.RETURNED),
        waiting=sum(1 for w in whistles if w.state == WhistleState.CALLED),
        mean_to_report=sum(delays, timedelta()) / len(delays) if delays else None)


class DepartmentError(ValueError):
    """A department form that cannot be saved; the message is a code the page explains."""


def parse_liaisons(text: str) -> list[tuple[str, str | None]]:
    """One liaison a line: `userid 姓名` (the name is optional)."""
    liaisons = []
    for line in text.splitlines():
        parts = line.split(maxsplit=1)
        if parts:
            liaisons.append((parts[0], parts[1].strip() if len(parts) > 1 else None))
    return list(dict(liaisons).items())


def save_department(session: Session, *, code: str, name: str, liaisons: str, report_hours: str, actor: str,
                    now: datetime) -> Department:
    """Create or update the department `code` and replace its liaisons (audited)."""
    code, name = code.strip(), name.strip()
    if not code or not name:
        raise DepartmentError("required")
    try:
        hours = float(report_hours) if report_hours.strip() else None
    except ValueError:
        raise DepartmentError("bad_hours") from None
    if hours is not None and not 0 < hours <= 240:
        raise DepartmentError("bad_hours")
    department = session.scalars(select(Department).where(Department.code == code)).first()
    before = None if department is None else {
        "name": department.name, "report_hours": department.report_hours,
        "liaisons": [liaison.userid for liaison in department.liaisons]}
    if department is None:
        department = Department(code=code, matters=[])
        session.add(department)
    department.name, department.report_hours = name, hours
    department.liaisons = [Liaison(userid=userid, name=who) for userid, who in parse_liaisons(liaisons)]
    after = {"name": name, "report_hours": hours, "liaisons": [liaison.userid for liaison in department.liaisons]}
    record(session, actor=actor, action="department.save", target=code, now=now, before=before, after=after)
    session.flush()
    return department
