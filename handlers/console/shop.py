"""The points shop in the console: items (points, stock), handing reserved items over (核销), the month's
ranking per grid and the volunteers with their hours and stars."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers.console.audit import record
from handlers.points.ledger import grid_rankings, month_start
from handlers.points.shop import stars
from models import Grid, Redemption, RedemptionState, ShopItem, Volunteer, VolunteerHours


class ItemError(ValueError):
    """An item form that cannot be saved."""


def save_item(session: Session, *, name: str, points: str, stock: str, active: bool, actor: str,
              now: datetime) -> ShopItem:
    """Create or update the item `name` (audited); points and stock are whole numbers ≥ 1 and ≥ 0."""
    name = name.strip()
    try:
        cost, count = int(points), int(stock)
    except ValueError:
        raise ItemError("numbers") from None
    if not name or cost < 1 or count < 0:
        raise ItemError("numbers" if name else "required")
    item = session.scalars(select(ShopItem).where(ShopItem.name == name)).first()
    before = None if item is None else {"points": item.points, "stock": item.stock, "active": item.active}
    if item is None:
        item = ShopItem(name=name)
        session.add(item)
    item.points, item.stock, item.active = cost, count, active
    record(session, actor=actor, action="shop.item", target=name, now=now, before=before,
           after={"points": cost, "stock": count, "active": active})
    session.flush()
    return item


def items(session: Session) -> list[tuple[ShopItem, int]]:
    """Every item with how many are reserved and not yet handed over."""
    waiting = dict(session.execute(select(Redemption.item_id, func.count()).where(
        Redemption.state == RedemptionState.RESERVED).group_by(Redemption.item_id)).all())
    return [(item, waiting.get(item.id, 0)) for item in session.scalars(select(ShopItem).order_by(ShopItem.name))]


def recent_redemptions(session: Session, limit: int = 20) -> list[Redemption]:
    return list(session.scalars(select(Redemption).order_by(Redemption.id.desc()).limit(limit)))


@dataclass(frozen=True)
class GridRanking:
    grid: Grid
    rows: list[tuple[str, str | None, int]]  # (userid, name, points earned this month)


def rankings(session: Session, now: datetime, grid_ids: set[int] | None, limit: int = 5) -> list[GridRanking]:
    """The month's top residents per grid (grids where anyone earned), within `grid_ids` (None: all)."""
    found = grid_rankings(session, month_start(now))
    grids = session.scalars(select(Grid).where(Grid.id.in_(found)).order_by(Grid.code)).all()
    return [GridRanking(grid, found[grid.id][:limit]) for grid in grids if grid_ids is None or grid.id in grid_ids]


def volunteers(session: Session) -> list[tuple[Volunteer, float, int]]:
    """Every volunteer with their total hours and stars, most hours first."""
    hours = dict(session.execute(select(VolunteerHours.volunteer_id, func.sum(VolunteerHours.hours))
                                 .group_by(VolunteerHours.volunteer_id)).all())
    rows = [(v, float(hours.get(v.id, 0.0)), stars(float(hours.get(v.id, 0.0)))) for v in
            session.scalars(select(Volunteer).order_by(Volunteer.name))]
    return sorted(rows, key=lambda row: -row[1])
