"""Resident channels beyond the app chat: 微信客服 (kf) contacts and accounts, progress links, stored media."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow
from models.outbox import OutboxChannel

KF_USERID_PREFIX = "kf:"  # WeCom member userids never contain a colon: no collision possible


def case_channel(reporter_userid: str, source: str) -> str:
    """How a case reached gridbot: `kf` (微信客服), `app` (the app chat), `open311` or `patrol`."""
    if source == "patrol":
        return "patrol"
    if source.partition(":")[0] == "open311":
        return "open311"
    return "kf" if reporter_userid.startswith(KF_USERID_PREFIX) else "app"


def resident_channel(userid: str) -> OutboxChannel:
    """How a notice reaches a resident: kf/send_msg for 微信客服 residents, else an app message."""
    return OutboxChannel.KF if userid.startswith(KF_USERID_PREFIX) else OutboxChannel.USER


class KfContact(Base):
    """One resident reached through a kf account: their channel identity and their send window."""

    __tablename__ = "kf_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    userid: Mapped[str] = mapped_column(String(64), unique=True)  # the Resident's userid ("kf:...")
    external_userid: Mapped[str] = mapped_column(String(128))
    open_kfid: Mapped[str] = mapped_column(String(128))  # the account they last wrote to
    # WeCom allows 5 messages within 48 h of the resident's last message (its send_time).
    last_message_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class KfAccount(Base):
    """A kf account whose events reach the app: where its message pull stands, its contact link."""

    __tablename__ = "kf_accounts"

    open_kfid: Mapped[str] = mapped_column(String(128), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(String(200))  # sync_msg's next_cursor, after every page
    contact_url: Mapped[str | None] = mapped_column(String(500))  # kf/add_contact_way's link
    pulled_at: Mapped[datetime | None] = mapped_column()


class ProgressLink(Base):
    """A case's progress-page token: random (unguessable) and revocable; the URL also carries its signature."""

    __tablename__ = "progress_links"
    __table_args__ = (Index("ix_progress_links_holder", "case_id", "revoked_at", "userid", "created_at"),)

    token: Mapped[str] = mapped_column(String(32), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    # The resident following the case the link was given to (None: its reporter): whom the page's rating acts for.
    userid: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()


class StoredMedia(Base):
    """A photo, voice or video kept beyond WeCom's 3 days: downloaded once with media/get."""

    __tablename__ = "stored_media"

    id: Mapped[int] = mapped_column(primary_key=True)
    media_id: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    path: Mapped[str | None] = mapped_column(String(300))  # relative to the media folder, once stored
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None] = mapped_column()
    stored_at: Mapped[datetime | None] = mapped_column()
    note: Mapped[str | None] = mapped_column(Text)
