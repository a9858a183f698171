"""A resident's report becomes the right case: not dropped when it interrupts a question, not kept on a case of
another matter, and a place given for one case not written on another.

Over the encrypted callback and the fake WeCom, residents on plain WeChat (微信客服); every sentence here is our own."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from models import Case, CaseEvent
from tests.e2e.test_resident_voices import cases_of, closed_and_asked, kf_resident, said
from tests.e2e.worker_chat import number_in, show


def own_words(db, number: str) -> list[str]:
    """The words the case's resident added to it."""
    with db() as session:
        case = session.get(Case, int(number[3:]))
        return [note for note in session.scalars(select(CaseEvent.note).where(
            CaseEvent.case_id == case.id, CaseEvent.actor == case.reporter_userid, CaseEvent.action == "attach"))]


def test_a_new_matter_at_the_building_of_a_case_waiting_for_its_rating_is_a_case_of_its_own(
        wecom, fake_wecom, db, database_url):
    """Asked to rate the loose manhole cover's case, the resident reports bikes charged in the stairwell of the same
    building, saying 又: the estate's name, left in the words compared as if it were the matter, pointed the new report
    at the closed case, so it was kept there as words about it, and gone once the case was rated."""
    resident, _ = kf_resident(fake_wecom, wecom, "wmRightCaseRatingNew01")
    cover = closed_and_asked(wecom, resident, "锦绣华庭3栋门口的井盖松了，踩上去咣当响", database_url)
    answer = said(resident, "锦绣华庭3栋楼下又有人把电动车推进楼道充电")
    bikes = number_in(answer)
    assert bikes != cover and "已登记" in answer, answer
    case = show(bikes, database_url)
    assert (case["category"], case["unit"]) == ("消防安全", show(cover, database_url)["unit"]), case
    assert cover in said(resident, "1") and not own_words(db, cover)


def test_a_place_sent_after_another_report_interrupted_the_place_question_places_the_first_report(
        wecom, fake_wecom, db, database_url):
    """Asked where the broken lamp is, the resident first reports full bins at another estate, then sends the lamp's
    building: the new report had ended the lamp's question, so the address was kept as a note on the bins' case and
    the lamp waited for staff. The bins' reply now says the lamp still needs its place, and the address places it."""
    resident, _ = kf_resident(fake_wecom, wecom, "wmRightCasePlaceAsked1")
    lamp = number_in(said(resident, "我家楼下那根路灯坏了，一到晚上漆黑一片"))
    assert show(lamp, database_url)["state"] == "awaiting_place"
    answer = said(resident, "江南世家5栋楼下的垃圾桶满了，都溢出来了")
    bins = next(number for number in re.findall(r"GB-\d{6}", answer) if number != lamp)
    assert f"{lamp} 还缺少具体地址" in answer, answer
    placed = said(resident, "桃源居9栋")
    assert lamp in placed and "已登记" in placed, placed
    case = show(lamp, database_url)
    assert (case["state"], case["unit"]) == ("pending", "441999001002004005"), case
    assert not own_words(db, bins)


@pytest.mark.parametrize(("userid", "report", "building", "unit"), [
    ("wmRightCaseEstateBld1", "碧水山庄里的路灯坏了，晚上黑乎乎的", "是3号楼", "441999101001004002"),
    ("wmRightCaseEstateBld2", "龙湾雅苑里的垃圾桶满了好几天没人清", "在3栋", "441999101001005002"),
    ("wmRightCaseEstateBld3", "新城家园里有人遛狗不牵绳，草地上全是狗屎", "3号楼那边", "441999101001003002"),
    ("wmRightCaseEstateBld4", "御景湾里有个井盖松了，踩上去晃得厉害", "搞错了，是２期３棟", "441999101001006006"),
])
def test_a_building_named_after_a_report_placed_at_its_estate_places_the_case_at_that_building(
        wecom, fake_wecom, db, database_url, userid, report, building, unit):
    """A report naming only an estate is placed at the estate; the resident then names the building (with or without
    a correction word, full-width and traditional forms too): it was kept as a note, the case left at the estate."""
    resident, _ = kf_resident(fake_wecom, wecom, userid)
    number = number_in(said(resident, report))
    assert (show(number, database_url)["unit"], show(number, database_url)["grid"]) == (None, unit[:15])
    answer = said(resident, building)
    assert number in answer and "3-4栋" in answer, answer
    case = show(number, database_url)
    assert (case["state"], case["unit"], case["grid"]) == ("pending", unit, unit[:15]), case
    assert not own_words(db, number)


def test_where_the_resident_lives_or_another_matter_at_a_building_leaves_an_estate_case_where_it_is(
        wecom, fake_wecom, db, database_url):
    """Words naming a building beside something else than where the case is (我住3栋; a new matter at 3栋) do not
    move a case placed at its estate."""
    resident, userid = kf_resident(fake_wecom, wecom, "wmRightCaseEstateStay1")
    number = number_in(said(resident, "锦绣华庭里的消防通道被车堵死了"))
    said(resident, "我住3栋")
    said(resident, "3栋楼道灯也坏了")
    assert show(number, database_url)["unit"] is None


def test_a_correction_naming_another_estate_alone_moves_the_case_to_that_estate(wecom, fake_wecom, db, database_url):
    """搞错了是金桂园 after a report at 湖景苑3栋: the estate named alone is the corrected place (one grid: placed at
    the estate), not words kept on the case."""
    resident, _ = kf_resident(fake_wecom, wecom, "wmRightCaseEstateFix1")
    number = number_in(said(resident, "湖景苑3栋门口的快递柜被人撬了个口子"))
    answer = said(resident, "搞错了是金桂园")
    assert number in answer and "更正为" in answer and "金桂园" in answer, answer
    case = show(number, database_url)
    assert (case["unit"], case["grid"]) == (None, "441999001001003"), case
    assert not own_words(db, number)


def test_two_reports_in_a_row_with_no_place_are_each_placed_the_first_asked_after_the_second(
        wecom, fake_wecom, db, database_url):
    """A broken lamp, then bins nobody empties, neither with a place: the bins' question replaced the lamp's, and the
    address answered placed the bins alone; the lamp waited for street staff. Placing the bins now asks the lamp's
    place by its number, and the next address places it."""
    resident, _ = kf_resident(fake_wecom, wecom, "wmRightCaseTwoUnplaced1")
    lamp = number_in(said(resident, "门口那盏路灯不亮了"))
    bins = number_in(said(resident, "垃圾好几天没人来收了"))
    assert bins != lamp and {show(n, database_url)["state"] for n in (lamp, bins)} == {"awaiting_place"}
    placed = said(resident, "桃源居11栋")
    assert bins in placed and f"{lamp} 还缺少具体地址" in placed, placed
    assert show(lamp, database_url)["state"] == "awaiting_place"
    answered = said(resident, "江南世家3栋")
    assert lamp in answered and "已登记" in answered, answered
    lamp_case, bins_case = show(lamp, database_url), show(bins, database_url)
    assert (lamp_case["state"], lamp_case["unit"]) == ("pending", "441999001002006005"), lamp_case
    assert bins_case["unit"] == "441999001002004006", bins_case
    assert not own_words(db, bins)


def test_a_correction_naming_the_building_the_case_is_at_already_is_kept_on_it_not_asked_as_a_report(
        wecom, fake_wecom, db, database_url):
    """东岭花园一期5-6栋 is one unit: 不是5栋是6栋 moves nothing, and was taken for a new report asked its category
    (opened as 其他 when left unanswered). The words now go to the case's worker, the resident told its number."""
    resident, userid = kf_resident(fake_wecom, wecom, "wmRightCaseSameUnitFix1")
    number = number_in(said(resident, "东岭花园一期5栋楼道堆满杂物"))
    answer = said(resident, "不是5栋是6栋")
    assert number in answer and "记入" in answer, answer
    assert cases_of(db, userid) == 1 and own_words(db, number) == ["不是5栋是6栋"]


@pytest.mark.parametrize(("userid", "place", "same"), [("wmRightCaseSamePlace1", "碧水山庄11栋", "一样"),
                                                      ("wmRightCaseSamePlace2", "龙湾雅苑9栋", "也是这里")])
def test_the_first_report_asked_after_the_second_is_placed_where_the_second_is_by_saying_so(
        wecom, fake_wecom, db, database_url, userid, place, same):
    """Asked the lamp's place once the bins were placed, the resident answers that it is the same place: the words
    were kept as a note on the bins' case, and the lamp kept waiting. They now place the lamp where the bins are."""
    resident, _ = kf_resident(fake_wecom, wecom, userid)
    lamp = number_in(said(resident, "单元门外那盏路灯晚上一直不亮"))
    bins = number_in(said(resident, "垃圾桶三天没人来清了"))
    placed = said(resident, place)
    assert f"{lamp} 还缺少具体地址" in placed and "一样" in placed, placed
    answered = said(resident, same)
    assert lamp in answered and "已登记" in answered, answered
    lamp_case = show(lamp, database_url)
    assert (lamp_case["state"], lamp_case["unit"]) == ("pending", show(bins, database_url)["unit"]), lamp_case
    assert not own_words(db, bins)


@pytest.mark.parametrize(("userid", "report", "building", "estate", "unit"), [
    ("wmRightCaseSpotFirst1", "楼道灯坏了，晚上一直不亮", "3号楼那边", "工人新村", "441999001002005002"),
    ("wmRightCaseSpotFirst2", "垃圾桶满了好几天没人清", "是５號樓", "新城家园", "441999101001003003"),
])
def test_a_building_answered_before_its_estate_places_the_report_at_that_building(
        wecom, fake_wecom, db, database_url, userid, report, building, estate, unit):
    """Asked where, the resident names the building first and the estate next: the building was kept as a note (or
    read as a report of its own) and the estate placed the case at the estate at large. Now the estate is asked for
    that building, and the answer places the case there."""
    resident, _ = kf_resident(fake_wecom, wecom, userid)
    number = number_in(said(resident, report))
    asked = said(resident, building)
    assert number in asked and "哪个小区" in asked, asked
    placed = said(resident, estate)
    assert number in placed and "已登记" in placed, placed
    assert (show(number, database_url)["state"], show(number, database_url)["unit"]) == ("pending", unit)


def test_same_place_answered_after_a_report_that_interrupted_the_place_question_places_the_first_there(
        wecom, fake_wecom, db, database_url):
    """Asked where the lamp is, the resident reports bins at a building of their own, is asked the lamp's place
    again, and answers 一样的: the words were asked their category as a new report. Now the lamp is placed where the
    bins are."""
    resident, _ = kf_resident(fake_wecom, wecom, "wmRightCaseSameAfterIn1")
    lamp = number_in(said(resident, "路口那根路灯不亮了，一到晚上漆黑"))
    answer = said(resident, "御景湾二期7栋楼下的垃圾桶满了，臭得很")
    bins = next(number for number in re.findall(r"GB-\d{6}", answer) if number != lamp)
    assert f"{lamp} 还缺少具体地址" in answer and "一样" in answer, answer
    placed = said(resident, "一样的")
    assert lamp in placed and "已登记" in placed, placed
    case = show(lamp, database_url)
    assert (case["state"], case["unit"]) == ("pending", show(bins, database_url)["unit"]), case
