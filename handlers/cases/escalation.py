"""Escalation (提级办理 / 吹哨报到): worker → 网格长 → 社区 → 街道, each level notified."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.cases.authority import area_chain, grid_leaders
from handlers.cases.case_notices import notify_event, to_worker
from handlers.cases.records import apply_action
from models import AreaLevel, Case, CaseEvent, Worker, WorkerRole

MAX_LEVEL = 3  # 0 worker, 1 grid leader, 2 community, 3 street
_AREA_LEVELS = {2: (AreaLevel.COMMUNITY, WorkerRole.COMMUNITY), 3: (AreaLevel.STREET, WorkerRole.STREET)}


def level_staff(session: Session, case: Case, level: int) -> list[Worker]:
    """Who answers for `case` at `level`: its grid's leaders, or the staff of its community/street."""
    if case.grid is None:
        return []
    if level == 1:
        return grid_leaders(case)
    area_level, role = _AREA_LEVELS[level]
    areas = [area.id for area in area_chain(case.grid.area) if area.level == area_level]
    if not areas:
        return []
    return list(session.scalars(select(Worker).where(Worker.role == role, Worker.area_id.in_(areas),
                                                     Worker.on_duty.is_(True)).order_by(Worker.id)))


def told_of_escalation(session: Session, case: Case, level: int) -> list[Worker]:
    """Who hears that `case` reached `level`: its staff; for a specialist's case above the grid also the
    grid's leaders, who would otherwise not know that one of their grid's cases climbed past them."""
    staff = level_staff(session, case, level)
    if level > 1 and case.assignee is not None and case.assignee.role == WorkerRole.SPECIALIST:
        staff += [leader for leader in grid_leaders(case) if leader not in staff]
    return staff


def next_level(session: Session, case: Case, at_least: int | None = None) -> tuple[int, list[Worker]] | None:
    """The lowest level from `at_least` (default: one above the case's) that has someone to answer."""
    if case.level >= MAX_LEVEL:
        return None
    for level in range(min(max(at_least or 0, case.level + 1), MAX_LEVEL), MAX_LEVEL + 1):
        staff = level_staff(session, case, level)
        if staff:
            return level, staff
    return None


def escalate(session: Session, case: Case, *, action: str, actor: str, now: datetime,
             note: str | None = None, late: timedelta | None = None,
             at_least: int | None = None, tell_staff: bool = True) -> CaseEvent | None:
    """Raise `case` a level or more (`escalate` by a person, `overdue` by the clock); None at the top.
    `tell_staff=False`: the caller tells the level's staff itself (the clock's one digest per person).

    When it jumps several levels at once (a clock that ran late finds the case several windows
    overdue), each level passed on the way is told too, once, marked as a catch-up."""
    target = next_level(session, case, at_least)
    if target is None:
        return None
    level, _ = target
    passed = {person.id: person for skipped in range(case.level + 1, level)
              for person in level_staff(session, case, skipped)}
    event = apply_action(session, case, action, actor=actor, now=now, note=note)
    case.level = level
    for person in told_of_escalation(session, case, level):
        passed.pop(person.id, None)
        if tell_staff:
            to_worker(session, event, person, "notices/escalated", late=late)
    for person in passed.values():
        to_worker(session, event, person, "notices/escalated", late=late, catch_up=True)
    notify_event(session, event)
    return event
