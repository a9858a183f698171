"""The points shop (积分超市) and volunteers: `积分`, `兑换 物品`, `核销 码`, `志愿 姓名 小时 内容`.

Redeeming reserves one item: the stock is taken by a conditional UPDATE (`stock > 0`), so two
residents racing for the last item cannot both get it, and the points are debited under the
resident's lock, so the balance never goes below zero. Asking again for an item already reserved
and not yet picked up answers with the same pickup code (idempotent).
"""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from handlers.points.ledger import balance, credit, grid_rankings, month_start, recent, spend, table
from handlers.texts import render
from models import Redemption, RedemptionState, Resident, ShopItem, Volunteer, VolunteerHours
from models.db import lock_for

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at the counter
CODE_LENGTH = 6


def items_on_offer(session: Session) -> list[ShopItem]:
    """Active items in stock, cheapest first."""
    return list(session.scalars(select(ShopItem).where(ShopItem.active.is_(True), ShopItem.stock > 0)
                                .order_by(ShopItem.points, ShopItem.id)))


def points_reply(session: Session, resident: Resident, now: datetime) -> str:
    """`积分` from a resident: the balance, recent entries, what can be redeemed, the month's rank."""
    total = balance(session, resident.userid)
    rank = None
    if resident.unit is not None:
        grid_id = resident.unit.grid_id
        ranking = [userid for userid, _, _ in grid_rankings(session, month_start(now), grid_id).get(grid_id, [])]
        rank = ranking.index(resident.userid) + 1 if resident.userid in ranking else None
    return render("replies/resident_points", total=total, entries=recent(session, resident.userid),
                  items=items_on_offer(session), rank=rank)


def _find_item(session: Session, wanted: str) -> list[ShopItem]:
    active = select(ShopItem).where(ShopItem.active.is_(True))
    exact = list(session.scalars(active.where(ShopItem.name == wanted)))
    return exact or list(session.scalars(active.where(ShopItem.name.contains(wanted)).order_by(ShopItem.id)))


def _new_code(session: Session) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if session.scalar(select(Redemption.id).where(Redemption.code == code)) is None:
            return code


def redeem(session: Session, userid: str, wanted: str, now: datetime) -> str:
    """`兑换 物品`: reserve one item and debit its points; a pickup code to show at the counter."""
    wanted = wanted.strip()
    found = _find_item(session, wanted) if wanted else []
    if len(found) != 1:
        return render("replies/redeem_refused", reason="unknown", wanted=wanted, items=items_on_offer(session))
    item = found[0]
    lock_for(session, f"points:{userid}")
    held = session.scalars(select(Redemption).where(Redemption.userid == userid, Redemption.item_id == item.id,
                                                    Redemption.state == RedemptionState.RESERVED)).first()
    if held is not None:
        return render("replies/redeemed", redemption=held, item=item, again=True, total=balance(session, userid))
    if balance(session, userid) < item.points:
        return render("replies/redeem_refused", reason="short", item=item, total=balance(session, userid))
    taken = session.execute(update(ShopItem).where(ShopItem.id == item.id, ShopItem.active.is_(True),
                                                   ShopItem.stock > 0)
                            .values(stock=ShopItem.stock - 1).execution_options(synchronize_session=False)).rowcount
    if not taken:
        return render("replies/redeem_refused", reason="sold_out", item=item, items=items_on_offer(session))
    spend(session, userid, item.points, item.name, now)
    redemption = Redemption(userid=userid, item=item, points=item.points, code=_new_code(session), at=now)
    session.add(redemption)
    session.flush()
    return render("replies/redeemed", redemption=redemption, item=item, again=False, total=balance(session, userid))


def hand_over(session: Session, code: str, by: str, now: datetime) -> str:
    """`核销 码` by a worker (or the console): the reserved item is handed over, once."""
    code = code.strip().upper()
    if not code:
        return render("replies/worker_usage", command="handover")
    done = session.execute(update(Redemption).where(Redemption.code == code,
                                                    Redemption.state == RedemptionState.RESERVED)
                           .values(state=RedemptionState.HANDED_OVER, handed_over_at=now, handed_over_by=by)
                           .execution_options(synchronize_session=False)).rowcount
    redemption = session.scalars(select(Redemption).where(Redemption.code == code)).first()
    if redemption is not None:
        session.refresh(redemption)
    return render("replies/handed_over", code=code, redemption=redemption, done=bool(done))


def stars(hours: float) -> int:
    """Volunteer stars for `hours` of service (config/points.yaml)."""
    return sum(1 for threshold in table()["volunteer"]["stars"] if hours >= threshold)


def record_hours(session: Session, recorded_by: str, args: str, now: datetime) -> str:
    """`志愿 姓名 小时 内容`: a volunteer's hours, points by the hour, and their stars."""
    parts = args.split(maxsplit=2)
    try:
        hours = float(parts[1]) if len(parts) == 3 else 0.0
    except ValueError:
        hours = 0.0
    if not 0 < hours <= 24:
        return render("replies/worker_usage", command="volunteer")
    name, content = parts[0], parts[2]
    found = list(session.scalars(select(Volunteer).where(Volunteer.name == name).limit(5)))
    if len(found) != 1:
        return render("replies/volunteer_not_found", wanted=name, found=found)
    volunteer = found[0]
    session.add(VolunteerHours(volunteer=volunteer, hours=hours, content=content, recorded_by=recorded_by, at=now))
    earned = round(hours * table()["volunteer"]["per_hour"])
    if volunteer.userid and earned:
        credit(session, volunteer.userid, earned, "volunteer", content[:100], now)
    session.flush()
    total = volunteer_hours(session, volunteer)
    return render("replies/volunteer_recorded", volunteer=volunteer, hours=hours, total=total, stars=stars(total),
                  earned=earned if volunteer.userid else 0)


def volunteer_hours(session: Session, volunteer: Volunteer) -> float:
    """All hours recorded for `volunteer`."""
    hours = session.scalars(select(VolunteerHours.hours).where(VolunteerHours.volunteer_id == volunteer.id))
    return float(sum(hours))
