"""Proactive grid work: visits to special-group residents (走访) and patrol check-ins (巡查打卡)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.registry import Grid, Resident, Worker


class Visit(Base):
    """One visit a worker recorded from chat; `case_id` once its note became a case (转事项)."""

    __tablename__ = "visits"
    __table_args__ = (Index("ix_visits_resident_at", "resident_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    case_id: Mapped[int | None] = mapped_column()

    resident: Mapped[Resident] = relationship()
    worker: Mapped[Worker] = relationship()


class PatrolCheckin(Base):
    """A worker's location sent after 巡查: where the daily patrol passed, and when."""

    __tablename__ = "patrol_checkins"

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("workers.id"), index=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"), index=True)
    point: Mapped[str | None] = mapped_column(String(100))  # the patrol point named, if any
    label: Mapped[str | None] = mapped_column(String(200))  # the location's address label
    lat: Mapped[float] = mapped_column()
    lng: Mapped[float] = mapped_column()
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    worker: Mapped[Worker] = relationship()
    grid: Mapped[Grid | None] = relationship()
