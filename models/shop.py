"""The points shop (积分超市): items, reservations with pickup codes, and volunteers' hours."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow


class ShopItem(Base):
    __tablename__ = "shop_items"
    __table_args__ = (CheckConstraint("stock >= 0", name="stock_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    points: Mapped[int] = mapped_column()
    stock: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class RedemptionState(enum.StrEnum):
    RESERVED = "reserved"  # 待领取
    HANDED_OVER = "handed_over"  # 已核销


class Redemption(Base):
    """An item reserved by a resident; `code` is shown at pickup and confirmed once (核销)."""

    __tablename__ = "redemptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    userid: Mapped[str] = mapped_column(String(64), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("shop_items.id"))
    points: Mapped[int] = mapped_column()
    code: Mapped[str] = mapped_column(String(16), unique=True)
    state: Mapped[str] = mapped_column(String(16), default=RedemptionState.RESERVED)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    handed_over_at: Mapped[datetime | None] = mapped_column()
    handed_over_by: Mapped[str | None] = mapped_column(String(64))

    item: Mapped[ShopItem] = relationship()


class Volunteer(Base):
    """A registered volunteer (志愿者); `userid` is their resident account, where points go."""

    __tablename__ = "volunteers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), index=True)
    userid: Mapped[str | None] = mapped_column(String(64), unique=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grids.id"))


class VolunteerHours(Base):
    """Hours of service recorded by a worker (`志愿 姓名 小时 内容`)."""

    __tablename__ = "volunteer_hours"

    id: Mapped[int] = mapped_column(primary_key=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    hours: Mapped[float] = mapped_column()
    content: Mapped[str] = mapped_column(Text)
    recorded_by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)

    volunteer: Mapped[Volunteer] = relationship()
