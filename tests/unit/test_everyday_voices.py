"""Everyday ways residents say things, through the message handler on the demo district: asking for progress in
their own words, correcting what the thing is, naming the place of their last case, rating in Cantonese, a
consequence sent after a long report. Sentences written for this test."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models import Case, CaseState
from tests.unit.outbox_support import factory  # noqa: F401 (fixture: a migrated database)
from tests.unit.resident_chat import chat, next_day  # noqa: F401 (fixtures: the chat, a day between tests)

HELP = "有事您说"  # replies/help


@pytest.mark.parametrize("words", ["帮我查下进度", "麻烦帮我看看进度", "我反映的事情怎么样了", "给我查一下进度吧"])
def test_a_progress_request_with_no_cases_says_there_are_none_and_how_to_report(chat, words):
    userid = f"voices-progress-{words}"
    reply = chat.say(userid, words)
    assert "还没有反映过事项" in reply and "直接发文字描述问题" in reply and HELP not in reply, reply
    assert chat.cases(userid) == []


@pytest.mark.parametrize("correction", ["不是路灯，是楼道里的灯", "不是门口的路灯 是楼梯间的灯不亮"])
def test_saying_what_the_thing_really_is_corrects_the_case_just_reported(chat, correction):
    userid = f"voices-thing-{correction}"
    chat.say(userid, "湖景苑3栋门口的路灯坏了，晚上黑乎乎的")
    reply = chat.say(userid, correction, after=timedelta(seconds=40))
    [case] = chat.cases(userid)
    assert f"GB-{case.id:06d}" in reply and "补充" in reply, reply
    assert correction in [event.note for event in case.events]


def test_denying_words_the_case_does_not_say_are_a_report_of_their_own(chat):
    chat.say("voices-thing-other", "湖景苑3栋门口的路灯坏了，晚上黑乎乎的")
    chat.say("voices-thing-other", "不是我说，金桂园门口的垃圾桶又满了，臭得不行", after=timedelta(seconds=40))
    assert len(chat.cases("voices-thing-other")) == 2


@pytest.mark.parametrize("mark", ["？", "?"])
def test_a_progress_request_with_a_question_mark_before_a_report_answers_both(chat, mark):
    userid = f"voices-progress-mark-{mark}"
    chat.say(userid, "绑定 湖景苑3栋")
    chat.say(userid, "湖景苑3栋楼道的灯坏了，晚上上楼看不见")
    reply = chat.say(userid, f"进度{mark}还有楼下垃圾桶也满了，好几天没人倒")
    lamp, bins = chat.cases(userid)
    assert "您反映的事项" in reply and f"GB-{lamp.id:06d}" in reply, reply
    assert f"GB-{bins.id:06d}" in reply and bins.category == "环境卫生", reply


@pytest.mark.parametrize("answer", ["还是上次那个地方", "跟上次一样啊"])
def test_the_place_of_the_last_case_answers_the_place_question_days_later(chat, answer):
    userid = f"voices-last-place-{answer}"
    chat.say(userid, "金桂园5栋门口的井盖松了，踩上去咣当响")
    chat.say(userid, "路边的垃圾好几天没人清理了，臭得很", after=timedelta(days=4))
    reply = chat.say(userid, answer)
    first, second = chat.cases(userid)
    assert "没有找到" not in reply and f"GB-{second.id:06d}" in reply, reply
    assert second.state == CaseState.PENDING and second.unit_id == first.unit_id


def test_the_last_place_with_no_case_placed_before_is_still_asked(chat):
    chat.say("voices-last-place-none", "路边的垃圾好几天没人清理了，臭得很")
    reply = chat.say("voices-last-place-none", "还是上次那个地方")
    [case] = chat.cases("voices-last-place-none")
    assert case.state == CaseState.AWAITING_PLACE and f"GB-{case.id:06d}" in reply, reply


@pytest.mark.parametrize("answer", ["搞掂咗，唔该晒", "唔該晒", "整好咗，多謝晒"])
def test_cantonese_thanks_for_the_fix_rate_the_case_satisfied(chat, answer):
    userid = f"voices-rate-{answer}"
    chat.say(userid, "金桂园5栋楼道的灯坏了，晚上上楼看不见")
    [case] = chat.cases(userid)
    with chat.factory() as session:
        worker = session.get(Case, case.id).assignee.userid
    for words in (f"接单 {case.id}", f"办结 {case.id} 已换新灯管"):
        chat.say(worker, words)
    chat.say(userid, answer)
    [case] = chat.cases(userid)
    assert case.rating == "satisfied" and case.state != CaseState.IN_PROGRESS


PIPE = "湖景苑3栋楼下的水管爆了，水哗哗地往外冒，下水道也堵住了，污水排不出去"  # a whole report: more than a few words


@pytest.mark.parametrize("spread", ["水都漫到一楼了", "污水已经流到路上了", "都流进地下车库了"])
def test_a_consequence_sent_moments_after_a_long_report_is_more_of_it(chat, spread):
    userid = f"voices-spread-{spread}"
    assert "已登记" in chat.say(userid, PIPE)
    reply = chat.say(userid, spread, after=timedelta(seconds=50))
    [case] = chat.cases(userid)
    assert f"GB-{case.id:06d}" in reply and "地址" not in reply, reply
    assert spread in [event.note for event in case.events]


@pytest.mark.parametrize("other", ["楼上的空调水都滴到我家阳台上了", "水都漫到一楼了，另外3栋的电梯也坏了，关了人在里面"])
def test_another_matter_sent_moments_after_a_long_report_is_a_case_of_its_own(chat, other):
    userid = f"voices-spread-other-{other}"
    chat.say(userid, PIPE)
    chat.say(userid, other, after=timedelta(seconds=50))
    assert len(chat.cases(userid)) == 2
