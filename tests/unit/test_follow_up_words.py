"""Words about a report already made, sent hours later with no place in them, through the message handler on the demo
district: a chase that names nothing (现在都没人来修) asks after the open case; words saying its matter is getting worse
or not all done (味道越来越大了, 还没清完) are more of that case, for its worker — neither is a new case asking for an
address. Words naming another place or another matter stay reports of their own. Sentences written for this test."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import Case, CaseState
from tests.unit.outbox_support import factory  # noqa: F401 (fixture: a migrated database)
from tests.unit.resident_chat import Chat, chat, next_day  # noqa: F401 (fixtures: the chat, a day between tests)

DRAIN = "荔枝湾8栋楼下下水道堵了，脏水漫到路上"
LIFT = "金桂园3栋电梯坏了，老人上不去楼"
LATER = timedelta(hours=3)  # long past every window that joins a report's pieces


def reported_then(chat: Chat, userid: str, report: str, later: str) -> tuple[str, list]:
    """`report`, then `later` hours after: the reply to `later` and the resident's cases."""
    assert "已登记" in chat.say(userid, report)
    chat.now += LATER
    return chat.say(userid, later), chat.cases(userid)


@pytest.mark.parametrize("later", ["现在都没人来修", "到现在还没人来看一眼"])
def test_a_chase_naming_nothing_asks_after_the_open_case(chat, later):
    """现在都没人来修 after the lift's report opened a case asking for its address."""
    userid = f"chase-{later}"
    reply, [case] = reported_then(chat, userid, LIFT, later)
    assert f"GB-{case.id:06d}" in reply and "具体地址" not in reply, reply
    assert any(event.action == "follow_up" and event.note == later for event in case.events)


@pytest.mark.parametrize("later", ["味道越来越大了", "比昨天更严重了，整条路都是水", "愈來愈臭了"])
def test_words_saying_the_matter_got_worse_are_more_of_the_open_case(chat, later):
    """味道越来越大了 after the drain's report opened a 环境卫生 case asking for its address."""
    userid = f"worse-{later}"
    reply, [case] = reported_then(chat, userid, DRAIN, later)
    assert f"GB-{case.id:06d}" in reply and "补充" in reply and "具体地址" not in reply, reply
    assert [event.note for event in case.events if event.action == "attach"] == [later]


def test_worse_words_point_at_the_case_whose_thing_they_name(chat):
    """Two open cases: 垃圾桶那边还没清完 is the rubbish's, not the latest (the lift's)."""
    userid = "worse-two-cases"
    assert "已登记" in chat.say(userid, "金桂园门口的垃圾桶满了，两天没人收")
    assert "已登记" in chat.say(userid, LIFT)
    chat.now += LATER
    reply = chat.say(userid, "垃圾桶那边还没清完，还有一堆")
    rubbish, lift = chat.cases(userid)
    assert f"GB-{rubbish.id:06d}" in reply and "补充" in reply, reply
    assert [event.note for event in rubbish.events if event.action == "attach"] == ["垃圾桶那边还没清完，还有一堆"]
    assert not [event for event in lift.events if event.action == "attach"]


@pytest.mark.parametrize("later", ["湖景苑2栋门口的垃圾越来越多了，没人清", "滨江花园二期2栋的下水道也堵了，越来越臭"])
def test_worse_words_at_another_place_are_a_report_of_their_own(chat, later):
    userid = f"worse-elsewhere-{later}"
    reply, cases = reported_then(chat, userid, DRAIN, later)
    assert len(cases) == 2 and cases[1].text == later, reply
    assert not [event for event in cases[0].events if event.action == "attach"]


def test_worse_words_with_no_case_in_hands_are_a_report(chat):
    """A resident with no open case: 楼下的垃圾越来越多了 is their report, asking where."""
    userid = "worse-no-case"
    reply = chat.say(userid, "楼下的垃圾越来越多了，没人清")
    [case] = chat.cases(userid)
    assert case.state == CaseState.AWAITING_PLACE and "具体地址" in reply, reply


def test_a_report_sent_again_hours_later_asks_after_its_open_case(chat):
    """The same words an hour and a half later (no reply seen, nothing done) opened a second case of the lamp."""
    userid = "resent-later"
    assert "已登记" in chat.say(userid, LIFT)
    chat.now += timedelta(minutes=90)
    reply = chat.say(userid, LIFT)
    [case] = chat.cases(userid)
    assert f"GB-{case.id:06d}" in reply and "待接单" in reply, reply
    assert any(event.action == "follow_up" and event.note == LIFT for event in case.events)


def test_a_report_sent_again_after_its_case_closed_is_a_report_anew(chat):
    userid = "resent-after-close"
    assert "已登记" in chat.say(userid, LIFT)
    [case] = chat.cases(userid)
    with chat.factory() as session:
        worker = session.get(Case, case.id).assignee.userid
    chat.say(worker, f"接单 {case.id}")
    chat.say(worker, f"办结 {case.id} 已修好")
    chat.now += timedelta(days=1)
    assert "已登记" in chat.say(userid, LIFT)
    assert len(chat.cases(userid)) == 2
