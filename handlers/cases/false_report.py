"""不实 N 说明: a report found false on the spot is archived, and its reporter loses points (never below zero)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from handlers.cases.authority import Actor
from handlers.cases.case_notices import notify_event
from handlers.cases.records import apply_action
from handlers.points.ledger import penalize
from models import Case, CaseEvent


def close_as_false(session: Session, case: Case, actor: Actor, note: str, now: datetime) -> CaseEvent:
    """The case ends as 不实 (archived, nothing to rate); the resident hears why."""
    event = apply_action(session, case, "close_false", actor=actor.userid, now=now, note=note)
    case.closed_at = now
    if case.source == "resident":
        penalize(session, case.reporter_userid, "false_report", case.id, now)
    notify_event(session, event)
    return event
