"""A message that reports two matters becomes two cases, each routed on its own, with one reply naming both; one
matter told in several sentences stays one case; a short new matter right after a short report is not glued to it.

Over the encrypted callback. Every sentence here is our own (none from a test, held-out or labelled file).
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import Case
from tests.e2e.conftest import clock_after
from tests.e2e.worker_chat import digits, queued, show

HOME_UNIT = "441999001001001001"  # 阳光小区一期1-2栋: grid 1 (demo-worker, demo-leader)
LAKE_UNIT = "441999001001003002"  # 湖景苑3-4栋: grid 3, whose 环境卫生 goes to yg-clean-1
LAMP_AND_BIN = "我家门口的路灯坏了，还有湖景苑3栋楼下的垃圾桶好几天没人倒了"


def numbers_in(reply: str) -> list[str]:
    return re.findall(r"GB-\d{6}", reply)


def count_cases(db) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(Case))


def bound(wecom, userid: str) -> None:
    """A new resident bound to 阳光小区一期1栋 (a report that names no place is placed there)."""
    assert "绑定" in wecom.send_text(userid, "绑定 阳光小区一期1栋")


def test_two_matters_become_two_cases_routed_apart_with_one_reply(wecom, db, database_url):
    bound(wecom, "two-matters-1")
    before = count_cases(db)
    reply = wecom.send_text("two-matters-1", LAMP_AND_BIN)
    lamp, bin_ = numbers_in(reply)[:2]
    assert count_cases(db) == before + 2, reply
    assert "市政设施" in reply and "环境卫生" in reply and "路灯" in reply and "垃圾桶" in reply, reply

    lamp_case, bin_case = show(lamp, database_url), show(bin_, database_url)
    assert (lamp_case["category"], lamp_case["unit"], lamp_case["assignee"]) == ("市政设施", HOME_UNIT, "demo-worker")
    assert (bin_case["category"], bin_case["unit"], bin_case["assignee"]) == ("环境卫生", LAKE_UNIT, "yg-clean-1")
    for case, words, part in ((lamp_case, "我家门口的路灯坏了", 1), (bin_case, "还有湖景苑3栋楼下的垃圾桶好几天没人倒了", 2)):
        with db() as session:
            assert session.scalars(select(Case.text).where(Case.id == int(case["number"][3:]))).one() == words
        split = [e["note"] for e in case["events"] if e["action"] == "split"]
        assert len(split) == 1 and lamp in split[0] and bin_ in split[0] and LAMP_AND_BIN in split[0], case
        assert f"第{part}项" in split[0]
    # each worker gets the card of their own matter only, which names the other matter's number
    assert queued(db, "demo-worker", lamp, f"反映了2件事，本件为第1件，另一件为 {bin_}")
    assert not queued(db, "demo-worker", f"【新事项】{bin_}")
    assert queued(db, "yg-clean-1", f"【新事项】{bin_}", f"另一件为 {lamp}") and not queued(db, "yg-clean-1", f"【新事项】{lamp}")

    again = wecom.send_text("two-matters-1", LAMP_AND_BIN)  # the message sent again: nothing new
    assert count_cases(db) == before + 2 and "无需重复发送" in again, again


def test_an_emergency_part_keeps_its_urgency_and_the_other_part_its_own_clock(wecom, db, database_url):
    bound(wecom, "two-matters-2")
    reply = wecom.send_text("two-matters-2", "楼道里着火了，另外小区门口的路灯不亮")
    fire, lamp = numbers_in(reply)[:2]
    with db() as session:
        fire_case, lamp_case = (session.get(Case, int(number[3:])) for number in (fire, lamp))
        assert (fire_case.category, fire_case.urgent) == ("突发事件", True)
        assert fire_case.take_due - fire_case.created_at == timedelta(minutes=15)
        assert (lamp_case.category, lamp_case.urgent) == ("市政设施", False)
        assert lamp_case.take_due - lamp_case.created_at == timedelta(hours=1)
    assert show(fire, database_url)["assignee"] == show(lamp, database_url)["assignee"] == "demo-worker"
    assert queued(db, "demo-leader", fire) and not queued(db, "demo-leader", f"】{lamp}")  # the emergency's responders


def test_one_matter_in_several_sentences_stays_one_case_where_two_matters_split(wecom, db, database_url):
    """The same marks (a full stop, 另外) in one matter's sentences open one case with the whole words."""
    bound(wecom, "two-matters-3")
    before = count_cases(db)
    one = "楼下的垃圾桶满了，臭烘烘的。好几天都没人来收了"
    reply = wecom.send_text("two-matters-3", one)
    assert count_cases(db) == before + 1 and len(set(numbers_in(reply))) == 1, reply
    case = show(numbers_in(reply)[0], database_url)
    assert case["category"] == "环境卫生" and "split" not in [e["action"] for e in case["events"]]
    reply = wecom.send_text("two-matters-3", "湖景苑5栋门口的井盖被人偷了。另外小区里的垃圾好几天没人清")
    assert count_cases(db) == before + 3 and len(set(numbers_in(reply))) == 2, reply


def test_a_short_new_matter_right_after_a_short_report_is_a_case_of_its_own(wecom, db, database_url):
    """The pieces rule adds 好几天了 to a short report sent a moment before, not 电梯坏了: a clear report of another
    category, however short."""
    bound(wecom, "two-matters-4")
    lamp = numbers_in(wecom.send_text("two-matters-4", "小区门口路灯坏了"))[0]
    reply = wecom.send_text("two-matters-4", "电梯坏了")
    assert numbers_in(reply) and lamp not in reply, reply
    lift = show(numbers_in(reply)[0], database_url)
    assert (lift["category"], lift["unit"]) == ("物业管理", HOME_UNIT)
    assert "电梯坏了" not in [e["note"] for e in show(lamp, database_url)["events"]]
    more = wecom.send_text("two-matters-4", "好几天了")  # more of the latest report: still added to it
    assert lift["number"] in more, more


def test_two_matters_with_no_place_known_are_asked_once_and_both_placed_by_the_answer(wecom, db, database_url):
    """A resident bound nowhere, naming no place: both matters open and wait; one address answers for both."""
    before = count_cases(db)
    reply = wecom.send_text("two-matters-5", "单元门口的路灯坏了，还有垃圾桶满了好几天没人清")
    lamp, bin_ = list(dict.fromkeys(numbers_in(reply)))[:2]
    assert count_cases(db) == before + 2 and "地址" in reply, reply
    placed = wecom.send_text("two-matters-5", "湖景苑3栋")
    assert lamp in placed and bin_ in placed, placed
    lamp_case, bin_case = show(lamp, database_url), show(bin_, database_url)
    assert (lamp_case["state"], lamp_case["unit"], lamp_case["category"]) == ("pending", LAKE_UNIT, "市政设施")
    assert (bin_case["unit"], bin_case["assignee"]) == (LAKE_UNIT, "yg-clean-1")  # placed there, it may follow
    assert bin_case["state"] in ("pending", "merged")  # two-matters-1's case of 湖景苑3栋's bins: a likely duplicate


def test_a_part_a_neighbour_already_reported_follows_that_case_and_the_other_opens(wecom, database_url):
    """Duplicate detection works per matter: the rubbish part follows a neighbour's case of the same bin."""
    earlier = numbers_in(wecom.send_text("two-matters-6", "湖景苑9栋门口的垃圾桶满了好几天没人清理，臭烘烘的"))[0]
    bound(wecom, "two-matters-7")
    reply = wecom.send_text("two-matters-7", "家门口的路灯不亮了。另外湖景苑9栋门口的垃圾桶满了好几天没人清理")
    listed = dict(re.findall(r"^([12])\. (GB-\d{6})", reply, re.MULTILINE))
    assert f"并入 {earlier}" in reply.splitlines()[2], reply
    assert (show(listed["2"], database_url)["state"], show(listed["2"], database_url)["duplicate_of"]) == (
        "merged", earlier)
    assert show(listed["1"], database_url)["category"] == "市政设施"


def test_each_card_of_a_split_message_names_the_other_part_so_one_worker_holding_both_can_tell(wecom, db):
    """Both matters go to demo-worker: each card names the other matter's number, not two cards that each say
    only 'the rest was registered apart'."""
    bound(wecom, "two-matters-8")
    fire, cover = numbers_in(wecom.send_text("two-matters-8", "一楼车棚着火了，另外小区大门口的井盖松了踩上去直晃"))[:2]
    assert queued(db, "demo-worker", f"【新事项·紧急】{fire}", f"另一件为 {cover}"), queued(db, "demo-worker", fire)
    assert queued(db, "demo-worker", f"【新事项】{cover}", f"另一件为 {fire}"), queued(db, "demo-worker", cover)


def test_parts_waiting_for_their_place_go_to_staff_together_and_one_placing_places_both(wecom, db, database_url,
                                                                                       app_settings):
    """Two matters of one message, no place known, the resident silent: the street's staff get one 【待定位】 card
    naming both, and 定位 of either places both where the resident was (as the resident's own answer does). Before,
    each part came as a card of its own, and 定位 of the part the resident had been asked about ended the question
    while the other part waited, with nobody asking for its place."""
    # not the bins two-matters-5 placed there: the same words would follow that case (a likely duplicate)
    reply = wecom.send_text("two-matters-9", "楼道的灯坏了，另外垃圾桶旁边的落叶好几天没人扫")
    lamp, bin_ = list(dict.fromkeys(numbers_in(reply)))[:2]
    assert count_cases(db) >= 2 and "地址" in reply, reply
    clock_after(database_url, app_settings, 31)
    cards = queued(db, "hb-street-1", "待定位", lamp)
    assert len(cards) == 1 and bin_ in cards[0] and "楼道的灯坏了" in cards[0] and "落叶" in cards[0], cards
    assert not queued(db, "hb-street-1", f"【待定位】{bin_}")
    asked = queued(db, "two-matters-9", "还缺少具体地址")
    assert len(asked) == 1 and lamp in asked[0] and bin_ in asked[0], asked

    placed = wecom.send_text("hb-street-1", f"定位 {digits(bin_)} 湖景苑3栋")  # the part the resident was asked about
    assert f"{bin_} 已定位到" in placed and lamp in placed, placed
    for number in (lamp, bin_):
        assert (show(number, database_url)["state"], show(number, database_url)["unit"]) == ("pending", LAKE_UNIT)
    told = queued(db, "two-matters-9", "已登记", "湖景苑")
    assert len(told) == 1 and lamp in told[0] and bin_ in told[0], told


@pytest.mark.parametrize(("userid", "text", "bin_words"), [
    ("two-matters-10", "楼下路灯坏了，垃圾桶也满了没人收", "垃圾桶也满了没人收"),
    ("two-matters-13", "楼下路灯坏了。顺便说下，垃圾桶满了好几天没人收", "顺便说下，垃圾桶满了好几天没人收"),
    ("two-matters-14", "楼下路灯坏了，顺便提一下垃圾桶满了没人收", "顺便提一下垃圾桶满了没人收")])
def test_two_matters_become_two_cases_each_with_the_residents_own_words(wecom, db, database_url, userid, text,
                                                                         bin_words):
    """楼下路灯坏了，垃圾桶也满了没人收: only a comma parts them, but 也 says the bin is another thing; both clear
    reports of two categories (before, the message stayed one 市政设施 case and the bin reached no cleaner). The bin's
    case keeps the words as written, the one that starts it too (顺便说下, 顺便提一下: before, 顺便 was cut off)."""
    bound(wecom, userid)
    before = count_cases(db)
    reply = wecom.send_text(userid, text)
    assert count_cases(db) == before + 2, reply
    listed = dict(re.findall(r"^([12])\. (GB-\d{6})", reply, re.MULTILINE))
    lamp, bin_ = listed["1"], listed["2"]
    assert (show(lamp, database_url)["category"], show(bin_, database_url)["category"]) == ("市政设施", "环境卫生"), reply
    with db() as session:
        assert session.scalars(select(Case.text).where(Case.id == int(bin_[3:]))).one() == bin_words


def test_a_part_only_the_model_reads_but_is_all_but_sure_of_is_a_case_of_its_own(wecom, db, database_url):
    """楼上天天弹钢琴到半夜 names its matter in words no rule holds; the model reads it as 噪音扰民 all but certainly
    (matters.yaml's model_sure). Before, such a part never counted as clear and the piano stayed in the lamp's case."""
    bound(wecom, "two-matters-11")
    before = count_cases(db)
    reply = wecom.send_text("two-matters-11", "单元门口的路灯坏了，还有楼上天天弹钢琴到半夜")
    assert count_cases(db) == before + 2, reply
    listed = dict(re.findall(r"^([12])\. (GB-\d{6})", reply, re.MULTILINE))
    assert show(listed["2"], database_url)["category"] == "噪音扰民", reply


def test_a_short_emergency_only_the_model_reads_right_after_a_short_report_is_not_added_to_it(wecom, database_url):
    """水管爆了 fires no rule, but the model is all but certain it is an emergency (matters.yaml's model_sure): sent
    right after 垃圾桶满了 it opens an urgent case of its own. Before, the pieces rule took it for more of the rubbish
    report and added it there, as a note to the cleaner."""
    bound(wecom, "two-matters-12")
    bin_ = numbers_in(wecom.send_text("two-matters-12", "楼下垃圾桶满了"))[0]
    reply = wecom.send_text("two-matters-12", "水管爆了")
    assert numbers_in(reply) and bin_ not in reply, reply
    burst = show(numbers_in(reply)[0], database_url)
    assert (burst["category"], burst["unit"]) == ("突发事件", HOME_UNIT), burst
    assert "水管爆了" not in [e["note"] for e in show(bin_, database_url)["events"]]


def test_placing_the_parts_asked_about_moves_the_question_on_to_the_residents_other_waiting_report(wecom, db,
                                                                                                  database_url):
    """A report waits for its place, then a split message of two matters with no place (the question moves to it):
    staff 定位 of a part used to end the question, and the first report was never asked about again. Now the
    resident's notice asks for that report's place, and the next address places it."""
    first = numbers_in(wecom.send_text("two-matters-21", "单元楼下的消防栓一直在漏水，地上湿了一大片"))[0]
    reply = wecom.send_text("two-matters-21", "电梯间的灯不亮了，另外走廊里堆了好多纸箱没人清")
    lamp, bin_ = [number for number in dict.fromkeys(numbers_in(reply)) if number != first][:2]
    assert show(first, database_url)["state"] == "awaiting_place" and "地址" in reply, reply

    placed = wecom.send_text("hb-street-1", f"定位 {digits(bin_)} 湖景苑3栋")
    assert f"{bin_} 已定位到" in placed and lamp in placed, placed
    told = queued(db, "two-matters-21", "已登记", "湖景苑")
    assert len(told) == 1 and f"{first} 还缺少具体地址" in told[0], told
    answered = wecom.send_text("two-matters-21", "湖景苑3栋")
    assert first in answered and "已登记" in answered, answered
    assert (show(first, database_url)["state"], show(first, database_url)["unit"]) == ("pending", LAKE_UNIT)


@pytest.mark.parametrize(("joined", "lake", "sun"), [("和", 5, 3), ("跟", 7, 5), ("还有", 11, 7), ("同", 9, 9)])
def test_one_matter_at_two_places_becomes_a_case_per_place_each_routed_to_its_grid(wecom, db, database_url, joined,
                                                                                  lake, sun):
    """湖景苑5栋和阳光小区二期3栋都停水了 (和, 跟, 还有 or Cantonese 同 joining two full addresses): one case per place, each at its own
    building and in its own grid, both keeping the resident's whole words; one reply lists both numbers. Before, the
    two places were read alike and the resident was asked which of them."""
    text = f"湖景苑{lake}栋{joined}阳光小区二期{sun}栋都停水了，一整天了"
    before = count_cases(db)
    reply = wecom.send_text(f"two-places-{lake}", text)
    listed = dict(re.findall(r"^([12])\. (GB-\d{6})", reply, re.MULTILINE))
    assert count_cases(db) == before + 2 and len(listed) == 2 and "2处地点" in reply, reply
    lake_case, sun_case = show(listed["1"], database_url), show(listed["2"], database_url)
    assert (lake_case["state"], lake_case["unit"]) == ("pending", f"44199900100100300{(lake + 1) // 2}"), lake_case
    assert (sun_case["state"], sun_case["grid"], sun_case["unit"]) == (
        "pending", "441999001001002", f"44199900100100200{(sun + 1) // 2}"), sun_case
    with db() as session:
        assert set(session.scalars(select(Case.text).where(Case.id.in_([int(n[3:]) for n in listed.values()])))) == {text}
    assert queued(db, lake_case["assignee"], f"【新事项】{listed['1']}", f"湖景苑{lake}栋", f"另一件为 {listed['2']}")


def test_a_place_of_one_matter_at_two_places_that_needs_its_phase_is_asked_alone(wecom, database_url):
    """湖景苑5栋和阳光小区3栋都停水了: 湖景苑5栋's case is routed at once; 阳光小区3栋's (一期 or 二期, two grids) waits,
    asked which phase in the same reply, and the answer places it alone."""
    reply = wecom.send_text("two-places-asked", "湖景苑5栋和阳光小区3栋都停水了")
    listed = dict(re.findall(r"^([12])\. (GB-\d{6})", reply, re.MULTILINE))
    assert len(listed) == 2 and f"事项 {listed['2']}：请问是“" in reply and "哪一期" in reply, reply
    assert show(listed["1"], database_url)["unit"] == "441999001001003003"
    assert show(listed["2"], database_url)["state"] == "awaiting_place"
    assert listed["2"] in wecom.send_text("two-places-asked", "二期3栋")
    assert show(listed["2"], database_url)["unit"] == "441999001001002002"
    assert show(listed["1"], database_url)["unit"] == "441999001001003003"


def test_places_joined_without_numbers_are_listed_by_their_names(wecom, database_url):
    """荔枝湾和建设里都停电了: two estates of one grid, a case each at its estate; the reply lists each by its name, not
    the second with the words after it (“建设里都停电了”)."""
    reply = wecom.send_text("two-places-names", "荔枝湾和建设里都停电了，一个晚上了")
    listed = dict(re.findall(r"^([12])\. (GB-\d{6})", reply, re.MULTILINE))
    assert "“荔枝湾”" in reply and "“建设里”" in reply and len(listed) == 2, reply
    assert {show(number, database_url)["grid"] for number in listed.values()} == {"441999001001006"}


def test_two_phases_of_one_estate_joined_are_a_case_each_in_its_grid(wecom, database_url):
    """阳光小区一期11栋还有二期11栋都停水了: the second place names only another phase of the estate before it; a case
    at each, in the two phases' two grids. Before, the resident was asked which phase."""
    reply = wecom.send_text("two-phases", "阳光小区一期11栋还有二期11栋都停水了，一上午了")
    listed = dict(re.findall(r"^([12])\. (GB-\d{6})", reply, re.MULTILINE))
    assert len(listed) == 2 and "“阳光小区二期11栋”" in reply, reply
    assert [show(listed[n], database_url)["unit"] for n in "12"] == ["441999001001001006", "441999001001002006"]


def test_one_matter_of_two_at_places_joined_is_a_case_per_place_never_asked_with_the_other_matters_place(
        wecom, database_url):
    """金桂园门口的垃圾桶满了。另外湖景苑6栋和明湖新村9栋都停水了: two matters, the second at two places joined: the bins'
    case at 金桂园 and the water's a case at each of its two places, routed at once. Before, the water's case waited,
    asked which of 湖景苑, 明湖新村 and 金桂园 (the other matter's place), and one of its places was never reported."""
    reply = wecom.send_text("matter-and-places", "金桂园门口的垃圾桶满了，两天没人收。另外湖景苑6栋和明湖新村9栋都停水了，从早上到现在")
    listed = dict(re.findall(r"^([123])\. (GB-\d{6})", reply, re.MULTILINE))
    assert len(listed) == 3 and "请问" not in reply and "“湖景苑6栋”" in reply, reply
    assert [show(listed[n], database_url)["unit"] for n in "23"] == ["441999001001003003", "441999001001004005"]
    assert {show(listed[n], database_url)["state"] for n in "123"} == {"pending"}


@pytest.mark.parametrize(("userid", "text", "lamp_unit", "other"), [
    ("fixed-second-1", "阳光小区一期11栋的路灯坏了。另外湖景苑5栋，不对，是9栋门口垃圾桶满了好几天没人清理",
     "441999001001001006", ("环境卫生", "441999001001003005")),
    ("fixed-second-2", "阳光小区一期13栋门口的路灯坏了，晚上很黑。还有金桂园2栋，说错了，应该是4栋，楼道里堆满了杂物",
     "441999001001001007", ("消防安全", "441999001001003008"))])
def test_a_second_matter_whose_place_is_corrected_inside_it_is_a_case_of_its_own_at_the_corrected_place(
        wecom, db, database_url, userid, text, lamp_unit, other):
    """The second matter's place written, taken back (不对, 说错了) and written again before the matter itself: two cases,
    the lamp at its building, the other matter at the corrected one. Before, the second matter's first place went with
    the lamp (both asked which place) or the message stayed one case."""
    before = count_cases(db)
    numbers = numbers_in(wecom.send_text(userid, text))
    assert count_cases(db) == before + 2, numbers
    cases = [show(number, database_url) for number in numbers[:2]]
    assert [(case["category"], case["unit"]) for case in cases] == [("市政设施", lamp_unit), other], cases


@pytest.mark.parametrize(("userid", "text", "places"), [
    ("listed-1", "荔枝湾小区门口的垃圾桶满了，臭得很。另外湖景苑8栋、桃源居3栋、明湖新村10栋都停电了，一上午了",
     {"湖景苑8栋": "441999001001003004", "桃源居3栋": "441999001002004002", "明湖新村10栋": "441999001001004005"}),
    ("listed-2", "湖景苑3栋门口的垃圾桶满了，桃源居5栋、明湖新村12栋都停电了，一上午了",
     {"桃源居5栋": "441999001002004003", "明湖新村12栋": "441999001001004006"}),
    ("listed-3", "湖景苑11栋门口的垃圾桶满了。另外锦绣华庭、江南世家都停电了，一上午了",
     {"锦绣华庭": "441999001002006", "江南世家": "441999001002006"})], ids=["after-a-mark", "after-a-comma", "estates"])
def test_a_matter_at_places_listed_after_another_matter_is_a_case_at_each_of_them(wecom, database_url, userid, text,
                                                                                 places):
    """…垃圾桶满了。另外湖景苑8栋、桃源居3栋、明湖新村10栋都停电了 (or after a comma, or estates without numbers): the bins'
    case, and the power cut's a case at each place the list names. Before, the power cut's clause alone was not read
    as a report beside the listed places, and its cases were the bins' at each place; or the places listed before it
    (、 is one of the splitter's commas) went with the bins as their clauses and the power cut was one case; or the
    message was one report asked back."""
    reply = wecom.send_text(userid, text)
    listed = re.findall(r"^\d\. (GB-\d{6}) (\S+)：“(.*)”", reply, re.MULTILINE)
    assert len(listed) == 1 + len(places) and "请问" not in reply, reply
    assert [category for _, category, _ in listed] == ["环境卫生"] + ["市政设施"] * len(places), reply
    for number, _, where in listed[1:]:
        case = show(number, database_url)
        assert where in places and case["state"] == "pending", (where, case)
        assert places[where] in (case["unit"], case["grid"]), case  # a building, or an estate's grid
