"""No report lost, none put on another resident's case: random conversations of a few residents — on the app and on
plain WeChat (微信客服), two of one household — through the message handler every channel reaches after its edge
(`handlers.intake.process`), on the demo district. They send reports (of one or two matters; traditional, full-width,
with emoji, very long, after a rating or thanks), vague words, pieces, answers, addresses, greetings, commands,
photos, voice, pins, arrive through a building's code; staff take, close, 改类, 转派, 退回, 提级, 合并, 取消关联 and 定位
their cases; time passes with the clocks.

After the clocks have settled every question, each report a resident sent is one of their own cases (its words) or
words they added to the case it is about (a case of its matter), never on another case nor in another resident's; no
message failed, every text got an answer; what reaches a resident (replies and notices, checked as they are sent)
names only cases they reported or follow, quotes no words of another resident's report, asks at most one
question and has no two blank lines in a row; a closed case is reopened only by its own reporter; no case still waits
for a place its resident wrote on it.

The suite's few examples are the same on every run (derandomised: a red CI means a defect in them, not a draw);
`GRIDBOT_FUZZ_EXAMPLES` runs more examples, drawn at random (e.g. 500 with `-p no:randomly --hypothesis-seed N`)."""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from opencc import OpenCC
from sqlalchemy import func, select

from config.settings import SHIPPED_CONFIG_DIR
from demo.district import load_demo_district
from handlers.cases.authority import grid_leaders
from handlers.cases.records import followers_of, latest_open_case
from handlers.cases.unplaced import placing_staff
from handlers.chat import pending
from handlers.chat.commands import fold, word_characters
from handlers.chat.inbound import Inbound
from handlers.clocks import run_clocks
from handlers.intake import dispatch
from handlers.privacy.masking import phone_numbers
from handlers.services import Services
from models import Case, CaseEvent, CaseState, Conversation, InboundMessage, OutboxMessage, Resident, Unit
from models.channels import KF_USERID_PREFIX
from models.outbox import OutboxChannel
from tests.unit.outbox_support import factory  # noqa: F401 (fixture: a migrated database)

# Sentences written for this test (none from an evaluation file): reports with and without a place.
# Each with its matter: a report kept as words on a case stands only on a case of the same matter.
MATTERS = {
    "湖景苑3栋楼道的灯坏了，晚上上楼看不见": "stairwell lamp",
    "金桂园门口的垃圾桶满了，两天没人收": "bins",
    "明湖新村5栋楼下有人半夜用电钻装修，吵得睡不着": "drilling",
    "滨江花园二期2栋门口下水道堵了，污水冒到路上": "drain",
    "荔枝湾小区8栋楼顶有人私自搭了一个铁皮棚": "shed",
    "楼下的路灯不亮好几天了": "street lamp",
    "小区的消防通道被几辆车堵死了": "fire lane",
    # the same matters in other words: a neighbour's report linked to the first, whose words they must not read
    "金桂园大门口垃圾桶都满出来了，好几天没人清": "bins",
    "楼下路灯坏了，晚上黑乎乎的走路都怕": "street lamp",
    "小区消防通道又被私家车占满了，万一着火怎么办": "fire lane",
    # one matter at two places (a case each), between two places (which of them is asked), a place corrected
    "湖景苑6栋和明湖新村9栋都停水了，从早上到现在一直没水": "water cut",
    "桃源居2栋同工人新村7栋都停电了，冰箱里的东西都坏了": "power cut",
    "金桂园和湖景苑中间那条路的井盖不见了，晚上很危险": "manhole",
    "阳光小区一期5栋，不对，是二期5栋，电梯卡在半层不动了": "lift",
    "滨江花园一期3栋门口，说错了，应该是二期3栋，有一棵大树倒在路中间": "tree",
}
REPORTS = tuple(MATTERS)
OTHER_WORDS = ("我们楼下", "那边有点问题", "好几天了", "都没人管", "1", "2", "其他", "是", "不是", "对",
               "湖景苑5栋", "工人新村3栋", "说错了，是湖景苑5栋", "补充 已经好几天了", "取消关联",
               "那个路灯的事怎么样了", "催一下", "市政设施", "环境卫生", "还是没人来修",
               "你好", "谢谢", "在吗", "进度", "撤销", "满意", "不满意", "不满意，根本没修好",
               "進度", "１", "👍", "🙏🙏", "[抱拳]", "😡😡😡", "5栋", "湖景苑", "二期5栋", "不是3栋，是5栋",
               "撤销吧", "垃圾桶那事怎么样了", "绑定 湖景苑3栋",
               # answers to which place, an address alone, a withdrawal while asked, words after a reopen or a
               # rating, near home, where to see the progress
               "两个都是", "都有", "第二个", "第三个", "我住金桂园5栋", "我家在明湖新村12栋", "撤回这个", "不用了",
               "没修好", "还是不亮", "又坏了，刚修好没两天", "就在我家楼下啊", "在哪里可以看进度", "基本满意",
               "垃圾桶的事不用管了")
# A resident's phone number sent alone, as people write it (the number is the resident's own: PHONE_OF).
PHONES = ("{}", "电话{}", "我的电话是{}", "{spaced}")
# A very long report goes on about the matter in words of no matter and no place of their own.
LONG_TAIL = "，" + "我们这里住的老人小孩多，大家每天进进出出都要经过这里，很不方便，" * 4 + "希望尽快安排人来看看"
PEEKS = ("进度 {}", "撤销 {}", "补充 {} 还有一个问题", "满意", "不满意 {}")
VARIANTS = ("plain", "traditional", "fullwidth", "emoji", "long", "unhappy", "thanks")
# A report after a rating in one message (its case may be waiting for the rating): the rating's words are no report.
RATED = {"unhappy": "不满意，另外{}", "thanks": "修好了谢谢，还有个事，{}"}
WAITS = (timedelta(seconds=20), timedelta(minutes=4), timedelta(minutes=40), timedelta(hours=3), timedelta(days=1),
         timedelta(days=8))
STAFF = ("take", "close", "recategorize", "reassign", "return", "escalate", "merge", "unlink", "place")
CATEGORIES = ("环境卫生", "市政设施", "噪音扰民", "违章搭建", "物业管理")
# a and c on the app, b and d on plain WeChat (微信客服); c and d live in one home, a and b are bound nowhere
RESIDENTS = ("a", "b", "c", "d")
ON_KF = frozenset("bd")
HOUSEHOLD = frozenset("cd")
ARRIVAL = "441999001001003002"  # the demo's 湖景苑3-4栋
EXPLORING = os.environ.get("GRIDBOT_FUZZ_EXAMPLES")
EXAMPLES = int(EXPLORING or "30")

Step = tuple[str, str, object]  # (resident, kind, value)

residents = st.sampled_from(RESIDENTS)
reports = st.tuples(st.lists(st.sampled_from(REPORTS), min_size=1, max_size=2, unique=True).map(tuple),
                    st.sampled_from(VARIANTS))
steps = st.lists(st.one_of(
    st.tuples(residents, st.just("report"), reports),
    st.tuples(residents, st.just("report"), reports),  # reports twice as often as any other kind of step
    st.tuples(residents, st.just("text"), st.sampled_from(OTHER_WORDS)),
    st.tuples(residents, st.just("phone"), st.sampled_from(PHONES)),
    st.tuples(residents, st.sampled_from(("image", "voice", "location", "arrive")), st.none()),
    st.tuples(residents, st.just("closed"), st.none()),  # its worker takes and closes its case
    st.tuples(residents, st.just("peek"), st.sampled_from(PEEKS)),  # names another resident's case
    st.tuples(residents, st.just("staff"), st.tuples(st.sampled_from(STAFF), st.sampled_from(CATEGORIES))),
    st.tuples(st.just(""), st.just("wait"), st.sampled_from(WAITS)),
), min_size=1, max_size=24)


@dataclass
class Run:
    """One conversation's residents (fresh user ids per example), the clock it runs on and what was checked."""

    now: datetime
    serial: itertools.count
    users: dict[str, str] = field(default_factory=dict)
    reported: dict[str, set[str]] = field(default_factory=dict)  # userid → report sentences sent
    written: dict[str, str] = field(default_factory=dict)  # userid → every text sent, as compared (folded)
    dropped: dict[str, set[str]] = field(default_factory=dict)  # userid → sentences withdrawn before registered
    phones: dict[str, str] = field(default_factory=dict)  # userid → the phone number they may send
    outbox_start: int = 0  # the last notice before the example
    keys: list[str] = field(default_factory=list)  # every message of the example
    outbox_seen: int = 0  # the last notice checked
    events_seen: int = 0  # the last case event checked
    conversation: list[Step] = field(default_factory=list)

    def channel(self, userid: str) -> str:
        return "kf" if userid.startswith(KF_USERID_PREFIX) else "app"

    def key(self) -> str:
        key = f"fuzz:{next(self.serial)}"
        self.keys.append(key)
        return key


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


@settings(max_examples=EXAMPLES, deadline=None, derandomize=EXPLORING is None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(conversation=steps)
@example(conversation=[("a", "report", ((REPORTS[0],), "plain")), ("a", "closed", None),
                       ("a", "report", ((REPORTS[1],), "unhappy"))])  # the bins were the lamp's reason to reopen
@example(conversation=[("a", "report", ((REPORTS[0],), "thanks"))])  # the lamp after thanks was read as thanks
@example(conversation=[("a", "report", ((REPORTS[-1],), "thanks"))])  # ... and the tree, a report asked back
@example(conversation=[("a", "report", ((REPORTS[0],), "plain")),  # ... and the manhole, kept as thanks on the lamp
                       ("a", "report", ((REPORTS[12],), "thanks"))])
@example(conversation=[("a", "report", ((REPORTS[6],), "plain")),  # the fire lane's place asked, then two matters at
                       ("a", "report", ((REPORTS[1], REPORTS[6]), "plain"))])  # 金桂园: the bins kept as its words
@example(conversation=[("b", "report", ((REPORTS[5],), "plain")),  # thanks, then two matters while a place is asked:
                       ("b", "report", ((REPORTS[12], REPORTS[4]), "thanks"))])  # read as the answer, both lost
@example(conversation=[("c", "report", ((REPORTS[0],), "plain")), ("c", "closed", None),  # the tree at another
                       ("c", "report", ((REPORTS[-1],), "plain"))])  # estate, sent when asked to rate the lamp: kept on it
def test_every_report_stands_in_its_own_residents_case(district, services, run, conversation):
    _start(district, run, conversation)
    for name, kind, value in conversation:
        userid = run.users.get(name)
        reply = _step(district, services, run, userid, kind, value)
        _assert_told_rightly(district, run, userid, reply or "")
    _wait(district, services, run, timedelta(days=2))
    _assert_told_rightly(district, run, None, "")
    _assert_no_report_lost(district, run)
    _assert_no_place_given_is_left(district, services, run)
    _assert_group_chats_mask_phones(district, run)


def _step(factory, services: Services, run: Run, userid: str | None, kind: str, value: object) -> str | None:  # noqa: F811
    """One step of the conversation; the reply to the resident when they wrote."""
    if kind == "wait":
        _wait(factory, services, run, value)
        return None
    run.now += timedelta(seconds=5)
    if kind == "closed":
        return _close_latest(factory, services, run, userid)
    if kind == "staff":
        return _staff(factory, services, run, userid, *value)
    if kind == "peek":
        value, kind = _peek(factory, run, userid, value), "text"
        if value is None:
            return None
    if kind == "phone":
        number = run.phones[userid]
        value, kind = value.format(number, spaced=f"{number[:3]} {number[3:7]} {number[7:]}"), "text"
    text = _report_text(*value) if kind == "report" else value if kind == "text" else None
    if kind == "report":
        run.reported[userid].update(value[0])
    if text:
        run.written[userid] += "\n" + _compared(text)
    reply = dispatch.process(factory, services, _inbound(run, userid, kind, text))
    if kind in ("text", "report"):
        assert reply, (userid, text, run.conversation)
    if reply and DRAFT_DROPPED in reply:
        _note_dropped(factory, run, userid)
    return reply


DRAFT_DROPPED = "不再登记"  # replies/draft_dropped: the report still to be registered is withdrawn


def _note_dropped(factory, run: Run, userid: str) -> None:  # noqa: F811
    """The resident's reports in none of their cases when they withdrew the one being registered: theirs to drop."""
    with factory() as session:
        texts = _compared("\n".join(session.scalars(select(Case.text).where(Case.reporter_userid == userid))))
    run.dropped[userid] |= {sentence for sentence in run.reported[userid] if _compared(sentence) not in texts}


def _start(factory, run: Run, conversation: list[Step]) -> None:  # noqa: F811
    example = next(run.serial)
    run.users = {name: f"{KF_USERID_PREFIX if name in ON_KF else ''}fuzz-{example}-{name}" for name in RESIDENTS}
    run.reported = {userid: set() for userid in run.users.values()}
    run.written = {userid: "" for userid in run.users.values()}
    run.dropped = {userid: set() for userid in run.users.values()}
    run.phones = {userid: f"139{example % 100000:05d}{index:03d}" for index, userid in enumerate(run.users.values())}
    run.keys, run.conversation = [], conversation
    with factory.begin() as session:
        home = session.scalars(select(Unit).order_by(Unit.id).limit(1)).one()
        session.add_all(Resident(userid=run.users[name], unit=home) for name in sorted(HOUSEHOLD))
        run.outbox_seen = session.scalar(select(func.max(OutboxMessage.id))) or 0
        run.events_seen = session.scalar(select(func.max(CaseEvent.id))) or 0
        run.outbox_start = session.scalar(select(func.max(OutboxMessage.id))) or 0


def _report_text(sentences: tuple[str, ...], variant: str) -> str:
    """The message of one or two matters, written as `variant` says."""
    text = "。另外".join(sentences)
    if variant == "traditional":
        return OpenCC("s2t").convert(text)
    if variant == "fullwidth":
        return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)
    if variant == "emoji":
        return f"😡{text}🙏🙏"
    if variant == "long":
        return text + LONG_TAIL
    return RATED[variant].format(text) if variant in RATED else text


def _compared(text: str) -> str:
    """Words as compared: folded (simplified, half-width), letters and digits only."""
    return word_characters(fold(text))


def _inbound(run: Run, userid: str, kind: str, text: str | None) -> Inbound:
    key, channel = run.key(), run.channel(userid)
    if kind in ("image", "voice"):
        return Inbound(msg_key=key, userid=userid, kind=kind, channel=channel, media_id=f"fuzz-{kind}")
    if kind == "location":  # 湖景苑's corner of the demo map
        return Inbound(msg_key=key, userid=userid, kind="location", channel=channel, lat=22.5838, lng=113.0841,
                       label="湖滨路")
    if kind == "arrive":  # through 湖景苑3-4栋's code (kf: the greeting's code given)
        return Inbound(msg_key=key, userid=userid, kind="event", channel=channel, event="enter_session",
                       arrival=ARRIVAL, welcome_code="fuzz-welcome")
    return Inbound(msg_key=key, userid=userid, kind="text", channel=channel, text=text or "")


# The questions a resident may be asked (a category, a place, a rating, a confirmation): one at a time.
QUESTIONS = ("属于哪一类", "请告诉我们", "请问地点是", "哪一期、哪一栋", "请您评价", "请问是哪一件", "回复 1 确认")


def _assert_told_rightly(factory, run: Run, userid: str | None, reply: str) -> None:  # noqa: F811
    """What reached each resident since the last check (the reply to `userid`, and notices): it names only cases the
    resident reported or follows (as it is sent: they may undo a link later), quotes no words of another resident's
    report, and asks at most one question."""
    with factory() as session:
        notices = session.execute(select(OutboxMessage.id, OutboxMessage.recipient, OutboxMessage.text).where(
            OutboxMessage.id > run.outbox_seen, OutboxMessage.recipient.in_(set(run.users.values())))
            .order_by(OutboxMessage.id)).all()
        run.outbox_seen = max([run.outbox_seen, *(row.id for row in notices)])
        told = {each: [] for each in run.users.values()}
        if userid is not None:
            told[userid].append(reply)
        for row in notices:
            told[row.recipient].append(row.text)
        for resident, texts in told.items():
            for text in texts:
                _assert_names_own_cases(session, run, resident, text)
                _assert_quotes_no_other(run, resident, text)
                assert "\n\n\n" not in text, (resident, text, run.conversation)  # no two blank lines in a row
                others = {run.phones[other] for other in run.users.values() if other != resident}
                assert not others & set(phone_numbers(text)), (resident, text, run.conversation)
            asking = [text for text in texts if any(words in text for words in QUESTIONS)]
            assert len(asking) <= 1, (resident, asking, run.conversation)
            _assert_asks_about_own_case(session, run, resident)
        _assert_acts_only_on_own_cases(session, run)


def _assert_names_own_cases(session, run: Run, userid: str, text: str) -> None:
    for number in re.findall(r"GB-(\d{6})", text):
        case = session.get(Case, int(number))
        assert case.reporter_userid == userid or userid in followers_of(session, case.id), (
            userid, text, run.conversation)


def _assert_acts_only_on_own_cases(session, run: Run) -> None:
    """What a resident did since the last check is on their own cases, or notes on a case they follow (as it is
    done: they may undo the link later)."""
    foreign = session.execute(select(CaseEvent.id, CaseEvent.case_id, CaseEvent.actor, CaseEvent.note,
                                     CaseEvent.from_state, CaseEvent.to_state).join(Case).where(
        CaseEvent.id > run.events_seen, CaseEvent.actor.in_(set(run.users.values())),
        CaseEvent.actor != Case.reporter_userid)).all()
    for _, case_id, actor, note, before, after in foreign:  # a follower's words are notes: they move nothing
        assert actor in followers_of(session, case_id) and before == after, (
            case_id, actor, note, before, after, run.conversation)
    run.events_seen = session.scalar(select(func.max(CaseEvent.id))) or 0


def _assert_asks_about_own_case(session, run: Run, userid: str) -> None:
    """The question the resident's next words answer is about a case they reported (a rating: or follow)."""
    convo = session.get(Conversation, userid)
    case_id = (convo.data or {}).get("case_id") if convo is not None else None
    if case_id is None:
        return
    case = session.get(Case, case_id)
    followed = convo.state == pending.RATE and userid in followers_of(session, case_id)
    assert case.reporter_userid == userid or followed, (userid, convo.state, case_id, run.conversation)


QUOTE_CHARS = 8  # a run of another resident's words this long, in what a resident reads, is a quote


def _assert_quotes_no_other(run: Run, userid: str, text: str) -> None:
    seen = _compared(text)
    for other, sentences in run.reported.items():
        if other == userid:
            continue
        for sentence in sentences:
            words = _compared(sentence)
            for start in range(len(words) - QUOTE_CHARS + 1):
                piece = words[start:start + QUOTE_CHARS]
                assert piece not in seen or piece in run.written[userid], (userid, other, text, run.conversation)


def _peek(factory, run: Run, userid: str, words: str) -> str | None:  # noqa: F811
    """`words` naming the latest case of another resident (None: nobody else has one)."""
    with factory() as session:
        number = session.scalar(select(Case.id).where(Case.reporter_userid.in_(set(run.users.values()) - {userid}))
                                .order_by(Case.id.desc()).limit(1))
    return words.format(number) if number is not None else None


def _close_latest(factory, services: Services, run: Run, userid: str) -> None:  # noqa: F811
    """The worker of the resident's latest open case takes it and closes it, in chat."""
    with factory() as session:
        case = latest_open_case(session, userid)
        worker = case.assignee.userid if case is not None and case.assignee is not None else None
        number = case.id if case is not None else None
    if worker is None:
        return
    for words in (f"接单 {number}", f"办结 {number} 已处理好了"):
        _as_worker(factory, services, run, worker, words)


def _as_worker(factory, services: Services, run: Run, worker: str, words: str) -> str | None:  # noqa: F811
    return dispatch.process(factory, services, Inbound(msg_key=run.key(), userid=worker, kind="text", text=words))


def _staff(factory, services: Services, run: Run, userid: str, action: str, category: str) -> None:  # noqa: F811
    """Staff act on the resident's latest case in chat: its assignee (else its grid's leader), or street staff
    placing a case that waits for its place or merging it into another resident's."""
    with factory() as session:
        case = session.scalars(select(Case).where(Case.reporter_userid == userid).order_by(Case.id.desc())).first()
        if case is None:
            return
        number = case.id
        leaders = grid_leaders(case)
        worker = case.assignee.userid if case.assignee is not None else leaders[0].userid if leaders else None
        if action in ("place", "merge"):  # street staff: they may act on cases of every grid of their street
            worker = next((person.userid for person in placing_staff(session)), None)
        others = [w.userid for w in (case.grid.workers if case.grid else []) if w.id != case.assignee_id]
        into = next((found.id for other in run.users.values() if other != userid
                     for found in [latest_open_case(session, other)] if found is not None), None)
    words = {"take": f"接单 {number}", "close": f"办结 {number} 已处理好了", "recategorize": f"改类 {number} {category}",
             "reassign": f"转派 {number} {others[0]} 请协助" if others else None,
             "return": f"退回 {number} 这是供电部门的事", "escalate": f"提级 {number} 需要社区协调",
             "merge": f"合并 {number} {into}" if into else None, "unlink": f"取消关联 {number}",
             "place": f"定位 {number} 湖景苑5栋"}[action]
    if worker is not None and words is not None:
        _as_worker(factory, services, run, worker, words)


def _wait(factory, services: Services, run: Run, span: timedelta) -> None:  # noqa: F811
    run.now += span
    with factory.begin() as session:
        run_clocks(session, services, run.now)


def _assert_no_report_lost(factory, run: Run) -> None:  # noqa: F811
    """Each report a resident sent is its own case (the words of one of their cases), or words they added to the
    case it is about (a case of its matter they reported or follow: a chase, more of it), not to another case."""
    users = set(run.users.values())
    conversation = run.conversation
    with factory() as session:
        failed = session.scalars(select(InboundMessage.msg_key).where(
            InboundMessage.msg_key.in_(run.keys), InboundMessage.status == "failed")).all()
        assert not failed, conversation
        cases = session.scalars(select(Case).where(Case.reporter_userid.in_(users))).all()
        texts: dict[str, str] = {userid: "" for userid in users}  # the words of each resident's own cases
        for case in cases:
            texts[case.reporter_userid] += "\n" + _compared(case.text)
            for sentence in REPORTS:
                if _compared(sentence) in _compared(case.text):
                    assert sentence in run.reported[case.reporter_userid], (case.id, case.text, conversation)
            reopened = [event.actor for event in case.events if event.action == "reopen"]
            assert set(reopened) <= {case.reporter_userid}, (case.id, reopened, conversation)
        added = session.scalars(select(CaseEvent).where(CaseEvent.actor.in_(users), CaseEvent.note.is_not(None))).all()
        for userid, sentences in run.reported.items():
            for sentence in sentences - run.dropped[userid]:
                words = _compared(sentence)
                on_its_case = any(event.actor == userid and words in _compared(event.note)
                                  and MATTERS[sentence] in _matters_of(event.case.text) for event in added)
                assert words in texts[userid] or on_its_case, (userid, sentence, conversation)


def _matters_of(text: str) -> set[str]:
    """The matters of the reports a case's words hold."""
    words = _compared(text)
    return {matter for sentence, matter in MATTERS.items() if _compared(sentence) in words}


def _assert_no_place_given_is_left(factory, services: Services, run: Run) -> None:  # noqa: F811
    """No case is left without its place when its resident's words added to it name one of the registry."""
    with factory() as session:
        index = services.addresses.get(session)
        for case in session.scalars(select(Case).where(Case.reporter_userid.in_(set(run.users.values())),
                                                       Case.state == CaseState.AWAITING_PLACE)):
            for event in case.events:
                if event.actor == case.reporter_userid and event.action == "attach" and event.note:
                    found = index.match(fold(event.note), limit=1)
                    assert not (found and found[0].confident), (case.id, event.note, run.conversation)


def _assert_group_chats_mask_phones(factory, run: Run) -> None:  # noqa: F811
    """No group chat message of the example shows a resident's phone number unmasked."""
    with factory() as session:
        group = session.scalars(select(OutboxMessage.text).where(
            OutboxMessage.id > run.outbox_start,
            OutboxMessage.channel.in_((OutboxChannel.APPCHAT.value, OutboxChannel.WEBHOOK.value)))).all()
    for text in group:
        assert not set(run.phones.values()) & set(phone_numbers(text)), (text, run.conversation)
