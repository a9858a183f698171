"""The audit log: every admin action, who did it, when, and its details (a diff where one exists)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AuditLog


def record(session: Session, *, actor: str, action: str, target: str | None, now: datetime,
           **detail) -> AuditLog:
    """Add one audit row in the caller's transaction."""
    entry = AuditLog(at=now, actor=actor, action=action, target=target, detail=detail)
    session.add(entry)
    return entry


def recent(session: Session, *, limit: int = 100, offset: int = 0,
           action_prefix: str | None = None) -> tuple[list[AuditLog], int]:
    """Newest entries first, and how many there are in all."""
    query = select(AuditLog)
    if action_prefix:
        query = query.where(AuditLog.action.startswith(action_prefix))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(AuditLog.id.desc()).limit(limit).offset(offset)).all()
    return list(rows), total
