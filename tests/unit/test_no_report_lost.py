"""No report lost, none put on another resident's case: random conversations of a few residents — reports (one of
two matters), vague words, pieces, answers, addresses, greetings, commands, photos, pins, links, workers closing
cases, time passing with the clocks — through the message handler every channel reaches after its edge
(`handlers.intake.process`), on the demo district.

After the clocks have settled every question, each report a resident sent stands in one of their own cases (its
words or a note), never in another resident's case; no message failed, every text got an answer, and a reply names
only cases the resident reported or follows."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from config.settings import SHIPPED_CONFIG_DIR
from demo.district import load_demo_district
from handlers.cases.records import followers_of, latest_open_case
from handlers.chat.inbound import Inbound
from handlers.clocks import run_clocks
from handlers.intake import dispatch
from handlers.services import Services
from models import Case, CaseEvent, InboundMessage, Resident, Unit
from tests.unit.outbox_support import factory  # noqa: F401 (fixture: a migrated database)

# Sentences written for this test (none from an evaluation file): reports with and without a place.
REPORTS = (
    "湖景苑3栋楼道的灯坏了，晚上上楼看不见",
    "金桂园门口的垃圾桶满了，两天没人收",
    "明湖新村5栋楼下有人半夜用电钻装修，吵得睡不着",
    "滨江花园二期2栋门口下水道堵了，污水冒到路上",
    "荔枝湾小区8栋楼顶有人私自搭了一个铁皮棚",
    "楼下的路灯不亮好几天了",
    "小区的消防通道被几辆车堵死了",
)
OTHER_WORDS = ("我们楼下", "那边有点问题", "好几天了", "都没人管", "1", "2", "其他", "是", "不是", "对",
               "湖景苑5栋", "工人新村3栋", "说错了，是湖景苑5栋", "补充 已经好几天了", "取消关联",
               "那个路灯的事怎么样了", "催一下", "市政设施", "环境卫生", "还是没人来修",
               "你好", "谢谢", "在吗", "进度", "撤销", "满意", "不满意", "不满意，根本没修好")
WAITS = (timedelta(seconds=20), timedelta(minutes=4), timedelta(minutes=40), timedelta(hours=3))
RESIDENTS = ("a", "b", "c")  # c is bound to a home; a and b are not

Step = tuple[str, str, object]  # (resident, kind, text or wait)

steps = st.lists(st.one_of(
    st.tuples(st.sampled_from(RESIDENTS), st.just("report"), st.sampled_from(REPORTS)),
    st.tuples(st.sampled_from(RESIDENTS), st.just("text"), st.sampled_from(OTHER_WORDS)),
    st.tuples(st.sampled_from(RESIDENTS), st.sampled_from(("image", "location")), st.none()),
    st.tuples(st.sampled_from(RESIDENTS), st.just("closed"), st.none()),  # its worker takes and closes its case
    st.tuples(st.just(""), st.just("wait"), st.sampled_from(WAITS)),
), min_size=1, max_size=16)


@dataclass
class Run:
    """One conversation's residents (fresh user ids per example) and the clock it runs on."""

    now: datetime
    serial: itertools.count
    users: dict[str, str] = field(default_factory=dict)
    reported: dict[str, set[str]] = field(default_factory=dict)  # userid → report sentences sent


@pytest.fixture(scope="module")
def district(factory):  # noqa: F811 (the fixture above)
    with factory.begin() as session:
        load_demo_district(session, SHIPPED_CONFIG_DIR)
    return factory


@pytest.fixture(scope="module")
def run() -> Run:
    return Run(now=datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc), serial=itertools.count())


@pytest.fixture(scope="module")
def services(run: Run) -> Services:
    return Services(config_dir=SHIPPED_CONFIG_DIR, clock=lambda: run.now)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(conversation=steps)
def test_every_report_stands_in_its_own_residents_case(district, services, run, conversation):
    example = next(run.serial)
    run.users = {name: f"fuzz-{example}-{name}" for name in RESIDENTS}
    run.reported = {userid: set() for userid in run.users.values()}
    with district.begin() as session:
        home = session.scalars(select(Unit).order_by(Unit.id).limit(1)).one()
        session.add(Resident(userid=run.users["c"], unit=home))
    for name, kind, value in conversation:
        if kind == "wait":
            _wait(district, services, run, value)
            continue
        run.now += timedelta(seconds=5)
        userid = run.users[name]
        if kind == "closed":
            _close_latest(district, services, run, userid)
            continue
        reply = dispatch.process(district, services, _inbound(f"fuzz:{next(run.serial)}", userid, kind, value))
        if kind in ("text", "report"):
            assert reply, (name, value, conversation)
        _assert_names_own_cases(district, userid, reply or "", conversation)
        if kind == "report":
            run.reported[userid].add(value)
    _wait(district, services, run, timedelta(days=2))
    _assert_no_report_lost(district, run, conversation)


def _inbound(msg_key: str, userid: str, kind: str, text: str | None) -> Inbound:
    if kind == "image":
        return Inbound(msg_key=msg_key, userid=userid, kind="image", media_id="fuzz-media")
    if kind == "location":  # 湖景苑's corner of the demo map
        return Inbound(msg_key=msg_key, userid=userid, kind="location", lat=22.5838, lng=113.0841, label="湖滨路")
    return Inbound(msg_key=msg_key, userid=userid, kind="text", text=text or "")


def _assert_names_own_cases(factory, userid: str, reply: str, conversation: list[Step]) -> None:  # noqa: F811
    """A reply names only cases the resident reported or follows (as it is sent: they may undo a link later)."""
    with factory() as session:
        for number in re.findall(r"GB-(\d{6})", reply):
            case = session.get(Case, int(number))
            assert case.reporter_userid == userid or userid in followers_of(session, case.id), (
                userid, reply, conversation)


def _close_latest(factory, services: Services, run: Run, userid: str) -> None:  # noqa: F811
    """The worker of the resident's latest open case takes it and closes it, in chat."""
    with factory() as session:
        case = latest_open_case(session, userid)
        worker = case.assignee.userid if case is not None and case.assignee is not None else None
        number = case.id if case is not None else None
    if worker is None:
        return
    for words in (f"接单 {number}", f"办结 {number} 已处理好了"):
        dispatch.process(factory, services, Inbound(msg_key=f"fuzz:{next(run.serial)}", userid=worker, kind="text",
                                                    text=words))


def _wait(factory, services: Services, run: Run, span: timedelta) -> None:  # noqa: F811
    run.now += span
    with factory.begin() as session:
        run_clocks(session, services, run.now)


def _assert_no_report_lost(factory, run: Run, conversation: list[Step]) -> None:  # noqa: F811
    users = set(run.users.values())
    with factory() as session:
        failed = session.scalars(select(InboundMessage.msg_key).where(
            InboundMessage.from_userid.in_(users), InboundMessage.status == "failed")).all()
        assert not failed, conversation
        cases = session.scalars(select(Case).where(Case.reporter_userid.in_(users))).all()
        words: dict[str, str] = {userid: "" for userid in users}  # everything on each resident's own cases
        for case in cases:
            own = [case.text] + [event.note or "" for event in case.events if event.actor == case.reporter_userid]
            words[case.reporter_userid] += "\n".join(own)
            for sentence in REPORTS:
                if sentence in case.text:
                    assert sentence in run.reported[case.reporter_userid], (case.id, case.text, conversation)
        for userid, sentences in run.reported.items():
            for sentence in sentences:
                assert sentence in words[userid], (userid, sentence, conversation)
        foreign = session.execute(select(CaseEvent.case_id, CaseEvent.actor, CaseEvent.note).join(Case).where(
            CaseEvent.actor.in_(users), CaseEvent.actor != Case.reporter_userid)).all()
        for case_id, actor, note in foreign:
            assert actor in followers_of(session, case_id), (case_id, actor, note, conversation)
