"""Vague answers about where, through the message handler on the demo district: a resident who cannot say the phase
or building (不知道, 东门 of the estate named) has the report handed to the placing staff at once, or to the estate's
grid when it lies in one; a phase alone refines a case placed at its estate; a place sent alone places the report
waiting for it; words about where after a report was linked to a neighbour's case reach that case's worker; the
replies ask only for what is missing. Sentences written for this test."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from models import CaseEvent, CaseState
from tests.unit.outbox_support import factory  # noqa: F401 (fixture: a migrated database)
from tests.unit.resident_chat import chat, next_day  # noqa: F401 (fixtures: the chat, a day between tests)

LAMP = "的路灯坏了好几天了，晚上走路黑漆漆的"  # a sure 市政设施; a place before it, or none
NOWHERE = f"路边{LAMP}"
HANDED_OVER = "转请工作人员"  # replies/place_left_to_staff


@pytest.mark.parametrize("answer", ["东门", "不知道", "我不知道是几期", "不清楚", "就在大门口", "停车场那边"])
def test_an_answer_that_cannot_say_the_part_of_the_estate_goes_to_placing_staff_at_once(chat, answer):
    userid = f"vague-part-{answer}"
    asked = chat.say(userid, f"阳光小区里面{LAMP}")  # 阳光小区 lies in two grids: which phase and building
    assert "哪一期、哪一栋" in asked, asked
    reply = chat.say(userid, answer)
    [case] = chat.cases(userid)
    assert HANDED_OVER in reply and f"GB-{case.id:06d}" in reply and "几期几栋" in reply, reply
    assert "没有找到" not in reply and "小区和楼栋" not in reply, reply
    assert case.state == CaseState.AWAITING_PLACE and chat.marked(case)
    assert [event.note for event in case.events if event.action == "attach"] == [answer]
    for person in chat.staff():
        [card] = chat.sent(person, case)
        assert "待定位" in card and answer in card, card
    assert not any("还缺少具体地址" in text for text in chat.sent(userid, case))  # answered: no notice besides
    assert chat.wait(40)["handed_over"] == 0  # handed over once
    placed = chat.say(userid, "二期3栋")  # the question stands: the building, when they learn it, places it
    [case] = chat.cases(userid)
    assert case.state == CaseState.PENDING and case.unit.address.endswith("阳光小区二期3-4栋"), placed


def test_a_resident_who_knows_nothing_of_where_has_the_report_handed_over(chat):
    chat.say("vague-nothing", NOWHERE)
    reply = chat.say("vague-nothing", "我也不清楚")
    [case] = chat.cases("vague-nothing")
    assert HANDED_OVER in reply and "小区和楼栋" in reply and chat.marked(case), reply


def test_a_spot_of_an_estate_in_one_grid_goes_to_that_grid(chat):
    asked = chat.say("vague-one-grid", f"湖景{LAMP}")  # an alias that is no sure match: 湖景苑?
    assert "湖景苑" in asked and "吗" in asked, asked
    reply = chat.say("vague-one-grid", "东门那边")
    [case] = chat.cases("vague-one-grid")
    assert case.state == CaseState.PENDING and case.grid.name == "阳光社区第三网格", reply
    assert case.location["label"].endswith("湖景苑") and not chat.marked(case)
    assert [event.note for event in case.events if event.action == "attach"] == ["东门那边"]  # its worker hears it


def test_a_phase_alone_refines_a_case_placed_at_its_estate(chat):
    chat.say("vague-phase", f"东岭花园{LAMP}")  # in one grid: placed at the estate
    reply = chat.say("vague-phase", "二期")
    [case] = chat.cases("vague-phase")
    assert case.location["label"].endswith("东岭花园二期") and "几栋" in reply, reply
    assert len(chat.cases("vague-phase")) == 1
    chat.say("vague-phase", "3栋")
    [case] = chat.cases("vague-phase")
    assert case.unit.address.endswith("东岭花园二期3-4栋")


@pytest.mark.parametrize("words, missing", [("阳光小区东门那边", "几期几栋"), ("3号楼那边", "小区名称"),
                                            ("东门那边", "小区和楼栋")])
def test_where_words_kept_ask_only_for_what_they_lack(chat, words, missing):
    reply = chat.say(f"vague-words-{words}", words)
    assert f"记下了“{words}”" in reply and f"最好带上{missing}）" in reply, reply
    assert not chat.cases(f"vague-words-{words}")  # 3号楼那边 reads like an emergency to the model: no report


def test_the_question_asked_again_names_only_what_is_missing(chat):
    chat.say("vague-again", f"阳光小区里面{LAMP}")
    reply = chat.say("vague-again", "在吗")
    assert "几期几栋" in reply and "小区" not in reply.split("还差地址")[1], reply


def test_a_place_sent_alone_places_the_report_waiting_for_it(chat):
    chat.say("vague-alone", NOWHERE)
    asked = chat.say("vague-alone", "撤销")  # another question comes between
    assert "回复 1 确认" in asked, asked
    reply = chat.say("vague-alone", "湖景苑5栋")
    [case] = chat.cases("vague-alone")
    assert case.state == CaseState.PENDING and case.unit.address.endswith("湖景苑5-6栋"), reply


def test_where_after_a_report_was_linked_reaches_the_neighbours_case(chat):
    chat.say("vague-first", f"桃源居{LAMP}")
    linked = chat.say("vague-linked", f"桃源居{LAMP}")
    [first], [mine] = chat.cases("vague-first"), chat.cases("vague-linked")
    assert mine.duplicate_of_id == first.id, linked
    reply = chat.say("vague-linked", "在3栋")
    assert f"GB-{first.id:06d}" in reply and "取消关联" in reply, reply
    [first] = chat.cases("vague-first")
    assert [event.note for event in first.events if event.action == "attach"] == ["在3栋"]
    with chat.factory() as session:
        assert session.scalars(select(CaseEvent.actor).where(CaseEvent.case_id == first.id,
                                                             CaseEvent.action == "attach")).all() == ["vague-linked"]


def test_the_building_given_before_the_estate_is_kept_and_only_the_phase_asked(chat):
    chat.say("vague-carried", NOWHERE)
    chat.say("vague-carried", "3号楼那边")  # which estate's 3栋?
    asked = chat.say("vague-carried", "阳光小区")
    assert "哪一期的3栋" in asked and "哪一栋" not in asked, asked
    chat.say("vague-carried", "二期")
    [case] = chat.cases("vague-carried")
    assert case.unit.address.endswith("阳光小区二期3-4栋")


def test_a_building_alone_with_a_case_open_is_for_its_worker_not_a_new_report(chat):
    chat.say("vague-open", f"湖景苑9栋{LAMP}")
    reply = chat.say("vague-open", "3号楼那边")
    [case] = chat.cases("vague-open")
    assert "补充" in reply and [event.note for event in case.events if event.action == "attach"] == ["3号楼那边"]


def test_a_spot_of_an_estate_with_nothing_known_asks_which_estate_and_keeps_the_spot(chat):
    chat.say("vague-gate", NOWHERE)
    asked = chat.say("vague-gate", "就在大门口")
    assert "哪个小区的大门口" in asked and "没有找到" not in asked, asked
    chat.say("vague-gate", "桃源居")
    [case] = chat.cases("vague-gate")
    assert case.state == CaseState.PENDING and case.location["label"].endswith("桃源居")
    assert [event.note for event in case.events if event.action == "attach"] == ["大门口"]  # its worker hears it


def test_an_answer_naming_the_estate_beside_not_knowing_the_building_places_it_at_the_estate(chat):
    """不知道几号楼，就在明湖新村里面: the estate named is the place (one grid); the words of not knowing were read as a
    matter of their own, kept as a note and the place asked again."""
    chat.say("vague-estate-named", NOWHERE)
    reply = chat.say("vague-estate-named", "不知道几号楼，就在明湖新村里面")
    [case] = chat.cases("vague-estate-named")
    assert case.state == CaseState.PENDING and case.location["label"].endswith("明湖新村"), reply


def test_not_knowing_where_said_with_nothing_asked_is_a_note_for_the_open_case_not_a_report(chat):
    """不清楚是几号楼 after the report was placed at its estate was asked back as a report, then opened as 其他."""
    chat.say("vague-unasked", f"滨江花园二期{LAMP}")
    reply = chat.say("vague-unasked", "我也不清楚是几号楼")
    [case] = chat.cases("vague-unasked")
    assert "属于哪一类" not in reply and case.events[-1].note == "我也不清楚是几号楼", reply


def test_a_phone_number_sent_while_the_place_is_asked_is_kept_and_the_question_stands(chat):
    """13812345678 answering 请告诉我们具体地址 got 没有找到这个地址: the number is the resident's contact."""
    chat.say("vague-phone", NOWHERE)
    reply = chat.say("vague-phone", "13812345670")
    [case] = chat.cases("vague-phone")
    assert "已记下您的联系电话 138****5670" in reply and "还差地址" in reply and "没有找到" not in reply, reply
    assert case.state == CaseState.AWAITING_PLACE


def test_an_address_alone_whose_name_reads_as_a_matter_is_noted_not_a_case(chat):
    """工人新村3栋 alone opened a case of 安全生产 (工人: workers); it is where the report that follows is."""
    noted = chat.say("vague-name-matter", "工人新村3栋")
    assert "已记下地址" in noted and not chat.cases("vague-name-matter"), noted
    chat.say("vague-name-matter", "楼下的下水道堵了，污水冒出来")
    [case] = chat.cases("vague-name-matter")
    assert case.unit.address.endswith("工人新村3-4栋") and case.category != "安全生产"


@pytest.mark.parametrize("answer", ["在湖滨路上，靠近公交站", "就在湖滨路，公交站旁边"])
def test_a_road_with_no_house_on_it_goes_to_placing_staff_with_the_words(chat, answer):
    """在湖滨路上，靠近公交站 was read as a new report (公交站: 交通运输, a department's) and the question asked again."""
    userid = f"vague-road-{answer}"
    assert "具体地址" in chat.say(userid, NOWHERE)
    reply = chat.say(userid, answer)
    [case] = chat.cases(userid)
    assert HANDED_OVER in reply and answer in reply and "不属于网格" not in reply, reply
    assert case.state == CaseState.AWAITING_PLACE and chat.marked(case)
    assert [event.note for event in case.events if event.action == "attach"] == [answer]


@pytest.mark.parametrize("report, answer", [(NOWHERE, "啥意思"), ("楼下井盖没了，很危险", "啥意思"), (NOWHERE, "看不懂")])
def test_a_resident_puzzled_by_the_place_question_is_asked_it_again(chat, report, answer):
    """啥意思 was added to the report as the resident's words (after a short report, as more of it)."""
    userid = f"vague-puzzled-{len(report)}-{answer}"
    assert "具体地址" in chat.say(userid, report)
    reply = chat.say(userid, answer, after=timedelta(minutes=1))  # a short report may still go on: not more of it
    [case] = chat.cases(userid)
    assert "还差地址" in reply and "补充" not in reply, reply
    assert not [event for event in case.events if event.action == "attach"]


def test_a_report_by_voice_alone_is_told_it_may_say_its_place_by_voice_too(chat):
    """An elderly resident who cannot type sent a voice message: the place question asked only for typed words."""
    userid = "vague-voice-alone"
    chat.say(userid, "", kind="voice")
    chat.wait(5)  # media_wait: opened as 其他, its place asked
    [case] = chat.cases(userid)
    [asked] = [text for text in chat.sent(userid, case) if "具体地址" in text]
    assert "语音" in asked and f"GB-{case.id:06d}" in asked, asked
    typed = "vague-typed"
    assert "语音" not in chat.say(typed, NOWHERE)


def test_a_second_report_with_no_place_offers_the_place_of_the_one_just_placed(chat):
    """对了，楼下还有个井盖松了 minutes after a report placed at 金桂园5栋: the question offers that place, 一样 takes it."""
    userid = "vague-lately"
    assert "已登记" in chat.say(userid, "金桂园5栋楼道灯坏了，晚上看不见路")
    asked = chat.say(userid, "对了，楼下还有个井盖松了")
    assert "金桂园5-6栋" in asked and "一样" in asked, asked
    chat.say(userid, "一样")
    first, second = chat.cases(userid)
    assert second.state == CaseState.PENDING and second.unit_id == first.unit_id
    assert "一样" not in chat.say("vague-first-report", "对了，楼下还有个井盖松了")  # nothing placed lately: no offer


def test_a_report_of_another_thing_the_next_day_is_no_answer_to_a_place_long_asked(chat):
    """A lamp's place asked and handed to the staff; the next day 滨江花园二期2栋门口下水道堵了 placed the lamp's case there
    and its words were only a note on it (fuzz seed 32). The lamp named again with its place still places it."""
    userid = "vague-next-day"
    assert "具体地址" in chat.say(userid, NOWHERE)
    chat.wait(40)  # past place_wait: with the placing staff
    chat.now += timedelta(days=1)
    chat.say(userid, "滨江花园二期2栋门口下水道堵了，污水冒到路上")
    lamp, drain = chat.cases(userid)
    assert lamp.state == CaseState.AWAITING_PLACE and drain.text == "滨江花园二期2栋门口下水道堵了，污水冒到路上"
    assert drain.unit.address.endswith("滨江花园二期1-2栋")
    chat.say(userid, f"湖景苑5栋{LAMP}")
    lamp, _ = chat.cases(userid)
    assert lamp.state != CaseState.AWAITING_PLACE and lamp.unit.address.endswith("湖景苑5-6栋")
