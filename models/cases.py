"""Cases (事项), their audit trail (流转记录) and the clock marks that keep the clock idempotent."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, TextClause, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.registry import Grid, Resident, Unit, Worker


class CaseState(enum.StrEnum):
    AWAITING_PLACE = "awaiting_place"  # 待补地址
    PENDING = "pending"  # 待接单
    IN_PROGRESS = "in_progress"  # 处置中
    SUSPENDED = "suspended"  # 已挂起
    ESCALATED = "escalated"  # 已提级
    CLOSED = "closed"  # 已办结 (waiting for the resident's rating)
    ARCHIVED = "archived"  # 已归档
    TRANSFERRED = "transferred"  # 已转部门
    WITHDRAWN = "withdrawn"  # 已撤销
    MERGED = "merged"  # 已合并


OPEN_STATES = (
    CaseState.AWAITING_PLACE,
    CaseState.PENDING,
    CaseState.IN_PROGRESS,
    CaseState.SUSPENDED,
    CaseState.ESCALATED,
)



def state_in(states: Iterable[str]) -> TextClause:
    """`state IN ('pending', …)` on the cases table with the states written into the SQL: constants, so
    no list of bound values for SQLAlchemy to expand again on every execution."""
    return text("state IN (" + ", ".join(f"'{state}'" for state in states) + ")")


_OPEN_SQL = state_in(OPEN_STATES)
_REPEAT_SQL = text("repeat_of_id IS NOT NULL")


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        Index("ix_cases_state_created", "state", "created_at"),
        Index("ix_cases_grid_state", "grid_id", "state"),
        Index("ix_cases_assignee_state", "assignee_id", "state"),
        # The likely-duplicate check on every opened case (handlers/cases/duplicates.py), by unit or, for
        # a case placed in a grid only (a location, a patrol, a partner's filing), by grid.
        Index("ix_cases_unit_category", "unit_id", "category", "id"),
        Index("ix_cases_grid_category", "grid_id", "category", "id"),
        # The console: newest-first keyset pages, date filters, and dashboard sums over a
        # period read from the index alone (no table access) on a million cases.
        Index("ix_cases_created_id", "created_at", "id", "grid_id", "category", "state", "rating",
              "take_due", "taken_at", "closed_at"),
        # The open backlog (a few % of all cases): open/overdue counts read from the index alone,
        # and the most overdue cases first.
        Index("ix_cases_open", "take_due", "state", "grid_id", "plan_due", "close_due", "taken_at",
              "planned_at", "closed_at", postgresql_where=_OPEN_SQL, sqlite_where=_OPEN_SQL),
        # The dashboard's 回头件 of a period (a few of all cases): only they are read.
        Index("ix_cases_repeats", "created_at", "grid_id", postgresql_where=_REPEAT_SQL, sqlite_where=_REPEAT_SQL),
        # A resident's own cases by the userid that reported them, newest first (the cases their words may point at,
        # their 进度 list, the one to rate): without it every open case was read to find a resident's few.
        Index("ix_cases_reporter", "reporter_userid", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)  # the case number's digits
    state: Mapped[str] = mapped_column(String(20), default=CaseState.PENDING)
    category: Mapped[str | None] = mapped_column(String(40), index=True)
    priority: Mapped[int] = mapped_column(default=2)
    urgent: Mapped[bool] = mapped_column(default=False)
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(64), default="resident")  # resident / patrol / open311:<key name>
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("residents.id"), index=True)
    reporter_userid: Mapped[str] = mapped_column(String(64))
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    place_source: Mapped[str | None] = mapped_column(String(16))  # profile/text/location/asked/staff/worker/open311
    location: Mapped[dict | None] = mapped_column()
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("workers.id"))
    level: Mapped[int] = mapped_column(default=0)  # 0 worker, 1 leader, 2 community, 3 street
    classification: Mapped[dict | None] = mapped_column()  # the explained decision
    take_due: Mapped[datetime | None] = mapped_column()
    plan_due: Mapped[datetime | None] = mapped_column()
    close_due: Mapped[datetime | None] = mapped_column()
    taken_at: Mapped[datetime | None] = mapped_column()
    planned_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    suspended_at: Mapped[datetime | None] = mapped_column()
    rating: Mapped[str | None] = mapped_column(String(16))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    # 疑似重复: an open case of the same matter and place with somewhat similar words; the worker decides.
    suspect_of_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    # 回头件: the same problem at the same place as a case closed not long before (handlers/cases/duplicates.py).
    repeat_of_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    department: Mapped[str | None] = mapped_column(String(100))
    purged_at: Mapped[datetime | None] = mapped_column()  # personal data removed (retention)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    resident: Mapped[Resident | None] = relationship()
    grid: Mapped[Grid | None] = relationship()
    unit: Mapped[Unit | None] = relationship()
    assignee: Mapped[Worker | None] = relationship()
    repeat_of: Mapped[Case | None] = relationship(remote_side="Case.id", foreign_keys=[repeat_of_id])
    events: Mapped[list[CaseEvent]] = relationship(
        back_populates="case", order_by="CaseEvent.id", cascade="all, delete-orphan"
    )


class CaseEvent(Base):
    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))  # userid, "system" or "admin:<name>"
    action: Mapped[str] = mapped_column(String(24))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)
    attachments: Mapped[list] = mapped_column(default=list)

    case: Mapped[Case] = relationship(back_populates="events")


class ClockMark(Base):
    """One row per (case, deadline, step) the clock has acted on: acting twice is impossible."""

    __tablename__ = "clock_marks"
    __table_args__ = (UniqueConstraint("case_id", "mark"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"))
    mark: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseLink(Base):
    """A resident following another resident's case (a likely duplicate report)."""

    __tablename__ = "case_followers"
    __table_args__ = (UniqueConstraint("case_id", "userid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    userid: Mapped[str] = mapped_column(String(64))
    text: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[str | None] = mapped_column(String(16))  # the follower's own rating of the closed case
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
