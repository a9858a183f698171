"""Admin views of the outbox (backlog, dead letters, retry) as plain functions on a session,
so the CLI, the console, health and metrics share them. Notices are queued by
`models.outbox.queue_notice` inside the caller's transaction and sent by `bot.outbox.sender`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from models import utcnow
from models.outbox import OutboxMessage, OutboxStatus


def list_notices(session: Session, status: str | None = None, limit: int = 200) -> list[OutboxMessage]:
    """Outbox rows, newest first, optionally of one status."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status:
        query = query.where(OutboxMessage.status == status)
    return list(session.scalars(query))


def count_by_status(session: Session) -> dict[str, int]:
    """How many outbox rows are in each status (every status present, zero or not)."""
    counts = dict(session.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    return {status.value: counts.get(status.value, 0) for status in OutboxStatus}


def oldest_pending(session: Session) -> datetime | None:
    """When the oldest unsent notice was queued (the backlog's age), or None."""
    return session.scalar(select(func.min(OutboxMessage.created_at))
                          .where(OutboxMessage.status == OutboxStatus.PENDING.value))


def retry_notices(session: Session, ids: Iterable[int] = (), *, all_dead: bool = False) -> int:
    """Send notices again from now: the given ids, or with `all_dead` every dead one; notices still
    waiting for a retry (e.g. held during a WeCom configuration error) are due at once too. How many."""
    ids = list(ids)
    if not ids and not all_dead:
        return 0
    waiting = or_(OutboxMessage.status == OutboxStatus.DEAD.value,
                  and_(OutboxMessage.status == OutboxStatus.PENDING.value, OutboxMessage.claimed_by.is_(None)))
    query = (update(OutboxMessage).where(waiting)
             .values(status=OutboxStatus.PENDING.value, attempts=0, next_attempt_at=utcnow()))
    if not all_dead:
        query = query.where(OutboxMessage.id.in_(ids))
    return session.execute(query.execution_options(synchronize_session=False)).rowcount
