"""Broadcasts (宣传政策法规): a notice to the residents of chosen grids, paced through the outbox.

Two limits: each author may start at most `MAX_PER_HOUR` broadcasts an hour, and the
outbox rows of one broadcast are spread at `SEND_PER_MINUTE` so a big one never floods
WeCom's per-app limits or crowds out case notices. Delivery counts come from the outbox.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from handlers.console.audit import record
from handlers.texts import render
from models import Broadcast, Grid, OutboxMessage, OutboxStatus, Resident, Unit, resident_channel
from models.outbox import queue_notice

MAX_PER_HOUR = 5
SEND_PER_MINUTE = 600
MAX_TEXT = 1000


class BroadcastError(ValueError):
    """Refused: "empty", "no_grids", "no_residents", "too_long" or "rate_limited"."""


def _key(broadcast_id: int, userid: str) -> str:
    return f"bc{broadcast_id}:{userid}"[:160]


def recipients(session: Session, grid_ids: set[int]) -> list[str]:
    """Userids of the residents bound to a unit in these grids."""
    return list(session.scalars(
        select(Resident.userid).join(Unit, Resident.unit_id == Unit.id)
        .where(Unit.grid_id.in_(grid_ids or {-1})).order_by(Resident.id)
    ))


def send(session: Session, *, author: str, title: str, text: str, grid_ids: set[int], now: datetime,
         sender_area: str | None = None) -> Broadcast:
    """Queue the broadcast for every resident of `grid_ids` (already limited to the author's scope)."""
    title, text = title.strip(), text.strip()
    if not title or not text:
        raise BroadcastError("empty")
    if len(text) > MAX_TEXT or len(title) > 100:
        raise BroadcastError("too_long")
    if not grid_ids:
        raise BroadcastError("no_grids")
    recent = session.scalar(select(func.count()).select_from(Broadcast)
                            .where(Broadcast.author == author, Broadcast.created_at > now - timedelta(hours=1)))
    if recent >= MAX_PER_HOUR:
        raise BroadcastError("rate_limited")
    userids = recipients(session, grid_ids)
    if not userids:
        raise BroadcastError("no_residents")
    codes = sorted(session.scalars(select(Grid.code).where(Grid.id.in_(grid_ids))))
    broadcast = Broadcast(author=author, title=title, text=text, grid_codes=codes, recipients=len(userids),
                          created_at=now)
    session.add(broadcast)
    session.flush()
    message = render("notices/broadcast", title=title, text=text, author_area=sender_area)
    for userid in userids:
        queue_notice(session, channel=resident_channel(userid), recipient=userid, text=message,
                     dedupe_key=_key(broadcast.id, userid))
    _pace(session, broadcast.id, now)
    record(session, actor=author, action="broadcast", target=f"bc{broadcast.id}", now=now, title=title,
           grids=codes, recipients=len(userids))
    return broadcast


def _pace(session: Session, broadcast_id: int, now: datetime) -> None:
    """Spread the broadcast's rows over time: SEND_PER_MINUTE of them each minute."""
    ids = session.scalars(select(OutboxMessage.id).where(OutboxMessage.dedupe_key.startswith(f"bc{broadcast_id}:"))
                          .order_by(OutboxMessage.id)).all()
    step = 60.0 / SEND_PER_MINUTE
    session.execute(update(OutboxMessage), [
        {"id": row_id, "next_attempt_at": now + timedelta(seconds=i * step)} for i, row_id in enumerate(ids)
    ])


def delivery_counts(session: Session, broadcast: Broadcast) -> dict[str, int]:
    """{pending, sent, dead} for one broadcast's outbox rows."""
    counts = dict(session.execute(
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.dedupe_key.startswith(f"bc{broadcast.id}:")).group_by(OutboxMessage.status)
    ).all())
    return {status.value: counts.get(status.value, 0) for status in OutboxStatus}


def history(session: Session, grid_ids: frozenset[int] | None = None,
            limit: int = 50) -> list[tuple[Broadcast, dict[str, int]]]:
    """The newest broadcasts that reached any of `grid_ids` (None: all), with their delivery counts."""
    codes = None if grid_ids is None else set(session.scalars(select(Grid.code).where(Grid.id.in_(grid_ids or {-1}))))
    rows: list[Broadcast] = []
    for row in session.scalars(select(Broadcast).order_by(Broadcast.id.desc()).execution_options(yield_per=200)):
        if codes is None or codes.intersection(row.grid_codes):
            rows.append(row)
            if len(rows) == limit:
                break
    return [(row, delivery_counts(session, row)) for row in rows]
