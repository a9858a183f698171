"""The admin console's own tables: accounts, failed logins, the audit log, rule-set versions, broadcasts and its
secrets."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.registry import Area


class AdminRole(enum.StrEnum):
    ADMIN = "admin"  # everything
    STAFF = "staff"  # street or community staff: their area's grids and cases
    READONLY = "readonly"  # looks, never changes


class AdminUser(Base):
    __tablename__ = "admin_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id
    role: Mapped[str] = mapped_column(String(16), default=AdminRole.READONLY)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))  # scope; None: the whole district
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)  # since last_failed_at - LOCKOUT; reset on success
    last_failed_at: Mapped[datetime | None] = mapped_column()
    locked_until: Mapped[datetime | None] = mapped_column()
    # Bumped on logout and password change: every cookie signed with an older epoch stops working.
    session_epoch: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column()

    area: Mapped[Area | None] = relationship()


class AuditLog(Base):
    """Every admin action: who, when, what, and the diff or parameters."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[dict] = mapped_column(default=dict)


class RuleSetStatus(enum.StrEnum):
    DRAFT = "draft"  # the one rule set being edited
    PUBLISHED = "published"  # numbered; the highest number is in force


class RuleSetVersion(Base):
    """A rule set (catalogue + rules, as the classifier's dict dump): the draft or a numbered version.

    Rolling back publishes an older version's data again under a new number, so "the
    newest number is in force" always holds and every process can cache by number.
    """

    __tablename__ = "rule_set_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int | None] = mapped_column(unique=True)  # None while a draft
    status: Mapped[str] = mapped_column(String(16), default=RuleSetStatus.DRAFT)
    data: Mapped[dict] = mapped_column()
    base_number: Mapped[int | None] = mapped_column()  # the version the draft started from
    author: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column()


class Broadcast(Base):
    """A policy notice (宣传政策法规) sent to the residents of chosen grids."""

    __tablename__ = "broadcasts"

    id: Mapped[int] = mapped_column(primary_key=True)
    author: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    grid_codes: Mapped[list] = mapped_column(default=list)
    recipients: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginFailure(Base):
    """One failed console login from a client (its address): the per-client login throttle, shared by every
    app process (handlers/console/accounts.client_wait)."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_client_at", "client", "at"), Index("ix_login_failures_at", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    client: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column()


class AppSecret(Base):
    """A secret the deployment did not set, generated once and shared by every process (the console's
    session key when `GRIDBOT_SESSION_SECRET` is unset)."""

    __tablename__ = "app_secrets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    value: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
