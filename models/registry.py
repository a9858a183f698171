"""The district registry: areas (区/街道/社区), grids, units, workers and residents."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base


class AreaLevel(enum.StrEnum):
    DISTRICT = "district"  # 区
    STREET = "street"  # 镇 / 街道
    COMMUNITY = "community"  # 村 / 社区


class WorkerRole(enum.StrEnum):
    LEADER = "leader"  # 网格长
    FULLTIME = "fulltime"  # 专职网格员
    SPECIALIST = "specialist"  # 专业网格员
    PARTTIME = "parttime"  # 兼职网格员
    UNIT_HEAD = "unit_head"  # 单元长
    COMMUNITY = "community"  # 社区工作人员 (escalation level 2)
    STREET = "street"  # 街道工作人员 (escalation level 3)


class Area(Base):
    __tablename__ = "areas"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))

    parent: Mapped[Area | None] = relationship(remote_side=[id])
    grids: Mapped[list[Grid]] = relationship(back_populates="area")


worker_grids = Table(
    "worker_grids",
    Base.metadata,
    Column("worker_id", ForeignKey("workers.id", ondelete="CASCADE"), primary_key=True),
    Column("grid_id", ForeignKey("grids.id", ondelete="CASCADE"), primary_key=True),
)


class Grid(Base):
    __tablename__ = "grids"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[int] = mapped_column(default=1)  # 一级/二级/三级网格
    area_id: Mapped[int] = mapped_column(ForeignKey("areas.id"), index=True)
    parent_grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"))
    chat_id: Mapped[str | None] = mapped_column(String(64))  # app-created group (appchat)
    webhook_url: Mapped[str | None] = mapped_column(String(500))  # group robot webhook
    boundary: Mapped[list | None] = mapped_column()  # [[lng, lat], ...] polygon

    area: Mapped[Area] = relationship(back_populates="grids")
    parent: Mapped[Grid | None] = relationship(remote_side=[id])
    units: Mapped[list[Unit]] = relationship(back_populates="grid")
    workers: Mapped[list[Worker]] = relationship(secondary=worker_grids, back_populates="grids")


class Unit(Base):
    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grids.id"), index=True)
    address: Mapped[str] = mapped_column(String(200))
    aliases: Mapped[list] = mapped_column(default=list)
    lat: Mapped[float | None] = mapped_column()
    lng: Mapped[float | None] = mapped_column()

    grid: Mapped[Grid] = relationship(back_populates="units")


class Worker(Base):
    __tablename__ = "workers"

    id: Mapped[int] = mapped_column(primary_key=True)
    userid: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(20))
    role: Mapped[str] = mapped_column(String(16))
    matters: Mapped[list] = mapped_column(default=list)  # categories a specialist covers
    on_duty: Mapped[bool] = mapped_column(default=True)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))  # community/street staff

    grids: Mapped[list[Grid]] = relationship(secondary=worker_grids, back_populates="workers")
    area: Mapped[Area | None] = relationship()


class Resident(Base):
    __tablename__ = "residents"
    __table_args__ = (UniqueConstraint("userid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    userid: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(50))
    phone: Mapped[str | None] = mapped_column(String(20))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    # 重点人群 (special groups, visited per config/visits.yaml), the worker who visits them when not
    # the grid's default, and since when the person has been in a group (visits owed from then on).
    groups: Mapped[list] = mapped_column(default=list)
    visit_worker_id: Mapped[int | None] = mapped_column(ForeignKey("workers.id"))
    groups_since: Mapped[datetime | None] = mapped_column()
    # The building whose QR code the resident last came through, and when: reports go there (for a resident
    # bound elsewhere, only within lifecycle.yaml's qr_arrival_window of the scan).
    arrival_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    arrived_at: Mapped[datetime | None] = mapped_column()

    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    visit_worker: Mapped[Worker | None] = relationship()
    arrival_unit: Mapped[Unit | None] = relationship(foreign_keys=[arrival_unit_id])


# The tables whose rows the registry cache (handlers/registry/cache.py) keeps: a database trigger on each
# gives `registry_version` a new random value on every change, by whatever process or statement.
REGISTRY_TABLES = ("areas", "grids", "units", "workers", "worker_grids", "departments", "department_liaisons")


class RegistryVersion(Base):
    """One row: a value that changes (randomly, never reused in practice) with every registry change."""

    __tablename__ = "registry_version"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
