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


# Each resident's home (3栋) and the unit of 5栋 of that estate, an estate each: a lamp case of one estate is no
# neighbour's of another.
HOMES = {"湖景苑": ("441999001001003002", "441999001001003003"), "金桂园": ("441999001001003008", "441999001001003009"),
         "明湖新村": ("441999001001004002", "441999001001004003"), "荔枝湾小区": ("441999001001006002", "441999001001006003"),
         "建设里": ("441999001001006008", "441999001001006009")}


@pytest.mark.parametrize(("estate", "answer", "state", "reason", "category", "at_5"), [
    ("湖景苑", "不满意，另外5栋门口的垃圾也没人收", "in_progress", None, "环境卫生", True),
    ("金桂园", "不滿意，燈還是不亮。另外5棟門口的垃圾也沒人收", "in_progress", "燈還是不亮", "环境卫生", True),
    ("明湖新村", "3，另外5栋门口的垃圾桶都满出来了", "in_progress", None, "环境卫生", True),
    ("荔枝湾小区", "满意，不过楼下路灯也坏了", "archived", None, "市政设施", False),
    ("建设里", "已经修好了谢谢，还有个事，5栋门口的垃圾桶满了没人收", "archived", None, "环境卫生", True),
])
def test_a_rating_that_goes_on_to_another_matter_rates_the_case_and_opens_one_for_the_matter(
        wecom, fake_wecom, db, database_url, estate, answer, state, reason, category, at_5):
    """Asked to rate the stairwell lamp's case, the resident rates it and goes on to a new matter in the same
    message: the new matter was kept as the rating's reason (不满意's reopen note, 满意's remark) and no case was
    opened for it, or (3，…, 修好了谢谢，还有个事，…) the rating was lost. Now the case is rated with the words before
    the matter, and the matter is a case of its own at its place (5栋 of the resident's estate); both are told."""
    resident, _ = kf_resident(fake_wecom, wecom, f"wmRightCaseRatedAndNew{list(HOMES).index(estate)}")
    assert "已绑定" in said(resident, f"绑定 {estate}3栋")
    lamp = closed_and_asked(wecom, resident, "楼道的灯坏了，晚上上楼看不见", database_url)
    reply = said(resident, answer)
    numbers = re.findall(r"GB-\d{6}", reply)
    assert lamp in numbers and len(set(numbers)) == 2, reply
    new = next(number for number in numbers if number != lamp)
    case = show(lamp, database_url)
    rated = [event["note"] for event in case["events"] if event["action"] in ("reopen", "rate")]
    assert case["state"] == state and rated == [reason], case
    opened = show(new, database_url)
    assert (opened["category"], opened["unit"]) == (category, HOMES[estate][at_5]), opened
    with db() as session:
        words = session.get(Case, int(new[3:])).text
    assert words in answer and "满意" not in words and "谢谢" not in words, words


def test_words_that_the_rated_case_is_still_wrong_stay_on_it_and_the_matter_after_them_is_a_case(
        wecom, fake_wecom, db, database_url):
    """Asked to rate, the resident says the lamp is still out and goes on to the bins: both were opened as new cases
    (灯还是不亮 a second lamp case beside the closed one). The words stay on the lamp's case for its worker, its
    rating is asked again, and the bins are a case of their own at 5栋."""
    resident, _ = kf_resident(fake_wecom, wecom, "wmRightCaseStillWrongAndNew")
    assert "已绑定" in said(resident, "绑定 滨江花园一期3栋")
    lamp = closed_and_asked(wecom, resident, "楼道的灯坏了，晚上上楼看不见", database_url)
    reply = said(resident, "楼道的灯还是不亮，另外5栋门口的垃圾也没人收")
    bins = next(number for number in re.findall(r"GB-\d{6}", reply) if number != lamp)
    assert f"已把您的话记入事项 {lamp}" in reply and "请回复 3" in reply, reply
    assert own_words(db, lamp) == ["楼道的灯还是不亮"] and show(lamp, database_url)["state"] == "closed"
    case = show(bins, database_url)
    assert (case["category"], case["unit"]) == ("环境卫生", "441999001001005003"), case


def test_a_rating_saying_more_is_coming_is_answered_go_ahead(wecom, fake_wecom, db, database_url):
    """满意，还有个事… rated the case and said nothing of what was coming; 还有个事 alone, asked to rate, was kept on
    the closed case as words for its worker. Both are answered “请说”, and the matter that follows is a case."""
    resident, _ = kf_resident(fake_wecom, wecom, "wmRightCaseMoreIsComing")
    assert "已绑定" in said(resident, "绑定 翠苑小区一期3栋")
    lamp = closed_and_asked(wecom, resident, "楼道的灯坏了，晚上上楼看不见", database_url)
    reply = said(resident, "满意，还有个事…")
    assert "感谢您的评价（满意）" in reply and "请说" in reply, reply
    bins = number_in(said(resident, "5栋门口的垃圾桶满了"))
    assert bins != lamp and show(bins, database_url)["unit"] == "441999001002001003"
    door = closed_and_asked(wecom, resident, "单元门的门禁坏了，刷卡打不开", database_url)
    assert "请说" in said(resident, "还有个事") and not own_words(db, door)


@pytest.mark.parametrize(("words", "report", "unit"), [
    ("修好了谢谢，还有个事，", "明湖新村7栋楼道的灯坏了", "441999001001004004"),
    ("已经修好了，谢谢师傅，还有个事，", "建设里5栋门口的下水道堵了", "441999001001006009"),
])
def test_a_report_after_thanks_is_a_case(wecom, fake_wecom, database_url, words, report, unit):
    """Thanks, then a report in the same message, from a resident with no case waiting for a rating: the whole read
    as thanks (the model's 无), so it was answered 不客气 and the report was gone. The report is a case at its place."""
    resident, _ = kf_resident(fake_wecom, wecom, f"wmRightCaseThanksThenReport{len(words)}")
    reply = said(resident, words + report)
    assert "已登记" in reply and "不客气" not in reply, reply
    case = show(number_in(reply), database_url)
    assert case["unit"] == unit and case["state"] == "pending", case


def test_the_details_of_a_matter_announced_are_that_report_not_a_second_case(wecom, fake_wecom, db, database_url):
    """我想反映一下…的问题 opens a report asked where; the details that follow name no place and are the same matter: they
    were a second case (and the place answered placed only it, the first still asked). Now they are the first case's
    words, and the place answers it."""
    resident, userid = kf_resident(fake_wecom, wecom, "wmRightCaseAnnounced1")
    first = number_in(said(resident, "我想反映一下我们小区物业收费不合理的问题"))
    assert first in said(resident, "电梯维修费每户摊了八百块，物业也不公布账目")
    placed = said(resident, "龙湾雅苑")
    assert first in placed and "已登记" in placed and "还缺少" not in placed, placed
    assert cases_of(db, userid) == 1
    assert own_words(db, first) == ["电梯维修费每户摊了八百块，物业也不公布账目"]


def test_the_details_of_a_matter_announced_while_its_category_is_asked_join_it(wecom, fake_wecom, db, database_url):
    """想投诉…的事 is asked back (the matter is not clear yet); the details that follow, a clear report of their own,
    were taken as the resident moving on: the announcement opened as 其他 and the details as a second case."""
    resident, userid = kf_resident(fake_wecom, wecom, "wmRightCaseAnnounced2")
    asked = said(resident, "我想反映一下隔壁那家店的问题")
    assert "属于哪一类" in asked, asked
    opened = said(resident, "每天半夜麻将声吵得整栋楼睡不着，在金桂园5栋一楼")
    number = number_in(opened)
    assert cases_of(db, userid) == 1 and show(number, database_url)["category"] == "噪音扰民", opened
