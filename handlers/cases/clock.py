"""The 117 clock: reminders before deadlines, escalation after them, archiving of unrated cases.

Idempotent: every reminder and escalation first claims a ClockMark row keyed by the case, the
step, its deadline and the escalation round, so running the clock twice (or in two processes
at once) acts once. A deadline that moves (挂起/恢复, 转派) gets fresh marks.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.cases.authority import SYSTEM
from handlers.cases.case_notices import group_target, notify_event
from handlers.cases.records import apply_action
from handlers.classify import Catalogue
from handlers.cases.escalation import MAX_LEVEL, escalate
from models.outbox import queue_notice
from handlers.cases.points import award
from handlers.services import Services
from handlers.texts import render
from handlers.cases.timing import CLOCK_STATES, ClockRules, clock_rules, due_by, open_steps
from models import Case, CaseState, ClockMark
from models.db import insert_or_skip
from models.outbox import OutboxChannel

log = logging.getLogger("gridbot.clock")


def claim(session: Session, case: Case, mark: str, now: datetime) -> bool:
    """Record that the clock acted on `mark` for `case`; False when it already had."""
    values = {"case_id": case.id, "mark": mark, "at": now}
    return insert_or_skip(session, ClockMark.__table__, values, ("case_id", "mark")) is not None


def _stamp(deadline: datetime) -> int:
    return int(deadline.timestamp())


def _window(catalogue: Catalogue, case: Case, step: str, deadline: datetime) -> timedelta:
    """The step's duration for the case's category (the time from report to deadline if unknown)."""
    if case.category in catalogue.names():
        return getattr(catalogue.get(case.category).clock, step)
    return max(deadline - case.created_at, timedelta(minutes=1))


def _remind(session: Session, case: Case, step: str, deadline: datetime, now: datetime) -> bool:
    """A reminder to the assignee (the grid's group chat when nobody holds the case)."""
    mark = f"{step}:remind:{_stamp(deadline)}"
    if not claim(session, case, mark, now):
        return False
    target = (OutboxChannel.USER, case.assignee.userid) if case.assignee is not None else group_target(case.grid)
    if target is not None:
        channel, recipient = target
        text = render("notices/reminder", case=case, step=step, due=deadline, left=deadline - now)
        queue_notice(session, channel=channel, recipient=recipient, text=text,
                     dedupe_key=f"clock:{case.id}:{mark}:{recipient}"[:160], case_id=case.id)
    return True


def _overdue(session: Session, case: Case, step: str, deadline: datetime, window: timedelta,
             now: datetime) -> bool:
    """One level up per missed window (1 window late: 网格长, 2: 社区, 3: 街道)."""
    rounds = min(int((now - deadline) / window), MAX_LEVEL - 1)
    claimed = sum(claim(session, case, f"{step}:late{k}:{_stamp(deadline)}", now) for k in range(rounds + 1))
    if not claimed:
        return False
    if case.assignee is not None:
        award(session, case.assignee.userid, "worker", "missed_deadline", case.id, now)
    return escalate(session, case, action="overdue", actor=SYSTEM.userid, now=now,
                    note=render("notices/overdue_note", step=step),
                    late=now - deadline, at_least=case.level + claimed) is not None


def _tick(session: Session, case: Case, rules: ClockRules, catalogue: Catalogue, now: datetime,
          counts: Counter) -> None:
    for step, deadline in open_steps(case):
        window = _window(catalogue, case, step, deadline)
        if now >= deadline:
            counts["escalations"] += _overdue(session, case, step, deadline, window, now)
        elif now >= deadline - rules.reminder_lead(step, window) and (case.urgent or not rules.is_quiet(now)):
            counts["reminders"] += _remind(session, case, step, deadline, now)


def _archive_unrated(session: Session, rules: ClockRules, now: datetime, counts: Counter) -> None:
    query = select(Case).where(Case.state == CaseState.CLOSED, Case.closed_at <= now - rules.rating_window)
    for case in session.scalars(_skip_locked(session, query.order_by(Case.id))):
        event = apply_action(session, case, "archive", actor=SYSTEM.userid, now=now)
        notify_event(session, event, tell_group=False)
        counts["archived"] += 1


def _skip_locked(session: Session, query):
    """With PostgreSQL, rows another clock process is working on are left to it."""
    if session.bind.dialect.name == "postgresql":
        return query.with_for_update(skip_locked=True)
    return query


def run_clock(session: Session, services: Services, now: datetime) -> dict:
    """Apply the clock as of `now`, in the caller's transaction; counts of what it did."""
    rules = clock_rules(services.config_dir)
    catalogue = services.classifier().catalogue
    counts: Counter = Counter(reminders=0, escalations=0, archived=0)
    horizon = now + max(rules.reminder_before.values())
    query = select(Case).where(Case.state.in_(CLOCK_STATES), due_by(horizon)).order_by(Case.id)
    for case in session.scalars(_skip_locked(session, query)).all():
        try:
            with session.begin_nested():
                _tick(session, case, rules, catalogue, now, counts)
        except Exception:
            log.exception("clock failed on a case", extra={"case_id": case.id})
    _archive_unrated(session, rules, now, counts)
    return dict(counts)
