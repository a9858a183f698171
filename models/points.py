"""The points (积分) ledger, append-only: one row per award or redemption, unique per (who, reason, case)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class PointsEntry(Base):
    __tablename__ = "points"
    __table_args__ = (UniqueConstraint("userid", "reason", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    userid: Mapped[str] = mapped_column(String(64), index=True)
    delta: Mapped[int] = mapped_column()
    reason: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[int | None] = mapped_column()
    note: Mapped[str | None] = mapped_column(String(100))  # what it was for: an item, an activity
    at: Mapped[datetime] = mapped_column(default=utcnow)
