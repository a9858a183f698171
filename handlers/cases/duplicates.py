"""Likely duplicates (重复反映): a new report matching a recent open case follows that case instead."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from models import Case, CaseState

LINKABLE = (CaseState.PENDING, CaseState.IN_PROGRESS, CaseState.SUSPENDED, CaseState.ESCALATED)

# Built once (SQLAlchemy memoises a statement's cache key); only the id. A case with a unit is
# found on ix_cases_unit_category (unit, category, id: no sort).
_EARLIER = select(Case.id).where(
    Case.id < bindparam("case_id"), Case.category == bindparam("category"), Case.state.in_(LINKABLE),
    Case.created_at >= bindparam("since"), Case.duplicate_of_id.is_(None),
    Case.reporter_userid != bindparam("reporter"),
)
_IN_UNIT = _EARLIER.where(Case.unit_id == bindparam("place")).order_by(Case.id).limit(1)
_IN_GRID = _EARLIER.where(Case.grid_id == bindparam("place")).order_by(Case.id).limit(1)


def likely_duplicate(session: Session, case: Case, window: timedelta) -> Case | None:
    """The earliest open case of the same category in the same unit (without a unit: the same grid),
    reported by someone else within `window` before `case` (a resident's own repeat stays a case)."""
    if case.grid_id is None:
        return None
    query = _IN_UNIT if case.unit_id else _IN_GRID
    original_id = session.scalar(query, {
        "case_id": case.id, "category": case.category, "since": case.created_at - window,
        "reporter": case.reporter_userid, "place": case.unit_id or case.grid_id,
    })
    return session.get(Case, original_id) if original_id is not None else None
