"""Answers to the category question (请问您反映的问题属于哪一类？) that are neither a number nor a category's name, through
the message handler on the demo district: a resident who cannot tell (不知道属于哪类) chooses 其他; one who does not
understand the question (啥意思) is told who asks and asked again; one who says what the thing was (就是空调外机…) adds
to the report, read again as a whole. None of them opens a second case. Sentences written for this test."""

from __future__ import annotations

import pytest

from handlers.conversation.drafts import OTHER
from models import CaseState
from tests.unit.outbox_support import factory  # noqa: F401 (fixture: a migrated database)
from tests.unit.resident_chat import chat, next_day  # noqa: F401 (fixtures: the chat, a day between tests)

VAGUE = "门口那个东西一直响"  # no category the classifier is sure of: asked back
ASKED = "属于哪一类"


@pytest.mark.parametrize("answer", ["不知道属于哪类", "我也不清楚是哪一种", "说不好"])
def test_a_resident_who_cannot_tell_the_category_chooses_other(chat, answer):
    userid = f"category-dont-know-{answer}"
    assert ASKED in chat.say(userid, VAGUE)
    reply = chat.say(userid, answer)
    [case] = chat.cases(userid)
    assert (case.category, case.text) == (OTHER, VAGUE) and f"GB-{case.id:06d}" in reply, reply
    assert case.classification["chosen_by_resident"] == OTHER


@pytest.mark.parametrize("answer", ["啥意思", "看不懂", "不明白"])
def test_a_resident_who_does_not_understand_the_question_is_asked_again(chat, answer):
    userid = f"category-puzzled-{answer}"
    assert ASKED in chat.say(userid, VAGUE)
    reply = chat.say(userid, answer)
    assert ASKED in reply and "网格员" in reply and "补充" not in reply, reply
    assert chat.cases(userid) == []


@pytest.mark.parametrize("answer", ["就是空调外机，楼上的，嗡嗡的", "我说的是楼上空调外机，嗡嗡响一晚上"])
def test_words_saying_what_the_thing_was_add_to_the_report(chat, answer):
    """就是空调外机… is a sure 噪音扰民 on its own: it opened a second case beside the first opened as 其他."""
    userid = f"category-clarified-{answer}"
    assert ASKED in chat.say(userid, VAGUE)
    reply = chat.say(userid, answer)
    [case] = chat.cases(userid)
    assert case.category == "噪音扰民" and case.text == f"{VAGUE} {answer}", reply
    assert case.state == CaseState.AWAITING_PLACE and f"GB-{case.id:06d}" in reply
