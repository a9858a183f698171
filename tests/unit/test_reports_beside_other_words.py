"""A report sent with other words (a progress request, words about a closed case, a photo while where-words wait) is
never dropped nor put on a case of another matter; and what the resident reads is laid out without stray blank
lines. Through the message handler every channel reaches (`handlers.intake.dispatch`), on the demo district.

Every sentence here is written for this file."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from config.settings import SHIPPED_CONFIG_DIR
from demo.district import load_demo_district
from handlers.cases.records import latest_open_case
from handlers.chat import pending
from handlers.chat.inbound import Inbound
from handlers.classify import load_classifier
from handlers.clocks import run_clocks
from handlers.conversation.remark_first import past_a_remark
from handlers.intake import dispatch
from handlers.services import Services
from models import Case, CaseState
from tests.unit.outbox_support import factory  # noqa: F401 (fixture: a migrated database)

HOME = "绑定 湖景苑3栋"  # the demo's 湖景苑3-4栋: a report naming no place is placed there
LAMP = "湖景苑3栋楼道的灯坏了，晚上上楼看不见"
BINS = "金桂园门口的垃圾桶满了，好几天没人倒"


@dataclass
class Chat:
    """One resident's messages through the handler, on a clock of the test's own."""

    factory: object
    services: Services
    userid: str
    now: list[datetime]
    keys: itertools.count = field(default_factory=itertools.count)

    def send(self, text: str | None = None, kind: str = "text") -> str:
        self.now[0] += timedelta(seconds=20)
        key = f"{self.userid}:{next(self.keys)}"
        if kind == "text":
            inbound = Inbound(msg_key=key, userid=self.userid, kind="text", text=text)
        elif kind == "location":
            inbound = Inbound(msg_key=key, userid=self.userid, kind="location", lat=22.5838, lng=113.0841,
                              label="湖滨路")
        else:
            inbound = Inbound(msg_key=key, userid=self.userid, kind=kind, media_id=f"{key}-media")
        return dispatch.process(self.factory, self.services, inbound) or ""

    def wait(self, span: timedelta) -> None:
        self.now[0] += span
        with self.factory.begin() as session:
            run_clocks(session, self.services, self.now[0])

    def cases(self) -> list[Case]:
        with self.factory() as session:
            return list(session.scalars(select(Case).where(Case.reporter_userid == self.userid).order_by(Case.id)))

    def close_latest(self) -> int:
        """Its worker takes and closes the resident's latest open case; its number."""
        with self.factory() as session:
            case = latest_open_case(session, self.userid)
            number, worker = case.id, case.assignee.userid
        for words in (f"接单 {number}", f"办结 {number} 已修好"):
            dispatch.process(self.factory, self.services, Inbound(msg_key=f"{self.userid}:{next(self.keys)}",
                                                                  userid=worker, kind="text", text=words))
        return number

    def notes_on(self, case_id: int) -> list[str]:
        with self.factory() as session:
            return [event.note for event in session.get(Case, case_id).events
                    if event.actor == self.userid and event.note]


@pytest.fixture(scope="module")
def district(factory):  # noqa: F811 (the fixture above)
    with factory.begin() as session:
        load_demo_district(session, SHIPPED_CONFIG_DIR)
    return factory


@pytest.fixture
def chat(district, request) -> Chat:
    now = [datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)]
    services = Services(config_dir=SHIPPED_CONFIG_DIR, clock=lambda: now[0])
    return Chat(district, services, request.node.name[:60], now)


def test_a_new_matter_after_a_progress_request_is_reported_too(chat):
    chat.send(HOME)
    chat.send(BINS)
    reply = chat.send("进度，另外楼下的路灯坏了好几天了")
    bins, lamp = chat.cases()
    assert "路灯坏了" in lamp.text and lamp.category == "市政设施", reply
    assert f"GB-{bins.id:06d}" in reply and f"GB-{lamp.id:06d}" in reply, reply


def test_a_closed_cases_words_and_a_new_matter_go_each_their_way(chat):
    chat.send(HOME)
    chat.send(LAMP)
    lamp = chat.close_latest()
    chat.send("灯还是不亮，另外金桂园门口的垃圾桶满了没人倒")
    lamp_case, bins = chat.cases()
    assert lamp_case.id == lamp and "灯还是不亮" in " ".join(chat.notes_on(lamp)), chat.notes_on(lamp)
    assert "垃圾桶" in bins.text and "灯还是不亮" not in bins.text, bins.text


def test_a_closed_cases_words_and_a_new_matter_when_no_rating_is_asked_any_more(chat):
    chat.send(LAMP)
    lamp = chat.close_latest()
    assert "地址" in chat.send("楼下的垃圾桶满了没人倒")  # another question: the rating no longer asked
    chat.send("金桂园5栋")
    with chat.factory() as session:
        assert pending.current(session, chat.userid) is None
    chat.send("灯还是不亮，另外金桂园门口的井盖不见了")
    cases = chat.cases()
    assert [case.text for case in cases if "灯还是不亮" in case.text] == [], [case.text for case in cases]
    assert "灯还是不亮" in " ".join(chat.notes_on(lamp)), chat.notes_on(lamp)
    assert any("井盖" in case.text for case in cases), [case.text for case in cases]
    assert "地址" in chat.send("楼上天天半夜装修吵得睡不着")
    chat.send("金桂园6栋")  # again no rating asked: the lamp's words alone are on it too
    assert "3" in chat.send("楼道灯还是不亮啊")
    assert "楼道灯还是不亮啊" in chat.notes_on(lamp) and len(chat.cases()) == len(cases) + 1, chat.notes_on(lamp)



def test_same_with_nothing_asked_is_no_report(chat):
    reply = chat.send("一样")
    assert chat.cases() == [] and "哪一类" not in reply and "有事您说" in reply, reply
    chat.send(BINS)
    reply = chat.send("一样的")
    (bins,) = chat.cases()
    assert chat.notes_on(bins.id) == [] and "有事您说" in reply, reply


def test_a_matter_of_another_thing_after_a_placed_report_is_a_case_of_its_own(chat):
    chat.send("龙湾雅苑健身器材坏了")
    chat.now[0] += timedelta(minutes=1)
    chat.send("楼道灯不亮了")
    fitness, *others = chat.cases()
    assert [case.text for case in others] == ["楼道灯不亮了"], chat.notes_on(fitness.id)
    assert chat.notes_on(fitness.id) == []


@pytest.mark.parametrize("kind", ["image", "voice", "location"])
def test_media_sent_while_where_words_wait_joins_the_report_that_follows(chat, kind):
    chat.send("东门那边")
    chat.send(kind=kind)
    chat.send("垃圾桶满了好几天没人倒")
    chat.wait(timedelta(minutes=30))
    (case,) = chat.cases()
    assert "东门那边" in case.text and "垃圾桶" in case.text, case.text


def test_the_opened_case_reply_has_no_blank_line(chat):
    reply = chat.send(BINS)
    assert "GB-" in reply and "\n\n" not in reply, reply


def test_media_after_where_words_with_no_words_after_it_is_a_case_with_those_words(chat):
    chat.send("北门那边")
    chat.send(kind="image")
    chat.wait(timedelta(minutes=30))
    (case,) = chat.cases()
    assert case.text == "北门那边", case.text


def test_a_report_that_corrects_its_own_place_after_thanks_is_no_move_of_another_case(chat):
    chat.send(BINS)
    chat.wait(timedelta(hours=1))
    chat.send("谢谢，另外滨江花园一期5栋，不对，是二期5栋，楼下一棵树倒了把路挡住了")
    bins, tree = chat.cases()
    assert "一棵树倒了" in tree.text and "移" not in " ".join(chat.notes_on(bins.id)), tree.text
    with chat.factory() as session:
        assert not [event for event in session.get(Case, bins.id).events if event.action == "move_place"]


def test_a_matter_added_after_a_report_that_corrects_its_own_place_is_no_move_of_the_case_before(chat):
    """The fire lane again, then 另外 a tree whose place the resident corrects (fuzz seed 14): read as moving the fire
    lane's case to the tree's place, the message's words were on no case."""
    chat.send("金桂园5栋楼下的消防通道被电动车堵住了")
    chat.wait(timedelta(hours=1))
    chat.send("消防通道被好几辆车堵死了。另外湖景苑6栋门口，说错了，应该是8栋门口，有一棵大树倒在路中间")
    first, *others = chat.cases()
    assert any("消防通道被好几辆车堵死了" in case.text for case in others), [case.text for case in others]
    with chat.factory() as session:
        assert not [event for event in session.get(Case, first.id).events if event.action == "move_place"]


def test_a_matter_added_while_a_place_is_asked_that_corrects_its_own_place_is_no_answer(chat):
    """The fire lane's place asked, then the fire lane again and 另外 a tree whose place the resident corrects (fuzz
    seed 14): the tree's place was taken as the fire lane's, the tree's words kept on the fire lane's case."""
    assert "地址" in chat.send("小区里的消防通道被电动车堵住了")
    chat.send("消防通道被好几辆车堵死了。另外湖景苑6栋门口，说错了，应该是8栋门口，有一棵大树倒在路中间")
    first, *others = chat.cases()
    assert first.state == CaseState.AWAITING_PLACE and chat.notes_on(first.id) == [], chat.notes_on(first.id)
    assert any("一棵大树倒在路中间" in case.text for case in others), [case.text for case in others]


def test_a_report_correcting_its_own_place_while_a_vague_reports_place_is_asked_is_no_answer(chat):
    """又坏了 asked its place, then a tree whose place the resident corrects (fuzz seed 14): the correction's words,
    read with the tree, made the tree no matter, and its place and words went to the vague report."""
    assert "地址" in chat.send("又坏了，刚修好没两天")
    chat.wait(timedelta(minutes=5))
    chat.send("湖景苑6栋门口，说错了，应该是8栋门口，有一棵大树倒在路中间")
    first, *others = chat.cases()
    assert first.state == CaseState.AWAITING_PLACE and chat.notes_on(first.id) == [], chat.notes_on(first.id)
    assert any("一棵大树倒在路中间" in case.text for case in others), [case.text for case in others]


def test_the_last_piece_of_a_report_typed_in_pieces_sent_again_is_that_report(chat):
    """我们楼下, then the lamp, then the lamp's words again (no answer came yet): a second case of the same words."""
    chat.send("我们楼下")
    first = chat.send("楼道的路灯一直不亮")
    again = chat.send("楼道的路灯一直不亮")
    assert len(chat.cases()) == 1 and "无需重复发送" in again, (first, again)


def test_a_phone_number_after_a_report_linked_to_a_neighbours_case_reaches_that_cases_worker(chat):
    """The report followed a neighbour's open case (the same lamp); the number sent next was kept on no case."""
    neighbour = Chat(chat.factory, chat.services, f"{chat.userid}-nb", chat.now)
    first = neighbour.send("金桂园5栋楼道的灯不亮了，晚上上楼很黑")
    chat.send("金桂园5栋楼道的灯不亮了，晚上上楼很黑")
    kept = chat.send("13812340000")
    number = re.search(r"GB-\d{6}", first).group(0)
    assert "138****0000" in kept and number in kept, kept


@pytest.mark.parametrize("answer, category", [("就是路灯啊", "市政设施"), ("应该是物业管理吧", "物业管理"),
                                              ("是物业的事", "物业管理")], ids=["lamp", "property", "its-company"])
def test_a_category_answered_in_words_is_the_choice(chat, answer, category):
    assert "属于哪一类" in chat.send("湖景苑11栋楼道灯坏了")  # 市政设施 or 物业管理: asked back
    reply = chat.send(answer)
    [case] = chat.cases()
    assert case.category == category and case.text == f"湖景苑11栋楼道灯坏了 {answer}" and f"GB-{case.id:06d}" in reply


@pytest.mark.parametrize("words", ["电梯也坏了", "电梯坏了"], ids=["too", "broken"])
def test_another_thing_while_asked_back_is_a_report(chat, words):
    chat.send("湖景苑11栋楼道灯坏了")
    chat.send(words)
    assert [case.text for case in chat.cases()] == ["湖景苑11栋楼道灯坏了", words]


def test_a_category_in_words_after_the_time_out(chat):
    chat.send("湖景苑11栋楼道灯坏了")
    chat.wait(timedelta(minutes=15))  # opened as 其他
    reply = chat.send("是路灯")
    [case] = chat.cases()
    assert case.category == "市政设施" and f"GB-{case.id:06d}" in reply and "地址" not in reply, reply
    with chat.factory() as session:
        assert any("是路灯" in (event.note or "") for event in session.get(Case, case.id).events)


@pytest.mark.parametrize("kind", ["image", "voice"])
def test_a_place_alone_after_media_opens_it_there_unasked(chat, kind):
    chat.send(kind=kind)
    reply = chat.send("金桂园5栋门口")
    [case] = chat.cases()
    assert "哪一类" not in reply and f"GB-{case.id:06d}" in reply and "核实具体类别" in reply, reply
    assert case.category == "居民诉求-其他" and case.state == CaseState.PENDING
    with chat.factory() as session:
        case = session.get(Case, case.id)
        assert case.unit.address.endswith("金桂园5-6栋") and case.events[0].attachments[0]["kind"] == kind


@pytest.mark.parametrize("words", ["那个灯修好没有啊", "灯的事怎么样了", "楼道灯修好了没有"], ids=["lamp", "its-matter", "fixed-yet"])
def test_asking_after_a_thing_in_few_words(chat, words):  # no new report
    chat.send(LAMP)
    chat.wait(timedelta(days=1))
    reply = chat.send(words)
    [lamp] = chat.cases()
    told = lamp.duplicate_of_id or lamp.id  # (after the first test: the lamp there that their report is linked to)
    assert f"GB-{told:06d}" in reply and "待接单" in reply and "地址" not in reply, reply
    assert words in chat.notes_on(told)


def test_a_sentence_more_of_a_report_just_sent_is_no_second_report(chat):
    chat.send("金桂园3栋楼下路灯坏了")
    reply = chat.send("晚上黑漆漆的老人家不敢出门")  # no report the classifier reads on its own: it was asked back
    [lamp] = chat.cases()
    assert "晚上黑漆漆的老人家不敢出门" in chat.notes_on(lamp.id) and f"GB-{lamp.id:06d}" in reply, reply
    chat.send("院子里天天有野猫出没")  # a sentence the classifier reads: a report of its own
    assert [case.text for case in chat.cases()][1:] == ["院子里天天有野猫出没"]


@pytest.mark.parametrize("words, building", [("灯的事怎么样了", 15), ("你们怎么还没来修灯", 17)], ids=["asked", "chased"])
def test_another_case_asked_after_while_a_place_is_asked(chat, words, building):
    chat.send(f"明湖新村{building}栋楼道的灯坏了，晚上上楼看不见")
    chat.wait(timedelta(days=1))
    chat.send("路边的井盖不见了")
    reply = chat.send(words)
    lamp, manhole = chat.cases()
    assert f"GB-{lamp.id:06d}" in reply and "待接单" in reply and "哪一件" not in reply, reply
    assert words in chat.notes_on(lamp.id)
    chat.send("湖景苑5栋")  # the question stood
    with chat.factory() as session:
        manhole = session.get(Case, manhole.id)
        assert manhole.state != CaseState.AWAITING_PLACE and manhole.unit.address.endswith("湖景苑5-6栋")


def test_where_words_pointing_back_while_a_place_is_asked_ask_after_no_case(chat):
    chat.send("明湖新村19栋楼道的灯坏了，晚上上楼看不见")
    chat.wait(timedelta(days=1))
    chat.send("路边的井盖不见了")
    reply = chat.send("还是上次那个地方")  # where, not 还是 of a chase of the lamp
    lamp, manhole = chat.cases()
    assert f"GB-{manhole.id:06d}" in reply and chat.notes_on(lamp.id) == [], reply


@dataclass
class Reading:
    """The shipped classifier, noting each text it is asked to read."""

    read: list[str] = field(default_factory=list)

    def classify(self, text: str):
        self.read.append(text)
        return load_classifier(SHIPPED_CONFIG_DIR).classify(text)


def test_a_report_with_no_remark_before_a_clause_is_read_whole_not_clause_by_clause():
    reading = Reading()
    services = Services(config_dir=SHIPPED_CONFIG_DIR, classifier_source=lambda: reading)
    assert past_a_remark(services, LAMP, None) == LAMP
    assert reading.read == [LAMP]  # the words after its comma are not read as a report of their own
    thanked = "修好了谢谢，还有个事，" + BINS
    assert past_a_remark(services, thanked, None) == BINS  # thanks first: the report from the matter on, as before


def test_a_photo_after_a_report_linked_to_a_neighbours_case_reaches_that_case(chat):
    neighbour = Chat(chat.factory, chat.services, f"{chat.userid}-nb", chat.now)
    neighbour.send("荔枝湾小区5栋门口的垃圾桶满了，两天没人收")
    chat.send("荔枝湾小区5栋门口垃圾桶都满出来了，好几天没人清")
    reply = chat.send(kind="image")
    [followed] = neighbour.cases()
    assert f"GB-{followed.id:06d}" in reply and "说说问题" not in reply, reply  # it waited for words of a new report
    with chat.factory() as session:
        [photo] = [event for event in session.get(Case, followed.id).events if event.actor == chat.userid]
        assert photo.attachments[0]["kind"] == "image"


def test_another_thing_with_its_place_while_one_is_asked(chat):
    chat.send("路边的井盖不见了，很危险")  # its place asked
    chat.send("湖景苑10栋楼道的灯坏了，晚上上楼看不见")  # not its place: a lamp of the same category, elsewhere
    manhole, lamp = chat.cases()
    assert manhole.state == CaseState.AWAITING_PLACE and chat.notes_on(manhole.id) == []
    assert lamp.text == "湖景苑10栋楼道的灯坏了，晚上上楼看不见" and lamp.state == CaseState.PENDING
