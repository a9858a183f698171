"""Everyday ways residents say things, through the message handler on the demo district: asking for progress in
their own words, correcting what the thing is, naming the place of their last case, rating in Cantonese, a
consequence sent after a long report. Sentences written for this test."""

from __future__ import annotations

import pytest

from tests.unit.outbox_support import factory  # noqa: F401 (fixture: a migrated database)
from tests.unit.resident_chat import chat, next_day  # noqa: F401 (fixtures: the chat, a day between tests)

HELP = "有事您说"  # replies/help


@pytest.mark.parametrize("words", ["帮我查下进度", "麻烦帮我看看进度", "我反映的事情怎么样了", "给我查一下进度吧"])
def test_a_progress_request_with_no_cases_says_there_are_none_and_how_to_report(chat, words):
    userid = f"voices-progress-{words}"
    reply = chat.say(userid, words)
    assert "还没有反映过事项" in reply and "直接发文字描述问题" in reply and HELP not in reply, reply
    assert chat.cases(userid) == []
