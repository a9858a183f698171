"""The points shop under concurrency: many residents, one item left, exactly one reservation; a
balance never goes below zero."""

from __future__ import annotations

import threading
from datetime import datetime, timezone

from sqlalchemy import func, select

from handlers.points import shop
from models import PointsEntry, Redemption, ShopItem
from tests.unit.outbox_support import factory  # noqa: F401 (fixture: a migrated database)

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)


def _balance(factory, userid: str) -> int:
    with factory() as session:
        return session.scalar(select(func.coalesce(func.sum(PointsEntry.delta), 0))
                              .where(PointsEntry.userid == userid))


def test_eight_residents_racing_for_the_last_item_one_wins(factory):
    racers = [f"racer-{n}" for n in range(8)]
    with factory.begin() as session:
        session.add(ShopItem(name="最后一桶油", points=30, stock=1))
        session.add_all(PointsEntry(userid=userid, delta=50, reason="grant", at=NOW) for userid in racers)
    start, replies = threading.Barrier(len(racers)), {}

    def race(userid: str) -> None:
        start.wait()
        with factory.begin() as session:
            replies[userid] = shop.redeem(session, userid, "最后一桶油", NOW)

    threads = [threading.Thread(target=race, args=(userid,)) for userid in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [userid for userid, reply in replies.items() if "取货码" in reply]
    assert len(winners) == 1 and sum("兑换完了" in reply for reply in replies.values()) == len(racers) - 1
    with factory() as session:
        assert session.scalars(select(ShopItem.stock).where(ShopItem.name == "最后一桶油")).one() == 0
        assert session.scalars(select(Redemption.userid).join(ShopItem)
                               .where(ShopItem.name == "最后一桶油")).all() == winners
    assert {userid: _balance(factory, userid) for userid in racers} == {
        userid: 20 if userid in winners else 50 for userid in racers}


def test_a_balance_never_goes_below_zero(factory):
    with factory.begin() as session:
        session.add_all([ShopItem(name="雨伞", points=10, stock=5), ShopItem(name="手套", points=10, stock=5)])
        session.add(PointsEntry(userid="short-1", delta=15, reason="grant", at=NOW))
    with factory.begin() as session:
        assert "剩余5分" in shop.redeem(session, "short-1", "雨伞", NOW)
    with factory.begin() as session:
        assert "还差5分" in shop.redeem(session, "short-1", "手套", NOW)
    assert _balance(factory, "short-1") == 5
    with factory() as session:
        assert session.scalars(select(ShopItem.stock).where(ShopItem.name == "手套")).one() == 5
