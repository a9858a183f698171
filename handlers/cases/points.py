"""Points (积分): awards from config/points.yaml into the ledger, balances and ranks."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from config.settings import SHIPPED_CONFIG_DIR
from handlers.texts import render
from models import Case, PointsEntry
from models.db import insert_or_skip


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
    if case.assignee is not None:
        award(session, case.assignee.userid, "worker", rating, case.id, now)


def balance(session: Session, userid: str) -> int:
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
