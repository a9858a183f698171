"""Reports that never got a place: no grid, so no worker and no 117 clock of their own. After `place_wait`
the street's staff are asked to place them (定位 N 地址) and the resident is asked once more, so no report
waits unseen because its resident did not answer the address question.

Runs in the clock pass; each case is handed over once (a ClockMark), in quiet hours only when urgent.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from handlers.cases.authority import SYSTEM
from handlers.cases.case_notices import to_reporter, to_worker
from handlers.cases.clock import claim, skip_locked
from handlers.cases.records import apply_action
from handlers.cases.timing import ClockRules
from handlers.chat import pending
from models import Case, CaseState, ClockMark, Conversation, Worker, WorkerRole

log = logging.getLogger("gridbot.clock")

MARK = "place:handover"


def placing_staff(session: Session) -> list[Worker]:
    """Who places reports that have no place: the street staff on duty, else the community staff on duty."""
    for role in (WorkerRole.STREET, WorkerRole.COMMUNITY):
        staff = list(session.scalars(select(Worker).where(Worker.role == role, Worker.on_duty.is_(True))
                                     .order_by(Worker.id)))
        if staff:
            return staff
    return []


def hand_over_due(session: Session, rules: ClockRules, now: datetime) -> int:
    """Hand every report that has waited `place_wait` for its place to the staff who place it; how many."""
    handed_over = 0
    marked = exists().where(ClockMark.case_id == Case.id, ClockMark.mark == MARK)
    query = select(Case).where(Case.state == CaseState.AWAITING_PLACE, Case.created_at <= now - rules.place_wait,
                               ~marked).order_by(Case.id)
    for case in session.scalars(skip_locked(session, query)).all():
        if rules.is_quiet(now) and not case.urgent:
            continue  # handed over when the quiet hours end
        with session.begin_nested():
            if claim(session, case, MARK, now):
                _hand_over(session, case, now)
                handed_over += 1
    return handed_over


def _hand_over(session: Session, case: Case, now: datetime) -> None:
    staff = placing_staff(session)
    if not staff:
        log.warning("a report without a place has nobody to place it", extra={"case_id": case.id})
    event = apply_action(session, case, "hand_over_unplaced", actor=SYSTEM.userid, now=now,
                         note="、".join(person.name for person in staff) or None)
    for person in staff:
        to_worker(session, event, person, "notices/unplaced")
    to_reporter(session, event, "notices/unplaced_resident")
    asking = session.get(Conversation, case.reporter_userid)
    if asking is None:  # the resident's next words may be the address
        pending.expect(session, case.reporter_userid, pending.AWAIT_ADDRESS, {"case_id": case.id}, now)
