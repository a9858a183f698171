"""Points over the encrypted callback: a genuine report earns, 积分 shows the balance, 兑换 reserves an
item with a pickup code (once), 核销 hands it over once, volunteers' hours earn, and two residents
racing for the last item cannot both get it."""

from __future__ import annotations

import re
import threading
import time

from sqlalchemy import select, update

from models import PointsEntry, Redemption, ShopItem
from tests.e2e.worker_chat import GARBAGE, digits, queued, report
from tests.wecom_sim import CallbackClient

CODE = re.compile(r"取货码 ([A-Z0-9]{6})")


def balance(db, userid: str) -> int:
    with db() as session:
        return sum(session.scalars(select(PointsEntry.delta).where(PointsEntry.userid == userid)))


def stock(db, name: str) -> int:
    with db() as session:
        return session.scalars(select(ShopItem.stock).where(ShopItem.name == name)).one()


def test_a_genuine_report_earns_points_shown_by_jifen(wecom):
    assert "您的积分：0分" in wecom.send_text("demo-resident", "积分")
    number = report(wecom, GARBAGE)
    n = digits(number)
    wecom.send_text("demo-worker", f"接单 {n}")
    wecom.send_text("demo-worker", f"办结 {n} 已清运")
    assert "已归档" in wecom.send_text("demo-resident", "满意")
    reply = wecom.send_text("demo-resident", "积分")
    assert "您的积分：4分" in reply  # report 2, rating 1, satisfied 1 (config/points.yaml)
    assert "反映问题被受理" in reply and "+2" in reply and "满意评价" in reply
    assert "洗衣液 4分" in reply and "食用油 30分（差26分）" in reply and "兑换 物品名" in reply


def test_redeem_gives_a_pickup_code_once_and_the_handover_is_confirmed_once(wecom, db):
    before = stock(db, "洗衣液")
    reply = wecom.send_text("demo-resident", "兑换 洗衣液")
    code = CODE.search(reply).group(1)
    assert "扣4分" in reply and "剩余0分" in reply
    again = wecom.send_text("demo-resident", "兑换洗衣液")
    assert code in again and "未重复扣分" in again
    assert balance(db, "demo-resident") == 0 and stock(db, "洗衣液") == before - 1
    assert "还差30分" in wecom.send_text("demo-resident", "兑换 食用油")
    assert "没有找到可兑换的“金条”" in wecom.send_text("demo-resident", "兑换 金条")
    assert balance(db, "demo-resident") == 0

    assert "已核销" in wecom.send_text("demo-worker", f"核销 {code.lower()}") 
    assert "核销过" in wecom.send_text("demo-leader", f"核销 {code}")
    assert "没有找到取货码" in wecom.send_text("demo-worker", "核销 ZZZZZZ")
    with db() as session:
        done = session.scalars(select(Redemption).where(Redemption.code == code)).one()
        assert (done.state, done.handed_over_by) == ("handed_over", "demo-worker")


def test_volunteer_hours_earn_points_by_the_hour(wecom, db):
    assert "没有找到志愿者“路人甲”" in wecom.send_text("demo-worker", "志愿 路人甲 2 巡逻")
    assert "格式：志愿 姓名 小时 内容" in wecom.send_text("demo-worker", "志愿 何志坚 很久 巡逻")
    reply = wecom.send_text("demo-worker", "志愿 何志坚 3 清理楼道杂物")
    assert "何志坚志愿服务3小时" in reply and "积6分" in reply and "累计3小时" in reply
    assert balance(db, "resident-002") == 6


def _say(client: CallbackClient, userid: str, text: str, start: threading.Barrier, out: dict) -> None:
    start.wait()
    out[userid] = client.send_text(userid, text)


def test_two_residents_racing_for_the_last_item_cannot_both_get_it(wecom, db, app_url):
    racers = ["resident-004", "resident-005"]
    with db.begin() as session:
        session.execute(update(ShopItem).where(ShopItem.name == "食用油").values(stock=1))
        session.add_all(PointsEntry(userid=userid, delta=40, reason="test_grant") for userid in racers)
    replies: dict[str, str | None] = {}
    start = threading.Barrier(len(racers))
    threads = [threading.Thread(target=_say, args=(CallbackClient(app_url, wecom.side), userid, "兑换 食用油",
                                                   start, replies)) for userid in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    deadline = time.monotonic() + 10
    while not all(replies.values()) and time.monotonic() < deadline:  # a reply behind a backlog comes as a notice
        replies.update({u: (queued(db, u, "食用油") or [None])[-1] for u in racers if not replies[u]})
        time.sleep(0.05)
    winners = [u for u in racers if CODE.search(replies[u] or "")]
    losers = [u for u in racers if "兑换完了" in (replies[u] or "")]
    assert len(winners) == 1 and len(losers) == 1, replies
    assert stock(db, "食用油") == 0
    assert balance(db, winners[0]) == 10 and balance(db, losers[0]) == 40
    with db() as session:
        assert session.scalars(select(Redemption.userid).join(ShopItem).where(ShopItem.name == "食用油")).all() \
            == winners


def test_a_report_found_false_loses_points_but_never_below_zero(wecom, db):
    number = report(wecom, "小区楼下的路灯坏了一个星期，晚上黑漆漆的", userid="resident-001")
    n = digits(number)
    wecom.send_text("demo-worker", f"接单 {n}")
    assert balance(db, "resident-001") == 2  # taken: a real case so far
    assert "格式：不实 编号 核实情况" in wecom.send_text("demo-worker", f"不实 {n}")
    reply = wecom.send_text("demo-worker", f"不实 {n} 现场核实路灯正常")
    assert number in reply and "核实不实" in reply
    assert balance(db, "resident-001") == 0  # -3 configured, cut to the 2 the balance held
    told = queued(db, "resident-001", number, "不属实")
    assert len(told) == 1 and "现场核实路灯正常" in told[0]


def test_a_unit_heads_report_from_their_building_earns(wecom, db):
    reply = wecom.send_text("unithead-001001", "上报 3栋楼道堆满杂物，堵住了消防通道")
    assert re.search(r"GB-\d{6}", reply), reply
    with db() as session:
        reasons = session.scalars(select(PointsEntry.reason).where(PointsEntry.userid == "unithead-001001")).all()
    assert reasons == ["unit_head_report"] and balance(db, "unithead-001001") == 2
