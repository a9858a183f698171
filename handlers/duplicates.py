"""Likely duplicates (重复反映): a new report matching a recent open case follows that case instead."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Case, CaseState

LINKABLE = (CaseState.PENDING, CaseState.IN_PROGRESS, CaseState.SUSPENDED, CaseState.ESCALATED)


def likely_duplicate(session: Session, case: Case, window: timedelta) -> Case | None:
    """The earliest open case of the same category in the same unit (without a unit: the same grid),
    reported by someone else within `window` before `case` (a resident's own repeat stays a case)."""
    if case.grid_id is None:
        return None
    query = select(Case).where(Case.id < case.id, Case.category == case.category, Case.state.in_(LINKABLE),
                               Case.created_at >= case.created_at - window, Case.duplicate_of_id.is_(None),
                               Case.reporter_userid != case.reporter_userid)
    query = query.where(Case.unit_id == case.unit_id) if case.unit_id else query.where(Case.grid_id == case.grid_id)
    return session.scalars(query.order_by(Case.id).limit(1)).first()
