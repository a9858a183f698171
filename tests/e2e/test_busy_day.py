"""A grid's busy day over the encrypted callback: dozens of residents report, the workers work part of
it, the clock runs through the night. Counts what each person was sent (benchmarks/RESULTS.md).

Quiet hours are set around the test's own clock: the reports arrive just before the night starts, so
their take deadlines fall in the night, as they do for an evening's reports.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from config.settings import Settings
from models import Case, CaseEvent, ClockMark, OutboxMessage, Worker
from tests.cli import cli_json
from tests.e2e.conftest import config_with_quiet_hours, demo_settings
from tests.e2e.worker_chat import digits, number_in

NIGHT_STARTS, NIGHT_LASTS = timedelta(minutes=30), timedelta(hours=9)
CLOCK_STEP, CLOCK_SPAN = timedelta(minutes=15), timedelta(hours=15)
# (text, resident): 30 reports by 24 residents in the demo worker's grid, no two about the same matter.
REPORTS = [
    "阳光小区一期1栋楼下垃圾桶满了好几天没人清理，臭气熏天",
    "阳光小区一期2栋楼上半夜装修电钻响个不停，吵得睡不着",
    "阳光小区一期3栋门口的路灯坏了一个星期，晚上黑漆漆的",
    "阳光小区一期4栋楼顶有人私自加盖彩钢房",
    "阳光小区一期5栋消防通道被私家车堵死了",
    "阳光小区一期6栋电梯又坏了，物业一直不来修",
    "阳光小区一期7栋有人在楼道里给电动车充电，电线拖了一地",
    "阳光小区一期8栋门口有流动摊贩占道经营",
    "阳光小区一期9栋两户邻居因为漏水吵起来了，差点动手",
    "阳光小区一期10栋楼下井盖松了，踩上去会晃",
    "阳光小区一期11栋有人在绿化带里焚烧垃圾，烟很大",
    "阳光小区一期12栋楼下广场舞音响太大声，晚上十点还在跳",
    "阳光小区一期13栋地下室有股很重的煤气味，怕是燃气泄漏",
    "阳光小区一期14栋旁边的小餐馆后厨很脏，老鼠乱跑",
    "阳光小区一期15栋独居老人好几天没出门了，家里没人应",
    "阳光小区一期16栋楼道的灭火器都过期了",
    "阳光小区一期1栋楼下的狗天天乱叫，吵得人心烦",
    "阳光小区一期2栋门口的污水井堵了，污水漫到路上",
    "阳光小区一期3栋一楼住户把阳台往外扩建了一大块",
    "阳光小区一期4栋的物业管理费乱收，还不公示",
    "阳光小区一期5栋楼下有人乱停共享单车，挡住了出入口",
    "阳光小区一期6栋的小孩在小区里放烟花，差点点着了树",
    "阳光小区一期7栋门口的路面塌了个坑",
    "阳光小区一期8栋有个装修工地晚上还在施工，噪音很大",
    "阳光小区一期9栋的楼道垃圾堆了好几天",
    "阳光小区一期10栋楼下有人摆摊卖菜，占了人行道",
    "阳光小区一期11栋物业把绿地改成了停车位",
    "阳光小区一期12栋邻居养鸡，味道很大还吵",
    "阳光小区一期13栋的路灯晚上不亮",
    "阳光小区一期14栋有人私自在楼下搭了个棚子",
]
RESIDENTS = [f"busy-resident-{i % 24:02d}" for i in range(len(REPORTS))]
STAFF = ("demo-leader", "yg-community-1", "yg-community-2", "hb-street-1")


@pytest.fixture(scope="module")
def night() -> tuple[datetime, datetime]:
    start = datetime.now().astimezone() + NIGHT_STARTS
    start = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    return start, start + NIGHT_LASTS


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory, night) -> str:
    return config_with_quiet_hours(tmp_path_factory.mktemp("busy"), night[0], night[1])


@pytest.fixture(scope="module")
def app_settings(database_url, fake_wecom, config_dir) -> Settings:
    return demo_settings(database_url, fake_wecom, config_dir=config_dir)


class Tally:
    """Notices gridbot queued per recipient, read from the outbox after each step of the day."""

    def __init__(self, db) -> None:
        self.db = db
        self.seen = 0
        self.by_phase: dict[str, Counter] = {}
        self.lines: Counter = Counter()
        self.texts: dict[tuple[str, str], list[str]] = {}

    def take(self, phase: str) -> None:
        with self.db() as session:
            rows = session.execute(select(OutboxMessage.id, OutboxMessage.recipient, OutboxMessage.text)
                                   .where(OutboxMessage.id > self.seen).order_by(OutboxMessage.id)).all()
        for row_id, recipient, text in rows:
            self.by_phase.setdefault(phase, Counter())[recipient] += 1
            self.lines[recipient] += len(text.splitlines())
            self.texts.setdefault((phase, recipient), []).append(text)
            self.seen = row_id

    def total(self, recipient: str, *phases: str) -> int:
        return sum(self.by_phase.get(phase, Counter())[recipient] for phase in phases or self.by_phase)


def _workers_day(wecom, numbers: dict[str, str]) -> None:
    """What the grid's workers do in the afternoon: take, plan, close half of their cases."""
    mine = [n for n, who in numbers.items() if who == "demo-worker"]
    for i, number in enumerate(mine[:10]):
        n = digits(number)
        assert "已接单" in wecom.send_text("demo-worker", f"接单 {n}")
        if i < 7:
            wecom.send_text("demo-worker", f"方案 {n} 今天下午联系物业和保洁一起处理")
        if i < 5:
            wecom.send_text("demo-worker", f"办结 {n} 已现场处理完毕，拍照留存")
    wecom.send_text("demo-worker", f"转派 {digits(mine[10])} 林建华")


def test_a_busy_day_and_its_night(wecom, db, night, config_dir, database_url, capsys):
    day_started = datetime.now().astimezone()
    numbers: dict[str, str] = {}
    for text, resident in zip(REPORTS, RESIDENTS):
        reply = wecom.send_text(resident, text)
        if "回复数字" in reply:  # asked which category: the first one offered
            reply = wecom.send_text(resident, "1")
        numbers[number_in(reply)] = ""
    with db() as session:
        for number in numbers:
            case = cli_json(["case", "show", number, "--json"], database_url)
            numbers[number] = case["assignee"] or ""
        home_chat = session.scalars(select(Worker).where(Worker.userid == "demo-worker")).one().grids[0].chat_id
    tally = Tally(db)
    tally.take("day")
    _workers_day(wecom, numbers)
    for number in list(numbers)[:3]:
        resident = RESIDENTS[list(numbers).index(number)]
        wecom.send_text(resident, "满意")
    tally.take("day")

    moment = day_started + CLOCK_STEP
    while moment < day_started + CLOCK_SPAN:
        cli_json(["clock", "run", "--now", moment.isoformat()], database_url, GRIDBOT_CONFIG_DIR=config_dir)
        phase = "night" if night[0] <= moment < night[1] else ("morning" if moment >= night[1] else "day")
        tally.take(phase)
        moment += CLOCK_STEP

    cases = len(numbers)
    worker_cases = sum(1 for who in numbers.values() if who == "demo-worker")
    figures = {
        "new cases": cases,
        "group messages per new case": round(tally.total(home_chat) / cases, 2),
        "group lines per new case": round(tally.lines[home_chat] / cases, 2),
        "demo-worker messages per case": round(tally.total("demo-worker") / worker_cases, 2),
        "demo-worker messages overnight": tally.total("demo-worker", "night"),
        "leader messages overnight": tally.total("demo-leader", "night"),
        "leader messages in the morning": tally.total("demo-leader", "morning"),
        "community+street messages overnight": sum(tally.total(who, "night") for who in STAFF[1:]),
        "resident messages per case": round(sum(tally.total(r) for r in set(RESIDENTS)) / cases, 2),
    }
    with capsys.disabled():
        print("\nbusy day:", json.dumps(figures, ensure_ascii=False))
    assert cases >= len(REPORTS) - 3  # a few may follow a neighbour's case as duplicates
    for person in STAFF:  # the night wakes the staff for urgent matters only
        assert all("紧急" in text for text in tally.texts.get(("night", person), [])), tally.texts.get(("night", person))
    escalated = [t for t in tally.texts.get(("morning", "demo-leader"), []) if "超时" in t]
    assert escalated and escalated[0].startswith("【昨夜超时")  # the night's cases in one message
    _every_escalation_followed_a_reminder(db)


def _every_escalation_followed_a_reminder(db) -> None:
    with db() as session:
        escalated = session.execute(select(Case.id, func.min(CaseEvent.at)).join(CaseEvent)
                                    .where(CaseEvent.action == "overdue", Case.urgent.is_(False))
                                    .group_by(Case.id)).all()
        reminded = dict(session.execute(select(ClockMark.case_id, func.min(ClockMark.at))
                                        .where(ClockMark.mark.like("%:remind:%")).group_by(ClockMark.case_id)).all())
    assert escalated
    for case_id, first_escalation in escalated:
        assert case_id in reminded and reminded[case_id] < first_escalation, case_id
