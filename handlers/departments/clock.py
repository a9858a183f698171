"""The 报到 clock of whistles: the liaisons are reminded before the deadline; after it the street
staff (the level that coordinates departments) are told once and the case's timeline records it.

Run beside the case clock in each pass (handlers/clocks.py). Each step first claims a ClockMark, so a
second pass or a second process acts on nothing twice.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.cases.case_notices import to_worker
from handlers.cases.escalation import level_staff
from handlers.cases.lifecycle import allowed
from handlers.cases.records import apply_action
from handlers.departments.whistle import whistle_rules
from handlers.services import Services
from handlers.texts import render
from models import ClockMark, Whistle, WhistleState
from models.outbox import OutboxChannel, queue_notice
from models.statements import insert_or_skip

STREET_LEVEL = 3


def _claim(session: Session, whistle: Whistle, step: str, now: datetime) -> bool:
    values = {"case_id": whistle.case_id, "mark": f"whistle{whistle.id}:{step}", "at": now}
    return insert_or_skip(session, ClockMark.__table__, values, ("case_id", "mark")) is not None


def _remind(session: Session, whistle: Whistle, now: datetime) -> bool:
    if not _claim(session, whistle, "remind", now):
        return False
    text = render("notices/whistle_reminder", case=whistle.case, whistle=whistle, left=whistle.report_due - now)
    for liaison in whistle.department.liaisons:
        queue_notice(session, channel=OutboxChannel.USER, recipient=liaison.userid, text=text,
                     dedupe_key=f"whistle{whistle.id}:remind:{liaison.userid}"[:160], case_id=whistle.case_id)
    return True


def _overdue(session: Session, whistle: Whistle, now: datetime) -> bool:
    """Street staff told once and the timeline records it; a case no longer open needs nobody told."""
    whistle.escalated_at = now
    case = whistle.case
    if not allowed(case.state, "whistle_overdue") or not _claim(session, whistle, "late", now):
        return False
    note = render("notices/whistle_overdue_note", whistle=whistle)
    event = apply_action(session, case, "whistle_overdue", actor="system", now=now, note=note)
    for person in level_staff(session, case, STREET_LEVEL):
        to_worker(session, event, person, "notices/whistle_overdue", whistle=whistle, late=now - whistle.report_due)
    return True


def run_whistle_clock(session: Session, services: Services, now: datetime) -> dict:
    """Reminders and missed-报到 notices as of `now`, in the caller's transaction; counts of those sent."""
    rules = whistle_rules(services.config_dir)
    counts: Counter = Counter()  # only what happened: a quiet pass adds no keys to the clock's counts
    query = (select(Whistle).where(Whistle.state == WhistleState.CALLED, Whistle.escalated_at.is_(None),
                                   Whistle.report_due <= now + rules.remind_before).order_by(Whistle.id))
    if session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    for whistle in session.scalars(query).all():
        overdue = now >= whistle.report_due
        if (_overdue if overdue else _remind)(session, whistle, now):
            counts["whistle_overdue" if overdue else "whistle_reminders"] += 1
    return dict(counts)
