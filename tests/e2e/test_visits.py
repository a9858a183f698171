"""Special-group visits over the encrypted callback: 走访 from chat, the due list, 转事项, 今日/巡查, the visit clock."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from handlers.texts import BEIJING
from models import AuditLog, Case, PatrolCheckin, Resident, Visit
from tests.cli import cli_json, run_cli
from tests.e2e.admin_client import logged_in
from tests.e2e.test_worker_commands import aibot, bot_say, home_chat  # noqa: F401  (fixtures)
from tests.e2e.worker_chat import number_in, queued
from tests.wecom_sim import location_xml

VISIT_KEYS = ("visit_reminders", "visit_overdue", "digests")


def due_names(database_url: str, at: datetime | None = None, worker: str = "demo-worker") -> dict[str, dict]:
    args = ["visits", "due", "--json", "--worker", worker] + (["--now", at.isoformat()] if at else [])
    return {row["name"]: row for row in cli_json(args, database_url)}


def month_start(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def beijing(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), BEIJING)


@pytest.fixture(scope="module")
def this_month() -> date:
    return datetime.now(BEIJING).date().replace(day=1)


def visits_of(db, name: str) -> list[tuple[str, str]]:
    """(note, worker userid) of every visit to `name`, oldest first."""
    with db() as session:
        return [(v.note, v.worker.userid) for v in session.scalars(
            select(Visit).join(Resident).where(Resident.name == name).order_by(Visit.id))]


def test_a_visit_from_chat_clears_the_person_from_the_due_list(wecom, database_url, db):
    before = due_names(database_url)
    assert {"王秀英", "王秀兰", "赵桂香"} <= set(before)
    assert before["赵桂香"]["group"] == "新增流动人口" and before["赵桂香"]["grid"] == "441999001001001"
    assert before["赵桂香"]["last_visit"] is None

    reply = wecom.send_text("demo-worker", "走访 赵桂香 新租户已登记，家中整洁，无异常")
    next_month = month_start(datetime.now(BEIJING).date(), 1)
    last_day = month_start(next_month, 1) - timedelta(days=1)
    assert "已记录走访：赵桂香（新增流动人口）" in reply
    assert f"{last_day.month}月{last_day.day}日前" in reply and "转事项" in reply

    after = due_names(database_url)
    assert "赵桂香" not in after and {"王秀英", "王秀兰"} <= set(after)
    assert visits_of(db, "赵桂香") == [("新租户已登记，家中整洁，无异常", "demo-worker")]


def test_the_due_list_across_a_month_boundary(wecom, database_url, db, this_month):
    if not visits_of(db, "赵桂香"):
        wecom.send_text("demo-worker", "走访 赵桂香 情况良好")
    next_month = month_start(this_month, 1)
    just_before = beijing(next_month, 0) - timedelta(minutes=1)
    just_after = beijing(next_month, 0, 1)
    assert "赵桂香" not in due_names(database_url, just_before)
    again = due_names(database_url, just_after)["赵桂香"]
    assert again["due"] == (month_start(next_month, 1) - timedelta(days=1)).isoformat()
    assert again["last_visit"] is not None and again["overdue"] is False
    # A whole month without a visit: overdue the month after.
    later = due_names(database_url, beijing(month_start(this_month, 2), 9))["赵桂香"]
    assert later["overdue"] is True


def test_two_close_names_get_a_numbered_question_and_the_number_records(wecom, db):
    question = wecom.send_text("demo-worker", "走访 王秀 老人身体尚可")
    assert "请回复序号" in question and "1. " in question and "2. " in question
    assert "王秀英" in question and "王秀兰" in question
    chosen = "王秀兰" if question.index("王秀兰") < question.index("王秀英") else "王秀英"
    reply = wecom.send_text("demo-worker", "1")
    assert f"已记录走访：{chosen}" in reply
    assert visits_of(db, chosen)[-1] == ("老人身体尚可", "demo-worker")


def test_a_visit_note_becomes_a_case_with_one_reply(wecom, db):
    reply = wecom.send_text("demo-worker", "走访王秀英 老人反映楼道里的灯坏了一个星期，晚上上下楼看不见")
    assert "已记录走访：王秀英" in reply
    opened = wecom.send_text("demo-worker", "转事项")
    number = number_in(opened)
    assert "走访发现的问题已转为事项" in opened
    with db() as session:
        visit = session.scalars(select(Visit).join(Resident).where(Resident.name == "王秀英")
                                .order_by(Visit.id.desc())).first()
        case = session.get(Case, int(number[3:]))
        assert visit.case_id == case.id and case.unit_id == visit.resident.unit_id
        assert case.text == visit.note
    assert "没有可转为事项" in wecom.send_text("demo-worker", "转事项")  # once only


def test_a_residents_visit_words_are_an_ordinary_message(wecom, db):
    with db() as session:
        count = len(session.scalars(select(Visit.id)).all())
    reply = wecom.send_text("demo-resident", "走访 王秀英 情况良好")
    assert reply is None or "已记录走访" not in reply
    with db() as session:
        assert len(session.scalars(select(Visit.id)).all()) == count


def test_today_lists_patrol_points_and_a_location_after_patrol_is_a_check_in(wecom, db):
    today = wecom.send_text("demo-worker", "今日")
    assert "【日巡查】阳光社区第一网格：阳光小区大门" in today and "【本周走访】" in today
    assert "【本月摸排】" in today
    asked = wecom.send_text("demo-worker", "巡查 阳光小区大门")
    assert "发送您当前的位置" in asked
    checked = wecom.reply_text(wecom.post_xml(location_xml("demo-worker", 22.5819, 113.0819, "湖滨路88号阳光小区")))
    assert "巡查打卡成功：阳光小区大门" in checked and "今日第1次" in checked
    with db() as session:
        checkin = session.scalars(select(PatrolCheckin)).one()
        assert (checkin.worker.userid, checkin.grid.code, checkin.point) == ("demo-worker", "441999001001001",
                                                                            "阳光小区大门")
    # A location with no 巡查 before it is not a check-in.
    wecom.post_xml(location_xml("demo-worker", 22.5819, 113.0819, "湖滨路88号阳光小区"))
    with db() as session:
        assert len(session.scalars(select(PatrolCheckin.id)).all()) == 1


def test_due_visits_answers_with_the_workers_list_and_masks_names_in_the_group(wecom, aibot, home_chat):
    wecom.send_text("demo-worker", "走访 赵桂香 情况良好")
    reply = wecom.send_text("demo-worker", "待访")
    lines = reply.splitlines()
    assert lines[0].startswith("待走访") and "赵桂香" not in reply  # visited this period
    assert any(line.startswith("1. 王秀") for line in lines) and lines[-1].startswith("走访后发送")
    in_group = bot_say(aibot, "demo-worker", "待访", home_chat)
    assert "王**" in in_group and "王秀" not in in_group


def test_overdue_visits_remind_the_worker_then_tell_the_leader_outside_quiet_hours(database_url, db, this_month):
    def clock(at: datetime) -> dict:
        result = cli_json(["clock", "run", "--now", at.isoformat()], database_url)
        return {key: result[key] for key in VISIT_KEYS}

    after = month_start(this_month, 2)
    remind_at = beijing(after - timedelta(days=3), 8, 30)
    assert clock(beijing(after - timedelta(days=3), 23, 30)) == dict.fromkeys(VISIT_KEYS, 0)  # quiet hours
    reminded = clock(remind_at)
    assert reminded["visit_reminders"] >= 1 and reminded["digests"] >= 1  # (weekly groups may be late already)
    assert clock(remind_at) == dict.fromkeys(VISIT_KEYS, 0)
    [reminder] = queued(db, "demo-worker", "【走访提醒】", "赵桂香")
    assert "王秀英" in reminder and "王秀兰" in reminder  # one reminder lists everyone still unvisited
    assert queued(db, "demo-worker", "今日工作清单", "阳光小区大门")
    assert not queued(db, "demo-leader", "【走访逾期】", "赵桂香")

    assert clock(beijing(after, 23, 0)) == dict.fromkeys(VISIT_KEYS, 0)  # quiet hours
    late = clock(beijing(after + timedelta(days=1), 9))
    assert late["visit_overdue"] >= 1
    told = queued(db, "demo-leader", "【走访逾期】", "赵桂香")
    assert len(told) == 1 and f"{(after - timedelta(days=1)).day}日前" in told[0] and "陈晓梅" in told[0]
    assert "王秀英" in told[0]  # one notice names everyone the grid missed
    assert clock(beijing(after + timedelta(days=1), 9)) == dict.fromkeys(VISIT_KEYS, 0)


def test_visits_due_names_an_unknown_grid_or_worker_in_one_line(database_url):
    for option, value in (("--grid", "999"), ("--worker", "nobody")):
        result = run_cli(["visits", "due", option, value], database_url)
        assert result.exit_code == 1 and result.output.strip() == f"gridbot: no {option[2:]} {value}"


def test_the_console_edits_a_residents_groups_and_visit_worker_with_an_audit(app_url, database_url, db):
    admin = logged_in(app_url)
    try:
        admin.get("/admin/registry/residents/demo-resident")
        form = {"name": "张丽", "phone": "13600000001", "unit": "441999001001001001",
                "groups": "独居老人，残疾家庭", "visit_worker": "demo-leader"}
        assert admin.post("/admin/registry/residents/demo-resident", form).status_code == 303
        assert "独居老人、残疾家庭" in admin.get("/admin/registry/residents", q="demo-resident").text
        bad = admin.post("/admin/registry/residents/demo-resident", {**form, "visit_worker": "nobody"})
        assert "error=visit_worker" in bad.headers["location"]
    finally:
        admin.close()
    due = due_names(database_url, worker="demo-leader")["张丽"]
    assert due["group"] == "独居老人、残疾家庭" and due["worker"] == "demo-leader"
    assert due["due"] == (datetime.now(BEIJING).date() + timedelta(days=6 - datetime.now(BEIJING).weekday())
                          ).isoformat()  # weekly: the end of this week
    with db() as session:
        audit = session.scalars(select(AuditLog).where(AuditLog.action == "registry_resident_edit")
                                .order_by(AuditLog.id.desc())).first()
        assert audit.target == "demo-resident" and audit.detail["diff"]["groups"] == [[], ["独居老人", "残疾家庭"]]
