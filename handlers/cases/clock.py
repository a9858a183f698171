"""The 117 clock: reminders before deadlines, escalation after them, archiving of unrated cases.

Idempotent: every reminder and escalation first claims a ClockMark row keyed by the case, the
step, its deadline and the escalation round, so running the clock twice (or in two processes
at once) acts once. A deadline that moves (挂起/恢复, 转派) gets fresh marks.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.cases.authority import SYSTEM
from handlers.cases.case_notices import group_target, notify_event, to_worker
from handlers.cases.escalation import MAX_LEVEL, escalate, told_of_escalation
from handlers.cases.records import apply_action
from handlers.cases.timing import CLOCK_STATES, ClockRules, clock_rules, due_by, open_steps
from handlers.classify import Catalogue
from handlers.points.ledger import award
from handlers.services import Services
from handlers.texts import render
from models import Case, CaseEvent, CaseState, ClockMark, Worker
from models.outbox import OutboxChannel, queue_notice
from models.statements import insert_or_skip

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


def _remind_mark(step: str, deadline: datetime) -> str:
    return f"{step}:remind:{_stamp(deadline)}"


def _reminded_at(session: Session, case: Case, step: str, deadline: datetime) -> datetime | None:
    """When the clock reminded `step` due at `deadline`, if it has."""
    return session.scalar(select(ClockMark.at).where(ClockMark.case_id == case.id,
                                                     ClockMark.mark == _remind_mark(step, deadline)))


def _remind(session: Session, case: Case, rules: ClockRules, step: str, deadline: datetime,
            now: datetime) -> bool:
    """A reminder to the assignee (the grid's group chat when nobody holds the case); one that comes
    after the deadline says when the case escalates."""
    mark = _remind_mark(step, deadline)
    if not claim(session, case, mark, now):
        return False
    target = (OutboxChannel.USER, case.assignee.userid) if case.assignee is not None else group_target(case.grid)
    if target is not None:
        channel, recipient = target
        escalates = rules.escalation_start(deadline, now) if now >= deadline else deadline
        text = render("notices/reminder", case=case, step=step, due=deadline, left=deadline - now,
                      escalates=escalates)
        queue_notice(session, channel=channel, recipient=recipient, text=text,
                     dedupe_key=f"clock:{case.id}:{mark}:{recipient}"[:160], case_id=case.id)
    return True


@dataclass(frozen=True)
class Escalation:
    """One escalation the clock made, for the digest its level's staff get."""

    event: CaseEvent
    step: str
    late: timedelta
    night: bool  # the step fell due in quiet hours, or its escalation waited for them to end


def _overdue(session: Session, case: Case, step: str, deadline: datetime, start: datetime,
             window: timedelta, now: datetime, night: bool) -> Escalation | None:
    """One level up per missed window from `start` (1 window late: 网格长, 2: 社区, 3: 街道)."""
    rounds = min(int((now - start) / window), MAX_LEVEL - 1)
    claimed = sum(claim(session, case, f"{step}:late{k}:{_stamp(deadline)}", now) for k in range(rounds + 1))
    if not claimed:
        return None
    if case.assignee is not None:
        award(session, case.assignee.userid, "worker", "missed_deadline", case.id, now)
    event = escalate(session, case, action="overdue", actor=SYSTEM.userid, now=now,
                     note=render("notices/overdue_note", step=step), late=now - deadline,
                     at_least=case.level + claimed, tell_staff=case.urgent)
    return Escalation(event, step, now - deadline, night) if event is not None else None


def _tick(session: Session, case: Case, rules: ClockRules, catalogue: Catalogue, now: datetime,
          counts: Counter, escalations: list[Escalation]) -> None:
    """Remind, then escalate: urgent matters at any hour and at the deadline; the rest never in quiet
    hours and only after a reminder (`ClockRules.escalation_start`)."""
    if not case.urgent and rules.is_quiet(now):
        return
    for step, deadline in open_steps(case):
        window = _window(catalogue, case, step, deadline)
        if now < deadline - rules.reminder_lead(step, window):
            continue
        reminded = _reminded_at(session, case, step, deadline)
        if case.urgent and now >= deadline:
            start = due_start = deadline
        elif reminded is None:
            counts["reminders"] += _remind(session, case, rules, step, deadline, now)
            continue
        else:
            due_start = rules.escalation_start(deadline, reminded)
            start = rules.after_last_night(due_start, now)
        if now >= start:
            waited_out_a_night = rules.is_quiet(deadline) or start != due_start
            done = _overdue(session, case, step, deadline, start, window, now, waited_out_a_night)
            counts["escalations"] += done is not None
            if done is not None and not case.urgent:
                escalations.append(done)


def _tell_staff(session: Session, escalations: list[Escalation], now: datetime) -> None:
    """Each person a run escalated cases to gets one message: the case's card, or a digest of all."""
    by_person: dict[str, tuple[Worker, list[Escalation]]] = {}
    for item in escalations:
        for person in told_of_escalation(session, item.event.case, item.event.case.level):
            by_person.setdefault(person.userid, (person, []))[1].append(item)
    for person, items in by_person.values():
        if len(items) == 1:
            to_worker(session, items[0].event, person, "notices/escalated", late=items[0].late)
            continue
        text = render("notices/escalation_digest", items=items, night=any(item.night for item in items))
        queue_notice(session, channel=OutboxChannel.USER, recipient=person.userid, text=text,
                     dedupe_key=f"clock:{_stamp(now)}:digest:{person.userid}"[:160])


def _archive_unrated(session: Session, rules: ClockRules, now: datetime, counts: Counter) -> None:
    query = select(Case).where(Case.state == CaseState.CLOSED, Case.closed_at <= now - rules.rating_window)
    for case in session.scalars(skip_locked(session, query.order_by(Case.id))):
        event = apply_action(session, case, "archive", actor=SYSTEM.userid, now=now)
        notify_event(session, event, tell_group=False)
        counts["archived"] += 1


def skip_locked(session: Session, query):
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
    escalations: list[Escalation] = []
    for case in session.scalars(skip_locked(session, query)).all():
        try:
            with session.begin_nested():
                found: list[Escalation] = []
                _tick(session, case, rules, catalogue, now, counts, found)
            escalations += found
        except Exception:
            log.exception("clock failed on a case", extra={"case_id": case.id})
    _tell_staff(session, escalations, now)
    _archive_unrated(session, rules, now, counts)
    return dict(counts)
