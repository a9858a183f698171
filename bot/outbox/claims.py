"""Claiming and settling outbox rows so that any number of senders send each row once.

A claim is a lease: in one short transaction a sender picks due rows (`FOR UPDATE SKIP LOCKED` on
PostgreSQL, so racing senders skip each other's rows; on SQLite the transaction starts with
BEGIN IMMEDIATE, so claims are serialised by the single writer lock), stamps them with its claim
token and moves `next_attempt_at` to the lease's end. It then sends without holding any lock and
settles each row with an UPDATE that only matches its own token. A sender that dies mid-send
leaves its rows to be claimed again when the lease runs out: nothing is lost. Only the one message
in flight at a crash can go out twice; message/send's duplicate check (bot/wecom/api.py) keeps
that from reaching the person, group chats and robots have no such check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from models.outbox import OutboxMessage, OutboxStatus

PENDING, SENT, DEAD = OutboxStatus.PENDING.value, OutboxStatus.SENT.value, OutboxStatus.DEAD.value


@dataclass(frozen=True)
class Claimed:
    """One claimed row, as plain values (the session that claimed it is closed)."""

    id: int
    channel: str
    recipient: str
    text: str
    attempts: int  # including this one
    case_id: int | None = None


def claim(factory: sessionmaker[Session], token: str, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
    """Claim up to `limit` due rows for `token` until `now + lease`, oldest due first."""
    with factory.begin() as session:
        rows = session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            row.claimed_by = token
            row.attempts += 1
            row.next_attempt_at = now + lease
        return [Claimed(r.id, r.channel, r.recipient, r.text, r.attempts, r.case_id) for r in rows]


def _settle(factory: sessionmaker[Session], row_id: int, token: str, **values) -> bool:
    """Apply `values` to a row this claim still holds; False when the lease was lost meanwhile."""
    with factory.begin() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == row_id, OutboxMessage.claimed_by == token, OutboxMessage.status == PENDING)
            .values(claimed_by=None, **values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


def mark_sent(factory: sessionmaker[Session], row_ids: list[int], token: str, now: datetime,
              remote_msgid: str | None = None) -> int:
    """Mark rows sent as one message (a digest when several: the first row stands for the message,
    and keeps WeCom's msgid of it); how many this claim still held."""
    head, *folded = row_ids
    with factory.begin() as session:
        held = 0
        for ids, values in (([head], {"remote_msgid": remote_msgid}), (folded, {"folded_into": head})):
            if ids:
                held += session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(ids), OutboxMessage.claimed_by == token,
                           OutboxMessage.status == PENDING)
                    .values(claimed_by=None, status=SENT, sent_at=now, last_error=None, **values)
                    .execution_options(synchronize_session=False)
                ).rowcount
        return held


def mark_retry(factory: sessionmaker[Session], row_id: int, token: str, at: datetime, error: str) -> bool:
    """Try again at `at`; this attempt counts towards giving up."""
    return _settle(factory, row_id, token, next_attempt_at=at, last_error=error[:1000])


def mark_dead(factory: sessionmaker[Session], row_id: int, token: str, error: str) -> bool:
    """Give up on the row: it waits in the dead letters for an admin's retry."""
    return _settle(factory, row_id, token, status=DEAD, last_error=error[:1000])


def release(factory: sessionmaker[Session], row_ids: list[int], token: str, at: datetime,
            error: str | None = None) -> None:
    """Hand rows back unsent to be claimed from `at`; the attempt they were claimed for is not counted."""
    if not row_ids:
        return
    values: dict = {"claimed_by": None, "next_attempt_at": at, "attempts": OutboxMessage.attempts - 1}
    if error is not None:
        values["last_error"] = error[:1000]
    with factory.begin() as session:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(row_ids), OutboxMessage.claimed_by == token,
                   OutboxMessage.status == PENDING)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
