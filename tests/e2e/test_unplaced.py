"""No report waits unseen for its place: a resident who never answers the address question has their report
handed to the street's staff after lifecycle.yaml's place_wait, and staff place it with 定位 N 地址.

Over the encrypted callback, on the demo district (no quiet hours); the clock is the CLI's `clock run`.
"""

from __future__ import annotations

import pytest

from tests.cli import cli_json
from tests.e2e.conftest import clock_after
from tests.e2e.worker_chat import digits, number_in, queued, show

LAMP = "路边的路灯坏了好几天，晚上一片漆黑"  # a sure 市政设施 with no place in it
STREET = "hb-street-1"  # 湖滨街道's staff (config/demo/district.yaml)
OTHER_STREET = "qs-street-1"


def unplaced_report(wecom, userid: str) -> str:
    reply = wecom.send_text(userid, LAMP)
    assert "请告诉我们具体地址" in reply, reply
    return number_in(reply)


def unit_of(database_url, grid_name_part: str) -> dict:
    """A demo unit whose grid code belongs to the grid named like `grid_name_part`'s first unit."""
    units = cli_json(["units", "--json"], database_url)
    return next(unit for unit in units if grid_name_part in unit["address"])


def test_a_report_left_without_a_place_goes_to_the_street_once(wecom, db, database_url, app_settings):
    number = unplaced_report(wecom, "up-silent")
    assert clock_after(database_url, app_settings, 20)["handed_over"] == 0  # the resident may still answer
    assert not queued(db, STREET, number)
    assert clock_after(database_url, app_settings, 31)["handed_over"] >= 1
    for staff in (STREET, OTHER_STREET):
        card = queued(db, staff, "待定位", number)
        assert len(card) == 1 and LAMP in card[0] and f"定位 {digits(number)}" in card[0], card
    told = queued(db, "up-silent", number, "还缺少具体地址")
    assert len(told) == 1, told
    assert clock_after(database_url, app_settings, 45)["handed_over"] == 0  # handed over once
    assert len(queued(db, STREET, "待定位", number)) == 1
    case = show(number, database_url)
    assert case["state"] == "awaiting_place" and case["events"][-1]["action"] == "hand_over_unplaced"


def test_street_staff_place_the_report_and_its_worker_and_resident_are_told(wecom, db, database_url, app_settings):
    number = unplaced_report(wecom, "up-placed")
    clock_after(database_url, app_settings, 31)
    unit = unit_of(database_url, "阳光小区")
    shown = wecom.send_text(STREET, f"查 {digits(number)}")  # staff may look at it
    assert number in shown and LAMP in shown, shown
    reply = wecom.send_text(STREET, f"定位 {digits(number)} {unit['address']}")
    assert f"{number} 已定位到" in reply and "已告知居民" in reply, reply
    case = show(number, database_url)
    assert (case["state"], case["unit"], case["grid"]) == ("pending", unit["code"], unit["grid"]), case
    assert case["assignee"] is not None
    assert queued(db, case["assignee"], "新事项", number)
    opened = queued(db, "up-placed", number, "已登记")
    assert len(opened) == 1 and unit["address"] in opened[0], opened
    again = wecom.send_text(STREET, f"定位 {digits(number)} {unit['address']}")
    assert "已有地点" in again and number in again, again


def test_a_worker_places_only_within_reach_and_only_a_known_address(wecom, database_url, app_settings):
    number = unplaced_report(wecom, "up-reach")
    far = unit_of(database_url, "滨江花园")  # another grid than demo-worker's
    refused = wecom.send_text("demo-worker", f"定位 {digits(number)} {far['address']}")
    assert "不在您负责的范围" in refused and number in refused, refused
    unknown = wecom.send_text("demo-worker", f"定位 {digits(number)} 火星基地9栋")
    assert "没有找到" in unknown and number in unknown, unknown
    assert show(number, database_url)["state"] == "awaiting_place"


def test_a_new_report_naming_its_own_place_is_not_taken_for_the_address(wecom, database_url, app_settings):
    number = unplaced_report(wecom, "up-new")
    reply = wecom.send_text("up-new", "湖景苑3栋门口的垃圾桶满了好几天没人清理，臭气熏天")
    second = number_in(reply)
    assert second != number, reply
    new = show(second, database_url)
    addresses = {unit["code"]: unit["address"] for unit in cli_json(["units", "--json"], database_url)}
    assert new["category"] == "环境卫生" and "湖景苑" in addresses[new["unit"]], new
    assert show(number, database_url)["state"] == "awaiting_place"  # the lamp's place is still unknown
    clock_after(database_url, app_settings, 31)  # asked once more; the next words may be its place
    unit = unit_of(database_url, "滨江花园")
    answer = wecom.send_text("up-new", unit["address"])
    assert number in answer and "已登记" in answer, answer
    assert show(number, database_url)["unit"] == unit["code"]


@pytest.mark.parametrize(("userid", "answer", "unit"), [("up-home", "湖景苑5栋，就是我家楼下", "441999001001003003"),
                                                       ("up-home-yue", "湖景苑7栋我屋企楼下嗰度", "441999001001003004")])
def test_an_address_answered_with_where_beside_it_places_the_report(wecom, database_url, userid, answer, unit):
    """湖景苑5栋，就是我家楼下 (Cantonese: 我屋企楼下嗰度) answers the address question: the words beside the place say
    where, they report no matter. Before, the classifier was asked about 就我家楼下 on its own, it offered other
    matters, and the answer was taken for a new report (its category asked) while the lamp kept waiting."""
    number = unplaced_report(wecom, userid)
    reply = wecom.send_text(userid, answer)
    assert number in reply and "已登记" in reply, reply
    case = show(number, database_url)
    assert (case["state"], case["unit"]) == ("pending", unit), case


def test_an_address_answer_that_makes_the_report_follow_a_neighbours_case_is_answered(wecom, database_url):
    """A neighbour reported the lamp at 湖景苑9栋; the report waiting for its place is placed there by 湖景苑9栋，就是我家
    楼下 and follows the neighbour's case (merged). Before, the words beside the place were then added to the merged
    case, which takes nothing more: the handler failed and the resident got no answer."""
    first = unplaced_report(wecom, "up-neighbour-1")
    assert first in wecom.send_text("up-neighbour-1", "湖景苑9栋")
    number = unplaced_report(wecom, "up-neighbour-2")
    reply = wecom.send_text("up-neighbour-2", "湖景苑9栋，就是我家楼下")
    assert reply is not None and number in reply, reply
    assert (show(number, database_url)["state"], show(number, database_url)["duplicate_of"]) == ("merged", first)


def test_staff_who_place_a_case_another_placed_first_are_told_it_is_done(wecom, db, database_url, app_settings):
    """Both streets' staff get the 【待定位】 card; the one who answers second (another street's) was told
    '您不是事项…的承办人，不能补充地址', as if they had done something wrong, not that the case needs nothing more."""
    number = number_in(wecom.send_text("up-twice", "楼道门口的垃圾堆了好多天没人管，苍蝇乱飞"))
    clock_after(database_url, app_settings, 31)
    assert queued(db, OTHER_STREET, "待定位", number)
    assert f"{number} 已定位到" in wecom.send_text(STREET, f"定位 {digits(number)} 湖景苑3号楼")
    late = wecom.send_text(OTHER_STREET, f"定位 {digits(number)} 湖景苑三栋楼下")
    assert number in late and "已由其他工作人员定位" in late and "承办人" not in late, late
    assert "湖景苑" not in late  # the place is for whoever may act on the case
    assert [e["action"] for e in show(number, database_url)["events"]].count("place") == 1


def test_words_saying_only_where_whose_matter_never_followed_are_forgotten(wecom, database_url, app_settings):
    """北门那边 sent alone waits for the matter that follows (handlers/conversation/where_first.py); when none followed
    within qr_arrival_window (2 hours), a report hours later is read on its own, not with those words. Last in the
    module: its clock passes run hours ahead."""
    assert "事项编号" not in wecom.send_text("up-where-forgotten", "北门那边")
    assert clock_after(database_url, app_settings, 110)["forgotten"] == 0
    assert clock_after(database_url, app_settings, 125)["forgotten"] >= 1
    number = unplaced_report(wecom, "up-where-forgotten")
    assert show(number, database_url)["text"] == LAMP
