"""Per-recipient pacing: WeCom silently drops app messages beyond 30 a minute (1,000 an hour) to one
member, and a group robot takes 20 a minute. So the sender counts what each recipient got lately (in
the database, so every sender process sees the same count), sends individually while there is room,
and folds a burst for one recipient into digest messages instead of letting WeCom drop notices.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.outbox.claims import Claimed
from bot.wecom.api import TEXT_LIMIT_BYTES
from handlers.texts import render
from models.outbox import OutboxChannel, OutboxMessage, OutboxStatus

MINUTE, HOUR = timedelta(minutes=1), timedelta(hours=1)
ROBOT_PER_MINUTE = 18  # a group robot refuses more than 20 a minute


@dataclass(frozen=True)
class Pace:
    per_minute: int
    per_hour: int


def pace_for(channel: str, per_minute: int) -> Pace:
    """The limits for one recipient of `channel`, keeping a margin below WeCom's own."""
    if channel == OutboxChannel.WEBHOOK:
        return Pace(min(per_minute, ROBOT_PER_MINUTE), 60 * ROBOT_PER_MINUTE)
    return Pace(per_minute, 900)


def room(factory: sessionmaker[Session], recipients: set[tuple[str, str]], per_minute: int,
         now: datetime) -> dict[tuple[str, str], tuple[int, datetime]]:
    """For each (channel, recipient): how many messages it may get now, and (when none) the moment
    the next one may go. One query for a whole batch."""
    minute_ago, hour_ago = now - MINUTE, now - HOUR
    recent = OutboxMessage.sent_at >= minute_ago
    with factory() as session:
        counts = session.execute(
            select(OutboxMessage.channel, OutboxMessage.recipient,
                   func.count().filter(recent), func.min(OutboxMessage.sent_at).filter(recent),
                   func.count(), func.min(OutboxMessage.sent_at))
            .where(OutboxMessage.recipient.in_({recipient for _, recipient in recipients}),
                   OutboxMessage.status == OutboxStatus.SENT.value, OutboxMessage.folded_into.is_(None),
                   OutboxMessage.sent_at >= hour_ago)
            .group_by(OutboxMessage.channel, OutboxMessage.recipient)
        ).all()
    sent = {(channel, recipient): rest for channel, recipient, *rest in counts}
    return {key: _room(pace_for(key[0], per_minute), *sent.get(key, (0, None, 0, None)), now=now)
            for key in recipients}


def _room(pace: Pace, in_minute: int, first_in_minute: datetime | None, in_hour: int,
          first_in_hour: datetime | None, *, now: datetime) -> tuple[int, datetime]:
    left = min(pace.per_minute - in_minute, pace.per_hour - in_hour)
    if left > 0:
        return left, now
    free_at = now
    if in_minute >= pace.per_minute and first_in_minute is not None:
        free_at = max(free_at, first_in_minute + MINUTE)
    if in_hour >= pace.per_hour and first_in_hour is not None:
        free_at = max(free_at, first_in_hour + HOUR)
    return 0, free_at


def digest_text(rows: list[Claimed]) -> str:
    """One message carrying several notices to the same recipient, oldest first, without blank lines."""
    return render("notices/digest", texts=[row.text for row in sorted(rows, key=lambda row: row.id)])


def fold(rows: list[Claimed], limit: int = TEXT_LIMIT_BYTES,
         text: Callable[[list[Claimed]], str] = digest_text) -> list[list[Claimed]]:
    """`rows` in the order they were queued, grouped into as few digests (rendered by `text`) as fit
    WeCom's text limit."""
    digests: list[list[Claimed]] = []
    for row in sorted(rows, key=lambda row: row.id):
        if digests and len(text([*digests[-1], row]).encode()) <= limit:
            digests[-1].append(row)
        else:
            digests.append([row])
    return digests
