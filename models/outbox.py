"""The outbox: every notice to a person is a row here before anything is sent.

`queue_notice` writes that row inside the caller's transaction; bot/outbox/ sends it later.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, utcnow
from models.statements import insert_many_or_skip


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"  # gave up: admins see it and can retry
    HELD = "held"  # a kf resident's window is used up: sent (folded) when they write again


class OutboxChannel(enum.StrEnum):
    USER = "user"  # message/send to one userid
    APPCHAT = "appchat"  # appchat/send to a group the app created
    WEBHOOK = "webhook"  # group robot webhook
    KF = "kf"  # kf/send_msg to a 微信客服 resident (recipient: their userid), within WeCom's window
    KF_WELCOME = "kf_welcome"  # kf/send_msg_on_event (recipient: the single-use welcome_code)
    MEDIA = "media"  # not a message: media/get of a resident's photo/voice/video (recipient: media_id)


class OutboxMessage(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_recipient_sent", "recipient", "sent_at"),  # per-recipient pacing
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(500))  # userid, chatid or webhook url
    text: Mapped[str] = mapped_column(Text)
    case_id: Mapped[int | None] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    # While a sender holds a row, next_attempt_at is its lease's end and claimed_by its claim token.
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    folded_into: Mapped[int | None] = mapped_column()  # sent inside the digest message of that row
    # WeCom's msgid of a 微信客服 send (on the message's first row): a later msg_send_fail event names it.
    remote_msgid: Mapped[str | None] = mapped_column(String(128), index=True)


def notice(*, channel: str, recipient: str, text: str, dedupe_key: str, case_id: int | None = None) -> dict:
    """The outbox row of `text` for `recipient`, due now (`queue_notices` writes it)."""
    now = utcnow()
    return dict(dedupe_key=dedupe_key, channel=str(channel), recipient=recipient, text=text, case_id=case_id,
                status=OutboxStatus.PENDING.value, attempts=0, next_attempt_at=now, created_at=now)


def queue_notice(session: Session, *, channel: str, recipient: str, text: str, dedupe_key: str,
                 case_id: int | None = None) -> bool:
    """Queue `text` for `recipient` once per `dedupe_key`; False when that key was queued before. Written at
    once (after the notices `notices_together` holds, so the order queued is kept)."""
    _write_held(session)
    row = notice(channel=channel, recipient=recipient, text=text, dedupe_key=dedupe_key, case_id=case_id)
    return insert_many_or_skip(session, OutboxMessage.__table__, [row], "dedupe_key") == 1


def queue_notices(session: Session, rows: list[dict]) -> None:
    """Queue `notice` rows, in their order, each once per dedupe key: in one statement (a database round trip),
    or inside `notices_together`, with the others it holds."""
    held = session.info.get(_HELD)
    if held is not None:
        held.extend(rows)
    elif rows:
        insert_many_or_skip(session, OutboxMessage.__table__, rows, "dedupe_key")


_HELD = "gridbot_notices_held"  # session.info: the rows `notices_together` holds


@contextmanager
def notices_together(session: Session) -> Iterator[None]:
    """Hold the notices `queue_notices` queues meanwhile (a message's steps and its reply) and write them in
    one statement when the block ends; dropped if it raises (the caller's savepoint undoes the rest)."""
    if _HELD in session.info:  # already holding: the outer block writes them
        yield
        return
    session.info[_HELD] = []
    try:
        yield
        _write_held(session)
    finally:
        session.info.pop(_HELD, None)


def _write_held(session: Session) -> None:
    held = session.info.get(_HELD)
    if held:
        insert_many_or_skip(session, OutboxMessage.__table__, held, "dedupe_key")
        held.clear()


def keep_media(session: Session, attachment: dict) -> None:
    """Have a photo/voice/video downloaded while WeCom still has it (its media_id lives 3 days):
    a `media` outbox row, so the download is retried like any send (bot/outbox/sender.py)."""
    media_id = attachment.get("media_id")
    if media_id:
        queue_notice(session, channel=OutboxChannel.MEDIA, recipient=media_id, text=attachment.get("kind") or "file",
                     dedupe_key=f"media:{media_id}"[:160])
