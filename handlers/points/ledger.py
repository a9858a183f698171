"""Points (积分): awards from config/points.yaml into the ledger, balances and ranks."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config.settings import SHIPPED_CONFIG_DIR
from handlers.texts import BEIJING, render
from models import Case, PointsEntry, Resident, Unit
from models.db import lock_for
from models.statements import insert_or_skip


@lru_cache(maxsize=1)
def table() -> dict:
    return yaml.safe_load((SHIPPED_CONFIG_DIR / "points.yaml").read_text(encoding="utf-8"))


def award(session: Session, userid: str, audience: str, reason: str, case_id: int | None, now: datetime) -> None:
    """Credit `reason`'s points once per (user, reason, case); a repeat is a no-op."""
    delta = table()[audience].get(reason)
    if not delta:
        return
    values = {"userid": userid, "delta": delta, "reason": reason, "case_id": case_id, "at": now}
    insert_or_skip(session, PointsEntry.__table__, values, ("userid", "reason", "case_id"))


def award_rating(session: Session, case: Case, rating: str, now: datetime) -> None:
    """The resident earns for rating; the assignee earns or loses by the rating."""
    award(session, case.reporter_userid, "resident", "rate", case.id, now)
    award(session, case.reporter_userid, "resident", rating, case.id, now)
    if case.assignee is not None:
        award(session, case.assignee.userid, "worker", rating, case.id, now)


def balance(session: Session, userid: str) -> int:
    """The sum of `userid`'s ledger: never negative, because spending checks it first (`spend`)."""
    return session.scalar(select(func.coalesce(func.sum(PointsEntry.delta), 0)).where(PointsEntry.userid == userid))


def balance_reply(session: Session, userid: str, peers: list[str] | None = None) -> str:
    """`积分`: the balance, and the rank among `peers` (e.g. the workers of one grid)."""
    total = balance(session, userid)
    rank = None
    if peers:
        totals = dict(session.execute(
            select(PointsEntry.userid, func.sum(PointsEntry.delta))
            .where(PointsEntry.userid.in_(peers)).group_by(PointsEntry.userid)
        ).all())
        rank = 1 + sum(1 for peer in peers if totals.get(peer, 0) > total)
    return render("replies/points", total=total, rank=rank, peers=len(peers or []))


def penalize(session: Session, userid: str, reason: str, case_id: int | None, now: datetime) -> None:
    """A resident's configured loss (e.g. a false report), once per (user, reason, case), never taking the
    balance below zero: the loss is cut to what the balance holds."""
    lock_for(session, f"points:{userid}")
    loss = min(-table()["resident"][reason], balance(session, userid))
    if loss > 0:
        values = {"userid": userid, "delta": -loss, "reason": reason, "case_id": case_id, "at": now}
        insert_or_skip(session, PointsEntry.__table__, values, ("userid", "reason", "case_id"))


def spend(session: Session, userid: str, points: int, note: str, now: datetime) -> bool:
    """Debit `points` for `note` (an item) when the balance covers it; False (nothing written) otherwise.

    The caller holds the user's lock (models.db.lock_for), so two spends cannot both pass the check.
    """
    if balance(session, userid) < points:
        return False
    session.add(PointsEntry(userid=userid, delta=-points, reason="redeem", case_id=None, note=note, at=now))
    return True


def credit(session: Session, userid: str, points: int, reason: str, note: str, now: datetime) -> None:
    """An award not tied to a case (e.g. volunteer hours): appended every time."""
    session.add(PointsEntry(userid=userid, delta=points, reason=reason, case_id=None, note=note, at=now))


def recent(session: Session, userid: str, limit: int = 5) -> list[PointsEntry]:
    """`userid`'s newest ledger entries."""
    return list(session.scalars(select(PointsEntry).where(PointsEntry.userid == userid)
                                .order_by(PointsEntry.id.desc()).limit(limit)))


def month_start(now: datetime) -> datetime:
    """The first moment of `now`'s month, Beijing time (as UTC)."""
    local = now.astimezone(BEIJING)
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(now.tzinfo)


def grid_rankings(session: Session, since: datetime, grid_id: int | None = None) -> dict[int, list[tuple[str, str | None, int]]]:
    """Residents per grid by points earned since `since` (spending does not count), most first:
    grid id → [(userid, name, points)]; one grid when `grid_id` is given."""
    earned = func.sum(PointsEntry.delta).label("earned")
    query = (select(Unit.grid_id, Resident.userid, Resident.name, earned)
             .join(PointsEntry, PointsEntry.userid == Resident.userid).join(Unit, Unit.id == Resident.unit_id)
             .where(PointsEntry.delta > 0, PointsEntry.at >= since)
             .group_by(Unit.grid_id, Resident.userid, Resident.name).order_by(earned.desc(), Resident.userid))
    if grid_id is not None:
        query = query.where(Unit.grid_id == grid_id)
    rankings: dict[int, list[tuple[str, str | None, int]]] = {}
    for grid, userid, name, points in session.execute(query):
        rankings.setdefault(grid, []).append((userid, name, int(points)))
    return rankings
