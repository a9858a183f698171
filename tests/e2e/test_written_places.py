"""Places as residents write them, over the encrypted protocol: the report reaches the right grid, or the
resident is asked — never a guess routed silently."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from models import Grid, Worker
from tests.cli import cli_json
from tests.e2e.test_resident_loop import case_number
from tests.e2e.worker_chat import queued


def test_a_misspelt_road_with_its_number_asks_which_part_of_the_estate_there(wecom, database_url):
    """胡滨路88号 for 湖滨路88号 (阳光小区, two phases in two grids): the estate is offered, its phase asked."""
    number = case_number(question := wecom.send_text("road-typo-resident", "胡滨路88号门口的垃圾桶满了好几天没人清理"))
    assert "湖滨路88号阳光小区”的哪一期" in question, question
    assert number in wecom.send_text("road-typo-resident", "二期3栋")
    case = cli_json(["case", "show", number, "--json"], database_url)
    assert (case["grid"], case["unit"]) == ("441999001001002", "441999001001002002")


def test_buildings_written_with_a_dot_are_not_read_as_one_joined_number(wecom, database_url):
    """阳光小区一期1.3栋 (buildings 1 and 3, or 1栋3单元): both lie in 阳光社区第一网格, so the case goes there at the
    estate, not to building 13 (a unit of its own)."""
    place = _placed(wecom, database_url, "dotted-resident", "阳光小区一期1.3栋楼下的垃圾桶满了好几天没人清理")
    assert place == ("441999001001001", None)


def test_a_house_number_in_a_lane_places_the_case_at_that_house(wecom, database_url):
    """建设里5号 (a lane whose houses the registry lists as 1-6栋): house 5's unit, not the lane at large."""
    place = _placed(wecom, database_url, "lane-resident", "建设里5号门口的垃圾桶满了好几天没人清理")
    assert place == ("441999001001006", "441999001001006009")


@pytest.mark.parametrize(("userid", "text"), [("capital-resident", "陽光小區貳期伍棟樓下的垃圾桶滿了好幾天沒人清理"),
                                             ("roman-resident", "阳光小区Ⅱ期Ⅴ栋楼下的垃圾桶满了好几天没人清理"),
                                             ("wide-roman-resident", "阳光小区ＩＩ期Ｖ栋楼下垃圾桶满了好几天没人清理")])
def test_capital_or_roman_numerals_name_the_phase_and_building(wecom, database_url, userid, text):
    """陽光小區貳期伍棟 (traditional script, 大写数字), 阳光小区Ⅱ期Ⅴ栋 (Unicode Roman numerals) or ＩＩ期Ｖ栋 (full-width
    letters): 二期5栋 of 阳光小区, in 阳光社区第二网格, without asking which phase. Before, Ⅴ栋 was read as a building
    named v (and Ⅱ期 as no phase) and the resident was asked which phase."""
    assert _placed(wecom, database_url, userid, text) == ("441999001001002", "441999001001002003")


def test_an_estate_named_with_another_community_is_confirmed_before_it_is_placed(wecom, database_url):
    """湖景苑 lies in 阳光社区, not 翠苑社区: the resident is asked whether 湖景苑3-4栋 is the place; 对 places it."""
    number = case_number(question := wecom.send_text("community-resident", "翠苑社区湖景苑3栋门口的垃圾桶满了好几天没人清理"))
    assert "湖景苑3-4栋”吗" in question and "回复 1 确认" in question, question
    assert cli_json(["case", "show", number, "--json"], database_url)["state"] == "awaiting_place"
    assert number in wecom.send_text("community-resident", "对")
    case = cli_json(["case", "show", number, "--json"], database_url)
    assert (case["grid"], case["unit"]) == ("441999001001003", "441999001001003002")

@pytest.mark.parametrize(("text", "grid"), [("阳光小区一期两栋楼中间的路灯坏了，晚上很黑", "441999001001001"),
                                            ("湖景苑三到五栋之间的垃圾桶满了好几天没人清理", "441999001001003")])
def test_two_buildings_or_a_range_of_them_place_the_case_at_the_estate_not_one_building(wecom, database_url, text,
                                                                                         grid):
    """两栋楼中间 (between two buildings) names no building 2; 三到五栋 names 3 to 5, two units of 湖景苑, not only 5."""
    place = _placed(wecom, database_url, f"between-resident-{grid[-1]}", text)
    assert place == (grid, None)

def test_a_village_group_and_a_hamlet_that_disagree_are_asked_not_placed(wecom, database_url):
    """石湾村3组上塘: 3组 is 东坑 and 上塘 is 1组; the case waits for the resident's word instead of going to 东坑."""
    question = _asked(wecom, database_url, "hamlet-resident", "石湾村3组上塘的路灯坏了，晚上很黑")
    assert "回复 1 确认" in question, question

def test_a_building_number_with_a_leading_zero_is_that_building(wecom, database_url):
    place = _placed(wecom, database_url, "zero-resident", "湖景苑03栋楼下的垃圾桶满了好几天没人清理")
    assert place == ("441999001001003", "441999001001003002")

# matters no other case of the estate reports here: a report of the same words there would follow that case
@pytest.mark.parametrize("text", ["湖京苑门口的路灯坏了好几天，晚上一片漆黑", "胡滨路120号门口的井盖翘起来了，车一压就哐哐响"])
def test_a_misspelt_estate_in_one_grid_is_confirmed_and_a_yes_places_it_there(wecom, database_url, text):
    """湖京苑 (or its road misspelt) for 湖景苑, all in 阳光社区第三网格: whether it is 湖景苑 is asked, not which phase
    it has none of, and 对 places the case at the estate in that grid."""
    userid = f"misspelt-resident-{len(text)}"
    number = case_number(question := wecom.send_text(userid, text))
    assert "湖滨路120号湖景苑”吗" in question and "回复 1 确认" in question, question
    assert number in wecom.send_text(userid, "对")
    case = cli_json(["case", "show", number, "--json"], database_url)
    assert (case["state"], case["grid"], case["unit"]) == ("pending", "441999001001003", None)

@pytest.mark.parametrize(("building", "yes"), [(7, "对对对"), (9, "係呀"), (11, "是的是的👍")])
def test_a_yes_as_people_say_it_confirms_the_place_asked(wecom, database_url, building, yes):
    """To 请问地点是“…湖景苑7-8栋”吗？回复 1 确认 (胡景苑 misspelt), a yes said again (对对对, 是的是的👍) or in Cantonese
    (係呀) places the case there. Before, only a bare 对 or 是的 did: 对对对 became a report of its own, the others
    'address not found'."""
    userid = f"yes-resident-{building}"
    number = case_number(question := wecom.send_text(userid, f"胡景苑{building}栋楼下的垃圾桶满了好几天没人清理"))
    assert "回复 1 确认" in question, question
    assert number in wecom.send_text(userid, yes)
    unit = cli_json(["case", "show", number, "--json"], database_url)["unit"]
    assert unit == f"4419990010010030{(building + 1) // 2:02d}"  # 湖景苑7-8栋, 9-10栋, 11-12栋


def test_two_estates_in_two_grids_are_asked_which_and_neither_building_is_read_in_the_other(wecom, database_url):
    """从阳光小区一期3栋到湖景苑5栋: 5栋 is 湖景苑's, not 阳光小区's; the two lie in two grids, so the resident is asked
    which of the two, and an answer naming what sets one apart (湖景苑那边) places the case at the building named."""
    userid = "two-estates-resident"
    number = case_number(question := wecom.send_text(userid, "从阳光小区一期3栋到湖景苑5栋的路灯都不亮，晚上很黑"))
    assert "阳光小区一期3-4栋”还是“" in question and "湖景苑5-6栋”？" in question, question
    assert cli_json(["case", "show", number, "--json"], database_url)["state"] == "awaiting_place"
    assert number in wecom.send_text(userid, "湖景苑那边")
    case = cli_json(["case", "show", number, "--json"], database_url)
    assert (case["grid"], case["unit"]) == ("441999001001003", "441999001001003003")


@pytest.mark.parametrize(("userid", "answer"), [("phase-resident", "二期"), ("phase-resident-yue", "二期嘅"),
                                               ("phase-resident-capital", "貳期")])
def test_a_phase_answering_which_part_of_the_estate_keeps_the_building_reported(wecom, database_url, userid, answer):
    """阳光小区3栋 (一期 or 二期, two grids) is asked which phase; 二期 places the case at 二期3-4栋, the building the report
    named. Before, the building was lost: the case went to 阳光小区二期 at large."""
    question = _asked(wecom, database_url, userid, "阳光小区3栋门口的垃圾桶满了好几天没人清理")
    assert "哪一期" in question, question
    assert case_number(question) in wecom.send_text(userid, answer)
    case = cli_json(["case", "show", case_number(question), "--json"], database_url)
    assert (case["grid"], case["unit"]) == ("441999001001002", "441999001001002002")


def test_a_phase_answering_which_of_two_places_is_read_in_the_one_that_has_it(wecom, database_url):
    """To 请问地点是“…阳光小区”还是“…湖景苑5-6栋”？ the answer 二期 is 阳光小区's (湖景苑 has no phases): the case goes to
    阳光小区二期's grid, instead of 二期 being taken for a new report."""
    userid = "phase-answer-resident"
    question = _asked(wecom, database_url, userid, "湖景苑5栋和阳光小区3栋中间的垃圾桶满了好几天没人清理")
    assert "还是“" in question, question
    assert case_number(question) in wecom.send_text(userid, "二期")
    case = cli_json(["case", "show", case_number(question), "--json"], database_url)
    assert (case["state"], case["grid"]) == ("pending", "441999001001002")


@pytest.mark.parametrize(("userid", "answer"), [("turn-resident", "第二个"), ("turn-resident-yue", "系第二个"),
                                               ("turn-resident-hk", "後面嗰個"), ("turn-resident-emoji", "第二个😊")])
def test_a_place_offered_among_two_is_picked_by_its_turn(wecom, database_url, userid, answer):
    """To 请问地点是“…阳光小区一期3-4栋”还是“…湖景苑5-6栋”？ the answer 第二个 places the case at 湖景苑5-6栋; so do
    Cantonese (系第二个, 後面嗰個: 嗰 is 那) and an emoji after it, which before were “address not found” or a new
    report."""
    number = case_number(wecom.send_text(userid, "从阳光小区一期3栋到湖景苑5栋的路灯都不亮，晚上很黑"))
    assert number in wecom.send_text(userid, answer)
    case = cli_json(["case", "show", number, "--json"], database_url)
    assert (case["grid"], case["unit"]) == ("441999001001003", "441999001001003003")


@pytest.mark.parametrize("answer", ["第三个", "3"])
def test_a_turn_beyond_the_places_offered_is_told_there_were_only_two_and_asked_again(wecom, database_url, answer):
    """第三个 when two places were offered: the resident is told kindly there were only two and asked again (the
    case still waits), and 第二个 then places it. Before, the answer was no address: 第三个 became a report of its own."""
    userid = f"beyond-resident-{len(answer)}"
    number = case_number(wecom.send_text(userid, "从阳光小区一期3栋到湖景苑5栋的路灯都不亮，晚上很黑"))
    again = wecom.send_text(userid, answer)
    assert number in again and "只列出了2处" in again and "阳光小区一期3-4栋”还是“" in again, again
    assert cli_json(["case", "show", number, "--json"], database_url)["state"] == "awaiting_place"
    assert number in wecom.send_text(userid, "第二个")
    case = cli_json(["case", "show", number, "--json"], database_url)
    assert (case["grid"], case["unit"]) == ("441999001001003", "441999001001003003")


@pytest.mark.parametrize(("userid", "answer"), [("both-resident", "两个都是"), ("both-resident-yue", "两边都系啊")])
def test_an_answer_that_it_is_at_both_places_offered_opens_a_case_at_each(wecom, database_url, userid, answer):
    """To 请问地点是“…阳光小区一期3-4栋”还是“…湖景苑5-6栋”？ the answer 两个都是 (the lamps are out at both): the case
    is placed at the first, a second case of the same words opened at the other, each in its grid, one reply listing
    both, as 湖景苑5栋和阳光小区二期3栋都停水了 is. Before, 两个都是 was taken for a new report."""
    number = case_number(wecom.send_text(userid, "从阳光小区一期3栋到湖景苑5栋的路灯都不亮，晚上很黑"))
    reply = wecom.send_text(userid, answer)
    numbers = re.findall(r"^[12]\. (GB-\d{6})", reply, re.MULTILINE)
    assert len(numbers) == 2 and numbers[0] == number and "2处地点" in reply, reply
    first, second = (cli_json(["case", "show", each, "--json"], database_url) for each in numbers)
    assert (first["grid"], first["unit"]) == ("441999001001001", "441999001001001002"), first
    assert (second["grid"], second["unit"], second["category"]) == ("441999001001003", "441999001001003003",
                                                                   first["category"]), second


def test_two_estates_of_one_grid_place_the_case_in_that_grid(wecom, database_url):
    """湖景苑 and 金桂园 both lie in 阳光社区第三网格: whichever the place is, the grid is certain."""
    number = case_number(wecom.send_text("one-grid-resident", "从湖景苑3栋到金桂园2栋的路灯都不亮，晚上很黑"))
    case = cli_json(["case", "show", number, "--json"], database_url)
    assert (case["state"], case["grid"], case["unit"]) == ("pending", "441999001001003", None)


def test_two_consecutive_numerals_place_the_case_at_the_unit_holding_both(wecom, database_url):
    """湖景苑三四栋中间 (between buildings 3 and 4, not building 34): 湖景苑3-4栋, without asking whether it is 湖景苑."""
    place = _placed(wecom, database_url, "consecutive-resident", "湖景苑三四栋中间的路灯坏了，晚上很黑")
    assert place == ("441999001001003", "441999001001003002")


def test_building_unit_shorthand_places_the_case_at_that_building(wecom, database_url):
    """湖景苑3-2 (栋-单元, no room): building 3's unit, not the estate at large."""
    place = _placed(wecom, database_url, "shorthand-resident", "湖景苑3-2楼道的灯坏了一个星期，晚上很黑")
    assert place == ("441999001001003", "441999001001003002")


@pytest.mark.parametrize(("userid", "text", "place"), [
    ("correcting-resident-1", "阳光小区一期3栋，不对，是二期3栋，楼道里堆满了垃圾没人清理", ("441999001001002", "441999001001002002")),
    ("correcting-resident-2", "阳光小区一期3栋门口垃圾桶满了，说错了，应该是二期3栋", ("441999001001002", "441999001001002002")),
    ("correcting-resident-3", "阳光小区一期3栋，二期3栋才对，门口的垃圾桶满了好几天没人清理", ("441999001001002", "441999001001002002")),
    ("correcting-resident-4", "湖景苑5栋，不对，是阳光小区二期3栋，楼下垃圾桶满了好几天没人清理", ("441999001001002", "441999001001002002")),
    ("correcting-resident-5", "阳光小区一期三栋楼下，噢唔系，系二期三栋，垃圾桶满咗好耐冇人理", ("441999001001002", "441999001001002002")),
    ("correcting-resident-6", "陽光小區一期三棟門口垃圾桶滿了，說錯了，應該是二期三棟", ("441999001001002", "441999001001002002")),
    ("correcting-resident-7", "阳光小区一期3栋，不是，是二期3栋，门口垃圾桶满了好几天没人清理", ("441999001001002", "441999001001002002")),
    # resident-026 lives at 翠苑小区一期1-2栋: the corrected building, not their own, nor a question which phase
    ("resident-026", "翠苑二期3栋，不对，是三期3栋，楼道里堆满了杂物没人清理", ("441999001002003", "441999001002003002"))])
def test_a_place_corrected_inside_the_report_is_the_place(wecom, database_url, userid, text, place):
    """不对 / 说错了 / 应该是 / …才对 (a 不是 or Cantonese 唔系 standing alone, traditional 說錯了) take back the place
    written before them: the corrected one wins (its estate kept when the correction names only numbers). Before, both places were read alike and the resident was asked which
    phase (or which of the two estates)."""
    assert _placed(wecom, database_url, userid, text) == place


def test_a_bound_resident_naming_other_buildings_in_their_grid_gets_the_estate_not_their_building(wecom, database_url):
    """resident-009 lives at 湖景苑1-2栋; 湖景苑3栋和5栋中间 is in their grid, but not at their building."""
    place = _placed(wecom, database_url, "resident-009", "湖景苑3栋和5栋中间的下水道堵了，污水漫到路上")
    assert place == ("441999001001003", None)


def test_with_a_grid_all_on_leave_the_worker_with_a_grid_nearest_to_it_gets_the_case(wecom, db, database_url):
    """碧水山庄 (东岭社区第四网格): its 专职 worker and leader on leave, and the 专职 workers of the squares beside it
    too; dl-worker-3's second grid (第五网格) adjoins it, though their own (第三网格) is the farthest square."""
    away = ("dl-leader-4", "dl-worker-1", "dl-worker-5")
    _change_staff(db, away, on_duty=False, second_grid=True)
    try:
        number = case_number(wecom.send_text("far-resident", "碧水山庄3栋楼下的垃圾桶满了好几天没人清理"))
        assert cli_json(["case", "show", number, "--json"], database_url)["assignee"] == "dl-worker-3"
    finally:
        _change_staff(db, away, on_duty=True, second_grid=False)


def _change_staff(db, userids: tuple[str, ...], on_duty: bool, second_grid: bool) -> None:
    """Put `userids` on duty or on leave; give dl-worker-3 东岭社区第五网格 as a second grid, or take it back."""
    with db() as session, session.begin():
        for worker in session.scalars(select(Worker).where(Worker.userid.in_(userids))):
            worker.on_duty = on_duty
        third = session.scalars(select(Worker).where(Worker.userid == "dl-worker-3")).one()
        fifth = session.scalars(select(Grid).where(Grid.code == "441999101001005")).one()
        third.grids = [g for g in third.grids if g.id != fifth.id] + ([fifth] if second_grid else [])


def test_a_bound_resident_naming_a_building_of_their_estate_without_its_phase_gets_it_in_their_phase(wecom,
                                                                                                      database_url):
    """resident-001 lives at 阳光小区一期1-2栋: 阳光小区3栋 (一期 or 二期, two grids) is building 3 of their own 一期, not a
    question which phase, nor their own building."""
    place = _placed(wecom, database_url, "resident-001", "阳光小区3栋门口的垃圾桶满了好几天没人清理")
    assert place == ("441999001001001", "441999001001001002")


def _placed(wecom, database_url: str, userid: str, text: str) -> tuple[str | None, str | None]:
    """The grid and unit of the case `text` opens."""
    case = cli_json(["case", "show", case_number(wecom.send_text(userid, text)), "--json"], database_url)
    return case["grid"], case["unit"]


def _asked(wecom, database_url: str, userid: str, text: str) -> str:
    """The question `text` is answered with, its case still waiting for its place."""
    question = wecom.send_text(userid, text)
    assert cli_json(["case", "show", case_number(question), "--json"], database_url)["state"] == "awaiting_place"
    return question


@pytest.mark.parametrize(("userid", "place", "unit"), [("phase-as-qi-resident", "1期5栋", "441999001001001003"),
                                                      ("phase-as-qu-resident", "一区7栋", "441999001001001004")])
def test_a_phase_written_as_a_district_opens_the_case_as_the_phase_does(wecom, database_url, userid, place, unit):
    """阳光小区一区 is 阳光小区1期 (区, like 期, names a part of an estate): the stairwell lamp's case opens at the
    building straight away either way. Before, the classifier read 一区 as words of their own (1区7栋, not 1期7栋) and
    the resident writing it was asked the category."""
    reply = wecom.send_text(userid, f"阳光小区{place}楼道灯坏了好几天")
    assert "事项编号" in reply and "哪一类" not in reply, reply
    case = cli_json(["case", "show", case_number(reply), "--json"], database_url)
    assert (case["state"], case["category"], case["unit"]) == ("pending", "市政设施", unit), case


def test_a_building_corrected_after_the_report_moves_the_case_there_and_its_worker_hears(wecom, db, database_url):
    """哦不好意思，是8栋门口，不是6栋 after a report at 湖景苑6栋: the case moves to 湖景苑7-8栋 (same grid, same worker),
    who is told of the new place; the resident is answered once, with the case number. Before, the words were only a
    note and the case stayed at 5-6栋."""
    number = case_number(wecom.send_text("late-fix-resident", "湖景苑6栋门口的垃圾桶满了好几天没人清理"))
    before = cli_json(["case", "show", number, "--json"], database_url)
    assert before["unit"] == "441999001001003003", before
    reply = wecom.send_text("late-fix-resident", "哦不好意思，是8栋门口，不是6栋")
    assert reply.count(number) == 1 and "湖景苑" in reply and "8栋" in reply, reply
    case = cli_json(["case", "show", number, "--json"], database_url)
    assert (case["grid"], case["unit"], case["assignee"]) == ("441999001001003", "441999001001003004",
                                                              before["assignee"])
    assert queued(db, before["assignee"], number, "7-8栋"), "the worker was not told the new place"


def test_a_place_corrected_after_a_worker_took_the_case_moves_it_to_the_right_grid_and_tells_both_workers(
        wecom, db, database_url):
    """说错了 应该是二期9栋 after demo-worker took a report at 阳光小区一期9栋 (阳光社区第一网格): the case goes to the
    second grid's worker, to be taken there; demo-worker hears it is no longer theirs, the new worker gets the card,
    the resident is told once where it is now."""
    number = case_number(wecom.send_text("taken-fix-resident", "阳光小区一期9栋门口的垃圾桶满了好几天没人清理"))
    assert "已接单" in wecom.send_text("demo-worker", f"接单 {int(number[3:])}")
    reply = wecom.send_text("taken-fix-resident", "说错了 应该是二期9栋")
    assert reply.count(number) == 1 and "二期9-10栋" in reply, reply
    case = cli_json(["case", "show", number, "--json"], database_url)
    assert (case["grid"], case["unit"], case["state"]) == ("441999001001002", "441999001001002005", "pending"), case
    assert case["assignee"] not in ("demo-worker", None)
    assert queued(db, "demo-worker", number, "无需再跟进"), "the worker who took it was not told"
    assert queued(db, case["assignee"], number, "接单"), "the new worker got no card"


def test_a_building_number_alone_after_a_report_placed_in_an_estate_is_read_in_that_estate(wecom, database_url):
    """湖景苑7栋 for the first report, then 还有7栋的信报箱被撬了 minutes later: the resident's estate is the one they just
    named, so the second case goes to 湖景苑7-8栋 without asking where (before, the address was asked again)."""
    first = case_number(wecom.send_text("estate-lately-resident", "湖景苑7栋楼下的垃圾桶满了好几天没人清理"))
    second = wecom.send_text("estate-lately-resident", "还有7栋的信报箱被人撬了")
    assert "湖景苑7-8栋" in second and "请告诉我们具体地址" not in second, second
    case = cli_json(["case", "show", case_number(second), "--json"], database_url)
    assert case_number(second) != first and case["unit"] == "441999001001003004"
