"""Functional departments (职能部门), their liaisons, and whistles (吹哨) that call them to a case."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.cases import Case


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    matters: Mapped[list] = mapped_column(default=list)  # categories the department takes
    report_hours: Mapped[float | None] = mapped_column()  # the 报到 window; None: config/whistle.yaml

    liaisons: Mapped[list[Liaison]] = relationship(back_populates="department", order_by="Liaison.id",
                                                   cascade="all, delete-orphan")


class Liaison(Base):
    """A department's liaison (联络员): a WeCom member who answers whistles for it."""

    __tablename__ = "department_liaisons"
    __table_args__ = (UniqueConstraint("department_id", "userid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    userid: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str | None] = mapped_column(String(50))

    department: Mapped[Department] = relationship(back_populates="liaisons")


class WhistleState(enum.StrEnum):
    CALLED = "called"  # 已吹哨, waiting for 报到
    REPORTED = "reported"  # 已报到
    CLOSED = "closed"  # the department closed the case
    RETURNED = "returned"  # 退回: not the department's matter


class Whistle(Base):
    """One whistle: `department` called to `case`, with its 报到 deadline and what became of it."""

    __tablename__ = "whistles"
    __table_args__ = (Index("ix_whistles_state_due", "state", "report_due"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default=WhistleState.CALLED)
    note: Mapped[str | None] = mapped_column(Text)
    whistled_by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    report_due: Mapped[datetime] = mapped_column()
    reported_at: Mapped[datetime | None] = mapped_column()
    reported_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column()
    returned_at: Mapped[datetime | None] = mapped_column()
    return_reason: Mapped[str | None] = mapped_column(Text)
    escalated_at: Mapped[datetime | None] = mapped_column()  # street staff told of a missed 报到

    case: Mapped[Case] = relationship()
    department: Mapped[Department] = relationship()
