"""Inbound messages (recorded under their MsgId) and per-user conversation state."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class InboundMessage(Base):
    """Every callback that passed the signature check; `msg_key` makes redelivery a no-op."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        Index("ix_inbound_user_time", "from_userid", "received_at"),
        # The processor's queue: accepted messages not yet handled (a handful of rows, however big the table).
        Index("ix_inbound_waiting", "id", sqlite_where=text("status = 'received'"),
              postgresql_where=text("status = 'received'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    msg_key: Mapped[str] = mapped_column(String(128), unique=True)
    channel: Mapped[str] = mapped_column(String(16), default="app")  # app / aibot
    from_userid: Mapped[str] = mapped_column(String(64))
    msg_type: Mapped[str] = mapped_column(String(32))
    content: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict] = mapped_column(default=dict)
    reply: Mapped[str | None] = mapped_column(Text)  # the plain reply text we answered with
    status: Mapped[str] = mapped_column(String(16), default="handled")  # received / handled / throttled / failed
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    category: Mapped[str | None] = mapped_column(String(40))
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class Conversation(Base):
    """What gridbot is waiting for from one user (a choice, an address, a rating)."""

    __tablename__ = "conversations"

    userid: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[str] = mapped_column(String(24))
    data: Mapped[dict] = mapped_column(default=dict)
    # when the question was asked: pending.expect always sets it (a photo added keeps the ask-back's time), no onupdate
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
