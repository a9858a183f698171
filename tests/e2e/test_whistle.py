"""吹哨报到 over the encrypted callback: a grid whistles a department, its liaison 报到s and closes the
case; anyone else is refused; an unanswered whistle reaches the street staff once."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from demo.fake_kf import tiny_png
from models import StoredMedia, Whistle
from tests.cli import cli_json
from tests.e2e.conftest import config_with_quiet_hours
from tests.e2e.worker_chat import queued, show, taken
from tests.wecom_sim import link_xml, media_xml

OCCUPY = "阳光小区门口有人占道摆摊卖菜，堵得车都过不去"


def whistle(wecom, n: str, department: str = "城管", note: str = "占道经营需执法") -> str:
    return wecom.send_text("demo-worker", f"吹哨 {n} {department} {note}")


def test_departments_cli_lists_the_demo_departments_with_their_liaisons(app_url, database_url):
    departments = {d["code"]: d for d in cli_json(["departments", "--json"], database_url)}
    assert departments["CGZF"] == {"code": "CGZF", "name": "城管执法", "liaisons": ["dept-cg-1", "dept-cg-2"]}
    assert len(departments) >= 3 and all(d["liaisons"] for d in departments.values())


def test_whistle_reaches_every_liaison_and_the_resident_hears_the_department(wecom, db, database_url):
    number, n = taken(wecom, OCCUPY)
    reply = whistle(wecom, n)
    assert "已吹哨" in reply and "城管执法" in reply and number in reply
    for liaison in ("dept-cg-1", "dept-cg-2"):
        notice = queued(db, liaison, number, "【吹哨报到】")
        assert len(notice) == 1 and "占道经营需执法" in notice[0] and f"报到 {n}" in notice[0]
    assert not queued(db, "dept-zj-1", number)
    assert len(queued(db, "demo-resident", number, "城管执法")) == 1
    case = show(number, database_url)
    assert case["department"] == "城管执法" and case["events"][-1]["action"] == "whistle"
    assert "已向城管执法吹哨" in whistle(wecom, n)  # the same department twice: one whistle


def test_unknown_department_lists_the_registered_ones(wecom):
    _, n = taken(wecom, OCCUPY)
    reply = whistle(wecom, n, department="气象局")
    assert "没有找到部门“气象局”" in reply and "城管执法" in reply and "住建" in reply


def test_liaison_reports_in_and_closes_and_an_outsider_is_refused(wecom, db, database_url):
    number, n = taken(wecom, OCCUPY)
    whistle(wecom, n)

    refused = wecom.send_text("dept-zj-1", f"报到 {n}")  # a liaison of another department
    assert "没有向您所在的部门吹哨" in refused and "城管执法" in refused and "林建华" in refused
    assert "没有向您所在的部门吹哨" in wecom.send_text("dept-zj-1", f"办结 {n} 已处理")
    assert show(number, database_url)["state"] == "in_progress"

    assert "已报到" in wecom.send_text("dept-cg-1", f"报到 {n}")
    assert len(queued(db, "demo-worker", number, "【部门报到】", "城管执法")) == 1
    assert "进展已记录" in wecom.send_text("dept-cg-2", f"进展 {n} 执法队员已到场劝离")
    assert queued(db, "demo-resident", number, "执法队员已到场劝离")
    assert "已办结" in wecom.send_text("dept-cg-1", f"办结 {n} 摊位已清理")

    case = show(number, database_url)
    assert case["state"] == "closed"
    assert [e["action"] for e in case["events"]][-4:] == ["whistle", "report_in", "progress", "close"]
    assert "摊位已清理" in queued(db, "demo-resident", number, "已办结")[0]
    assert "没有向您所在的部门吹哨" in wecom.send_text("dept-cg-1", f"进展 {n} 再补充")  # done: no longer theirs
    with db() as session:
        done = session.scalars(select(Whistle).where(Whistle.case_id == int(number[3:]))).one()
        assert (done.state, done.reported_by) == ("closed", "dept-cg-1") and done.reported_at <= done.closed_at


def _photo(wecom, userid: str, msg_id: int) -> str:
    return wecom.reply_text(wecom.post_xml(media_xml(userid, "image", msg_id)))


def _kept(db, media_id: str) -> list[str]:
    with db() as session:
        return session.scalars(select(StoredMedia.media_id).where(StoredMedia.media_id == media_id)).all()


def test_a_liaisons_photo_after_reporting_back_is_attached_to_that_step(wecom, fake_wecom, db, database_url, app_url):
    number, n = taken(wecom, OCCUPY)
    whistle(wecom, n)
    wecom.send_text("dept-cg-1", f"报到 {n}")
    assert "发送照片" in wecom.send_text("dept-cg-1", f"办结 {n} 摊位已清理")
    attached = _photo(wecom, "dept-cg-1", 882000003)
    assert number in attached and "办结" in attached
    assert "不知道属于哪个事项" in _photo(wecom, "dept-zj-1", 882000004)  # reported nothing back: no step

    close = show(number, database_url)["events"][-1]
    assert close["action"] == "close" and close["actor"] == "dept-cg-1"
    assert [a["media_id"] for a in close["attachments"]] == ["media-882000003"]
    # downloaded with media/get through the outbox, as a worker's photo is
    assert fake_wecom.wait_for(lambda: _kept(db, "media-882000003"), 1, timeout=60)
    path = re.search(r"/p/[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+", wecom.send_text("demo-resident", f"进度 {n}")).group(0)
    shown = httpx.get(f"{app_url}{path}/photos/0")  # the resident sees it on the progress page
    assert shown.status_code == 200 and shown.content == tiny_png("media-882000003")


def test_liaison_returns_a_case_that_is_not_theirs(wecom, db, database_url):
    number, n = taken(wecom, OCCUPY)
    whistle(wecom, n, department="住建", note="疑似违建")
    assert "已退回网格" in wecom.send_text("dept-zj-1", f"退回 {n} 属于临时摊点，不是建筑问题")
    told = queued(db, "demo-worker", number, "【部门退回】")
    assert len(told) == 1 and "不是建筑问题" in told[0]
    case = show(number, database_url)
    assert case["department"] is None and case["events"][-1]["action"] == "whistle_return"
    assert "没有向您所在的部门吹哨" in wecom.send_text("dept-zj-1", f"办结 {n} 好")


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory) -> str:
    """The shipped config without quiet hours, so the clock acts at any time of day."""
    return config_with_quiet_hours(tmp_path_factory.mktemp("whistle"), "00:00", "00:00")


def test_an_unanswered_whistle_reaches_the_street_staff_once(wecom, db, database_url, config_dir):
    number, n = taken(wecom, OCCUPY)
    whistle(wecom, n, department="市场监管", note="无证经营")
    with db() as session:
        due = session.scalars(select(Whistle.report_due).where(Whistle.case_id == int(number[3:]))).one()

    def clock(at: datetime) -> dict:
        result = cli_json(["clock", "run", "--now", at.isoformat()], database_url, GRIDBOT_CONFIG_DIR=config_dir)
        return {key: result.get(key, 0) for key in ("whistle_reminders", "whistle_overdue")}

    assert clock(due - timedelta(minutes=10))["whistle_reminders"] >= 1
    assert len(queued(db, "dept-sj-1", number, "【报到提醒】")) == 1
    assert not queued(db, "hb-street-1", number)
    assert clock(due + timedelta(minutes=1))["whistle_overdue"] >= 1
    assert clock(due + timedelta(minutes=2)) == {"whistle_reminders": 0, "whistle_overdue": 0}
    late = queued(db, "hb-street-1", number, "【报到超时】", "市场监管")
    assert len(late) == 1 and "无证经营" in late[0]
    assert len(queued(db, "dept-sj-1", number, "【报到提醒】")) == 1
    events = show(number, database_url)["events"]
    assert [e["action"] for e in events].count("whistle_overdue") == 1 and "未在" in events[-1]["note"]
    assert "已报到" in wecom.send_text("dept-sj-1", f"报到 {n}")  # late, but still welcome


def test_a_residents_department_matter_goes_straight_to_the_registered_department(wecom, db, database_url):
    reply = wecom.send_text("demo-resident", "健身房办了会员卡，结果老板跑路了，预付卡的钱怎么退")
    assert "已直接转交市场监管办理" in reply
    number = re.search(r"GB-\d{6}", reply).group(0)
    n = str(int(number[3:]))
    notice = queued(db, "dept-sj-1", number, "【部门转办】")
    assert len(notice) == 1 and "消费维权" in notice[0] and f"报到 {n}" in notice[0]
    case = show(number, database_url)
    assert (case["state"], case["department"], case["assignee"], case["take_due"]) == (
        "in_progress", "市场监管", None, None)
    assert "已报到" in wecom.send_text("dept-sj-1", f"报到 {n}")
    assert "已办结" in wecom.send_text("dept-sj-1", f"办结 {n} 已约谈商家退款")
    assert "请您评价" in queued(db, "demo-resident", number, "已约谈商家退款")[0]  # the resident rates as usual
    assert show(number, database_url)["state"] == "closed"
    tax = wecom.send_text("tax-resident", "想问一下个人所得税专项附加扣除怎么申报，退税什么时候到账")
    assert "不属于网格" in tax  # no registered department takes 税务: the referral reply as before


def test_a_link_a_worker_or_liaison_shares_after_a_step_is_kept_on_it_and_one_after_none_is_answered(wecom, db,
                                                                                                   database_url):
    """A link shared right after 进展 or 办结 (a repair booking, the notice put up) belongs to that step, as a photo
    does: kept on it with its title and address; one that follows no step of theirs is answered with what to do.
    Before, a worker's link got no answer at all and a liaison's the command list."""
    number, n = taken(wecom, OCCUPY)
    wecom.send_text("demo-worker", f"进展 {n} 已约物业明天上门")
    booking = ("物业维修预约单", "https://wuye.example.cn/booking/20261201")
    kept = wecom.reply_text(wecom.post_xml(link_xml("demo-worker", *booking[:1], "明天上午", booking[1])))
    assert number in kept and "链接" in kept and "进展" in kept, kept
    whistle(wecom, n)
    wecom.send_text("dept-cg-1", f"报到 {n}")
    wecom.send_text("dept-cg-1", f"办结 {n} 摊位已清理")
    notice = ("关于规范占道经营的告知书", "https://cg.example.cn/notice/88")
    closed = wecom.reply_text(wecom.post_xml(link_xml("dept-cg-1", notice[0], "城管执法", notice[1])))
    assert number in closed and "办结" in closed, closed
    steps = {e["action"]: e["attachments"] for e in show(number, database_url)["events"] if e["attachments"]}
    assert steps["progress"] == [{"kind": "link", "title": booking[0], "url": booking[1]}], steps
    assert steps["close"] == [{"kind": "link", "title": notice[0], "url": notice[1]}], steps

    for who in ("dept-zj-1", "demo-leader"):  # nothing reported back just now: which case is not known
        asked = wecom.reply_text(wecom.post_xml(link_xml(who, "占道经营整治方案", "", "https://cg.example.cn/plan")))
        assert asked and "占道经营整治方案" in asked and "不知道属于哪个事项" in asked and "进展 编号" in asked, (who, asked)
