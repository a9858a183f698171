"""What workers do to a case: each action moves it (handlers.lifecycle), logs it and queues its notices."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from handlers.case_notices import notify_event
from handlers.cases import apply_action
from models import Case, CaseEvent, Worker


def take(session: Session, case: Case, worker: Worker, now: datetime) -> CaseEvent:
    """接单: the worker takes the case (StaleCase when someone else took it first)."""
    event = apply_action(session, case, "take", actor=worker.userid, now=now)
    case.assignee = worker
    case.taken_at = now
    notify_event(session, event)
    return event
