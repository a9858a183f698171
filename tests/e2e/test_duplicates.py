"""Nothing wrongly merged: a duplicate needs alike words as well as place and category; a case that is
only suspected opens on its own, marked 疑似重复 for the worker; residents following a case may rate it.

Our own sentences, reported by residents bound to the same unit (so place and category always agree)."""

from __future__ import annotations

import re

import httpx
import pytest
from sqlalchemy import func, select

from models import Case
from tests.cli import cli_json
from tests.e2e.worker_chat import digits, number_in, queued, show

COVER = "5栋门口的井盖翘起来了，车一压就哐哐响"
LAMP = "5栋门口的路灯一到晚上就不亮"  # the same matter (市政设施) in the same building, another problem
CLUTTER = "楼道里堆满了纸箱和旧家具"
FIRE_LANE = "门口的消防通道被私家车堵死了"  # both 消防安全
BINS = "小区北门的垃圾桶好几天没人倒，臭得不行"
BINS_AGAIN = "小区北门垃圾桶几天没人倒了，太臭了"
DRILL = "楼上装修电钻噪音从早到晚"
DRILL_AGAIN = "楼上一直在装修，电钻声太吵了"  # alike, but not alike enough to be sure
# The same words about another spot of the same unit (the neighbours' unit holds buildings 5 and 6).
LIFT, OTHER_LIFT = "3单元的电梯又坏了，天天困人", "5单元的电梯又坏了，天天困人"
SHED, OTHER_SHED = "5栋楼顶有人搭了个铁皮棚子", "6栋楼顶有人搭了个铁皮棚子"
PARTY, OTHER_PARTY = "302室家里天天半夜唱歌跳舞吵得睡不着", "501室家里天天半夜唱歌跳舞吵得睡不着"
# Alike words about another thing: the stairwell's lamp is not the street lamp; the flat above each reporter's home.
STAIR_LAMP, STREET_LAMP = "楼道灯坏了，晚上黑漆漆的", "路灯坏了，晚上黑漆漆的"
UPSTAIRS, UPSTAIRS_TOO = "楼上天天装修，电钻声吵得人头疼", "楼上天天装修，电钻声吵得人头疼"
SOUTH_BINS, SOUTH_BINS_AGAIN = "小区南门的垃圾桶好几天没人倒，臭得不行", "小区南门垃圾桶几天没人倒了，太臭了"
YARD_BINS, YARD_BINS_AGAIN = "小区西边停车场的垃圾桶好几天没人倒，臭得不行", "小区西边停车场垃圾桶几天没人倒了，太臭了"
SHOP_BINS, SHOP_BINS_AGAIN = "小区西门超市旁的垃圾桶好几天没人倒，臭得不行", "小区西门超市旁垃圾桶几天没人倒了，太臭了"
GYM, GYM_AGAIN = "小区后门的健身器材坏了，单杠断了一根", "后门健身器材的单杠断了一根，太危险了"
BED_BINS, BED_BINS_AGAIN = "小区东边花坛旁的垃圾桶好几天没人倒，臭得不行", "小区东边花坛旁垃圾桶几天没人倒了，太臭了"
SHED_BINS, SHED_BINS_AGAIN = "小区东边车棚旁的垃圾桶好几天没人倒，臭得不行", "小区东边车棚旁垃圾桶几天没人倒了，太臭了"
PARCELS, PARCELS_AGAIN = "小区东门快递柜旁边的垃圾堆了好几天没人收", "东门快递柜边上的垃圾堆了几天没人收，太脏了"
COURT_BINS, COURT_BINS_AGAIN = "小区篮球场旁的垃圾桶好几天没人倒，臭得不行", "小区篮球场旁垃圾桶几天没人倒了，太臭了"
POOL_BINS, POOL_BINS_AGAIN = "小区水池边的垃圾桶好几天没人倒，臭得不行", "小区水池边垃圾桶几天没人倒了，太臭了"
GARDEN_BINS, GARDEN_BINS_AGAIN = "小区凉亭旁的垃圾桶好几天没人倒，臭得不行", "小区凉亭旁垃圾桶几天没人倒了，太臭了"
SWING_BINS, SWING_BINS_AGAIN = "小区秋千旁的垃圾桶好几天没人倒，臭得不行", "小区秋千旁垃圾桶几天没人倒了，太臭了"
SLIDE_BINS, SLIDE_BINS_AGAIN = "小区滑梯旁的垃圾桶好几天没人倒，臭得不行", "小区滑梯旁垃圾桶几天没人倒了，太臭了"


@pytest.fixture(scope="module")
def neighbours(wecom, database_url) -> list[str]:
    """Residents bound to one unit."""
    unit = cli_json(["units", "--json"], database_url)[2]
    users = [f"dup-{n}" for n in range(48)]
    for userid in users:
        assert "绑定" in wecom.send_text(userid, f"绑定 {unit['address']}")
    return users


def opened(wecom, userid: str, text: str) -> str:
    reply = wecom.send_text(userid, text)
    assert "事项编号" in reply and "已有人反映" not in reply, reply
    return number_in(reply)


@pytest.mark.parametrize(("first", "second", "users"), [(COVER, LAMP, (0, 1)), (CLUTTER, FIRE_LANE, (2, 3))])
def test_different_problems_in_one_building_stay_apart(wecom, database_url, neighbours, first, second, users):
    one = opened(wecom, neighbours[users[0]], first)
    other = opened(wecom, neighbours[users[1]], second)
    assert show(one, database_url)["category"] == show(other, database_url)["category"]
    case = show(other, database_url)
    assert case["state"] == "pending" and case["duplicate_of"] is None and case["suspect_of"] is None


def test_a_near_identical_report_follows_the_earlier_case_and_its_reporter_may_rate_it(
        wecom, db, database_url, neighbours):
    original = opened(wecom, neighbours[4], BINS)
    reply = wecom.send_text(neighbours[5], BINS_AGAIN)
    assert "已有人反映" in reply and original in reply
    linked = show(reply.split("登记为 ")[1][:9], database_url)
    assert (linked["state"], linked["duplicate_of"]) == ("merged", original)

    worker = show(original, database_url)["assignee"]
    assert "已接单" in wecom.send_text(worker, f"接单 {digits(original)}")
    wecom.send_text(worker, f"办结 {digits(original)} 垃圾已清运，桶已消毒")
    assert queued(db, neighbours[5], original, "请您评价")
    rated = wecom.send_text(neighbours[5], "1")
    assert "感谢您的评价" in rated and original in rated
    timeline = show(original, database_url)["events"]
    assert any(e["actor"] == neighbours[5] and "满意" in (e["note"] or "") for e in timeline)
    assert show(original, database_url)["state"] == "closed"  # the reporter's own rating is still to come


def test_a_follower_who_is_not_satisfied_is_not_promised_the_case_is_redone(wecom, db, database_url, neighbours):
    """Only the reporter's 不满意 reopens a case: a follower asked for the reason hears it goes to the worker."""
    original = opened(wecom, neighbours[28], BED_BINS)
    assert original in wecom.send_text(neighbours[29], BED_BINS_AGAIN)
    worker = show(original, database_url)["assignee"]
    wecom.send_text(worker, f"接单 {digits(original)}")
    wecom.send_text(worker, f"办结 {digits(original)} 垃圾已清运")
    asked = wecom.send_text(neighbours[29], "3")
    assert original in asked and "重新处理" not in asked and "网格员" in asked, asked
    told = wecom.send_text(neighbours[29], "桶边上还是很脏")
    assert "感谢您的评价" in told, told
    assert show(original, database_url)["state"] == "closed"


def test_a_follower_who_unlinks_while_asked_to_rate_leaves_that_case_and_its_question(
        wecom, database_url, neighbours):
    """取消关联 after the close notice asked the follower to rate: their next words are no longer put on the case they
    left (and told to its worker), nor is its number named to them."""
    original = opened(wecom, neighbours[30], SHED_BINS)
    assert original in wecom.send_text(neighbours[31], SHED_BINS_AGAIN)
    worker = show(original, database_url)["assignee"]
    wecom.send_text(worker, f"接单 {digits(original)}")
    wecom.send_text(worker, f"办结 {digits(original)} 垃圾已清运")
    assert "单独办理" in wecom.send_text(neighbours[31], "取消关联")
    reply = wecom.send_text(neighbours[31], "就在车棚旁边那个位置")
    assert original not in reply, reply
    assert not [e for e in show(original, database_url)["events"] if e["actor"] == neighbours[31]]


def _linked(wecom, first_userid: str, first: str, second_userid: str, second: str) -> tuple[str, str]:
    """A report and a neighbour's alike one linked to it: (the case, the neighbour's linked report)."""
    original = opened(wecom, first_userid, first)
    reply = wecom.send_text(second_userid, second)
    assert "已有人反映" in reply and original in reply, reply
    return original, reply.split("登记为 ")[1][:9]


@pytest.mark.parametrize(("words", "users", "pair"), [
    ("撤销", (32, 33), (COURT_BINS, COURT_BINS_AGAIN)),
    ("垃圾桶的事不用管了", (34, 35), (POOL_BINS, POOL_BINS_AGAIN)),
])
def test_a_follower_withdraws_their_linked_report_and_no_longer_follows_the_case(
        wecom, db, database_url, neighbours, words, users, pair):
    """A neighbour whose report was linked to another's case may take it back (撤销, or in words): offered their
    linked report, 1 withdraws it and they hear nothing more of the case, which goes on for its reporter. Before,
    撤销 answered 没有可以撤销的事项 and 垃圾桶的事不用管了 opened a new case of the rubbish bins."""
    reporter, follower = (neighbours[n] for n in users)
    original, linked = _linked(wecom, reporter, pair[0], follower, pair[1])
    offered = wecom.send_text(follower, words)
    assert linked in offered and "回复 1" in offered and "已登记" not in offered, offered
    withdrawn = wecom.send_text(follower, "1")
    assert "已撤销" in withdrawn and linked in withdrawn, withdrawn
    assert show(linked, database_url)["state"] == "withdrawn"
    worker = show(original, database_url)["assignee"]
    assert "已接单" in wecom.send_text(worker, f"接单 {digits(original)}")
    assert show(original, database_url)["state"] == "in_progress"
    assert queued(db, reporter, original, "接单") and not queued(db, follower, original, "接单")
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Case).where(Case.reporter_userid == follower)) == 1


def test_a_follower_withdraws_their_linked_report_by_the_number_of_the_case_it_follows(
        wecom, database_url, neighbours):
    """The duplicate reply names the case followed first: 撤销 with that number withdraws the follower's own linked
    report, never the neighbour's case. Before: 没有找到您反映的事项; with their own number: 已合并，无法撤销."""
    original, linked = _linked(wecom, neighbours[36], GARDEN_BINS, neighbours[37], GARDEN_BINS_AGAIN)
    withdrawn = wecom.send_text(neighbours[37], f"撤销 {digits(original)}")
    assert "已撤销" in withdrawn and linked in withdrawn, withdrawn
    assert (show(linked, database_url)["state"], show(original, database_url)["state"]) == ("withdrawn", "pending")


def _closed_and_asked_why(wecom, database_url, reporter: str, follower: str, pair: tuple[str, str]) -> str:
    """A case a neighbour follows, closed by its worker; the follower answered 不满意 and was asked why: the case."""
    original, _ = _linked(wecom, reporter, pair[0], follower, pair[1])
    worker = show(original, database_url)["assignee"]
    wecom.send_text(worker, f"接单 {digits(original)}")
    wecom.send_text(worker, f"办结 {digits(original)} 垃圾已清运")
    assert "原因" in wecom.send_text(follower, "不满意")
    return original


def test_a_follower_asked_why_not_satisfied_who_chases_is_asked_again_not_rated_with_the_chase(
        wecom, db, database_url, neighbours):
    """催一下 says why nothing: the follower hears where the case stands and is asked the reason again; the reason
    they then give is what the worker reads. Before, 催一下 was kept as the reason (不满意（催一下）)."""
    original = _closed_and_asked_why(wecom, database_url, neighbours[38], neighbours[39], (SWING_BINS, SWING_BINS_AGAIN))
    chased = wecom.send_text(neighbours[39], "麻烦再催一下")
    assert original in chased and "原因" in chased and "感谢您的评价" not in chased, chased
    assert "感谢您的评价" in wecom.send_text(neighbours[39], "桶边上还是一地烂菜叶")
    notes = [e["note"] for e in show(original, database_url)["events"] if e["actor"] == neighbours[39]]
    assert notes == ["关注该事项的居民评价：不满意（桶边上还是一地烂菜叶）"], notes


def test_a_follower_asked_why_who_chases_after_the_reporter_reopened_the_case_is_told_its_progress(
        wecom, db, database_url, neighbours):
    """The case's reporter answered 不满意 first: it is being redone, the follower's question about it is over, and
    their 催一下 is a chase its worker hears. Before, it was taken as the reason and answered 没有待评价的事项."""
    original = _closed_and_asked_why(wecom, database_url, neighbours[40], neighbours[41],
                                     (SLIDE_BINS, SLIDE_BINS_AGAIN))
    assert "重新交办" in wecom.send_text(neighbours[40], "不满意 桶还是满的")
    chased = wecom.send_text(neighbours[41], "催一下")
    assert original in chased and "没有待评价" not in chased and "重新办理" in chased, chased
    assert queued(db, show(original, database_url)["assignee"], original, "催一下")


def test_a_somewhat_alike_report_opens_marked_suspected_and_the_worker_merges_it_with_one_word(
        wecom, db, database_url, neighbours):
    first = opened(wecom, neighbours[6], DRILL)
    second = opened(wecom, neighbours[7], DRILL_AGAIN)
    case = show(second, database_url)
    assert case["suspect_of"] == first and case["state"] == "pending"
    hint = f"合并 {digits(second)} {digits(first)}"
    assert queued(db, case["assignee"], second, "疑似重复", hint)
    assert f"已并入 {first}" in wecom.send_text(case["assignee"], hint)
    merged = show(second, database_url)
    assert (merged["state"], merged["duplicate_of"]) == ("merged", first)


@pytest.mark.parametrize(("first", "second", "users"), [(LIFT, OTHER_LIFT, (8, 9)), (SHED, OTHER_SHED, (10, 11)),
                                                        (PARTY, OTHER_PARTY, (12, 13))])
def test_the_same_words_about_another_building_entrance_or_room_of_the_unit_stay_apart(
        wecom, database_url, neighbours, first, second, users):
    one = opened(wecom, neighbours[users[0]], first)
    other = opened(wecom, neighbours[users[1]], second)
    assert show(one, database_url)["category"] == show(other, database_url)["category"]
    case = show(other, database_url)
    assert case["state"] == "pending" and case["duplicate_of"] is None and case["suspect_of"] is None


def test_a_report_linked_to_a_case_its_reporter_withdraws_is_handled_on_its_own(wecom, db, database_url, neighbours):
    """The first reporter's 撤销 withdraws their own report, not the neighbour's that follows it: that one
    stands alone again, routed, and its reporter hears so with its number."""
    original = opened(wecom, neighbours[14], PARCELS)
    reply = wecom.send_text(neighbours[15], PARCELS_AGAIN)
    assert "已有人反映" in reply and original in reply
    follower = reply.split("登记为 ")[1][:9]
    assert "已撤销" in wecom.send_text(neighbours[14], f"撤销 {digits(original)}")
    case = show(follower, database_url)
    assert (case["state"], case["duplicate_of"]) == ("pending", None) and case["assignee"]
    assert queued(db, neighbours[15], follower, "单独办理")
    assert queued(db, case["assignee"], follower)


def test_the_progress_link_a_follower_is_given_rates_as_them_never_as_the_first_reporter(
        wecom, db, database_url, neighbours, app_url):
    """The page's rating buttons act for whoever the link was given to: a neighbour following the case rates
    it as a follower; they cannot reopen (or archive) it in the first reporter's name."""
    original = opened(wecom, neighbours[16], SHOP_BINS)
    assert original in wecom.send_text(neighbours[17], SHOP_BINS_AGAIN)
    worker = show(original, database_url)["assignee"]
    assert "已接单" in wecom.send_text(worker, f"接单 {digits(original)}")
    wecom.send_text(worker, f"办结 {digits(original)} 垃圾已清运")
    [closed] = queued(db, neighbours[17], original, "请您评价")
    page = re.search(r"/p/[\w-]+\.[\w-]+", closed).group(0)
    rated = httpx.post(f"{app_url}{page}/rate", data={"rating": "unsatisfied", "reason": "还是很臭"}, follow_redirects=True)
    assert rated.status_code == 200 and "感谢您的评价" in rated.text
    case = show(original, database_url)
    assert case["state"] == "closed"  # the first reporter's rating is still to come
    assert not [e for e in case["events"] if e["actor"] == neighbours[16] and e["action"] != "report"]
    assert any(e["actor"] == neighbours[17] and "还是很臭" in (e["note"] or "") for e in case["events"])


@pytest.mark.parametrize(("first", "second", "users"), [(STAIR_LAMP, STREET_LAMP, (18, 19)),
                                                        (UPSTAIRS, UPSTAIRS_TOO, (20, 21))])
def test_alike_words_about_another_thing_or_home_open_a_case_of_their_own_marked_for_the_worker(
        wecom, database_url, neighbours, first, second, users):
    """(Last in the module: the noise case would be the closest match of the earlier tests' drilling.)"""
    one = opened(wecom, neighbours[users[0]], first)
    other = opened(wecom, neighbours[users[1]], second)
    case = show(other, database_url)
    assert (case["state"], case["duplicate_of"], case["suspect_of"]) == ("pending", None, one)


def test_a_follower_can_look_up_the_case_they_follow_by_its_number_without_its_reporters_words(
        wecom, database_url, neighbours):
    """The duplicate reply names the case the report follows: 进度 with that number shows it (as the progress
    link does), not 'no such case'; nothing of the first reporter's own words."""
    original = opened(wecom, neighbours[22], SOUTH_BINS)
    assert original in wecom.send_text(neighbours[23], SOUTH_BINS_AGAIN)
    detail = wecom.send_text(neighbours[23], f"进度 {original}")
    assert original in detail and "没有找到" not in detail, detail
    assert "没人倒" not in detail and neighbours[22] not in detail
    assert "没有找到" in wecom.send_text(neighbours[0], f"进度 {original}")  # a neighbour who follows nothing


def test_a_report_placed_at_an_estate_is_not_merged_into_one_building_s_case(wecom):
    """湖景苑东门 (the estate, no building) and 湖景苑5栋门口 are two spots: alike words do not make the gate's bins
    the building's (the worker would go to 5栋 and the gate's bins stay full)."""
    opened(wecom, "dup-estate-1", "湖景苑5栋门口的垃圾桶满了好几天没人清理")
    opened(wecom, "dup-estate-2", "湖景苑东门的垃圾桶满了好几天没人清理")


def test_a_resident_who_says_their_report_is_another_matter_gets_it_handled_on_its_own(
        wecom, db, database_url, neighbours):
    """The duplicate reply says how to undo the link; 不是同一个问题 (or 取消关联) makes the report a case of its
    own, routed to a worker, and its reporter no longer hears of the other case."""
    original = opened(wecom, neighbours[24], YARD_BINS)
    reply = wecom.send_text(neighbours[25], YARD_BINS_AGAIN)
    assert "已有人反映" in reply and "取消关联" in reply
    follower = reply.split("登记为 ")[1][:9]
    undone = wecom.send_text(neighbours[25], "不是同一个问题")
    assert follower in undone and "单独办理" in undone, undone
    case = show(follower, database_url)
    assert (case["state"], case["duplicate_of"]) == ("pending", None) and case["assignee"]
    assert queued(db, case["assignee"], follower)
    assert "已接单" in wecom.send_text(case["assignee"], f"接单 {digits(original)}")
    assert not queued(db, neighbours[25], original, "接单")


def test_a_workers_note_reaches_followers_with_phone_numbers_and_names_masked(wecom, db, database_url, neighbours):
    """A note may name the reporter and their phone; the reporter reads it whole, residents following the case
    masked."""
    original = opened(wecom, neighbours[26], GYM)
    assert original in wecom.send_text(neighbours[27], GYM_AGAIN)
    worker = show(original, database_url)["assignee"]
    assert "已接单" in wecom.send_text(worker, f"接单 {digits(original)}")
    wecom.send_text(worker, f"进展 {digits(original)} 已联系反映人王建国13812345678，明早清运")
    assert queued(db, neighbours[26], original, "王建国13812345678")
    told = queued(db, neighbours[27], original, "明早清运")
    assert told and all("13812345678" not in text and "138****5678" in text for text in told), told
    assert all("王建国" not in text and "王**" in text for text in told), told


LEAVES = "绿化带里的落叶堆得老高，好几天没人扫"  # no place of its own: a resident bound nowhere is asked where
HALL_LAMP = "单元门口的声控灯坏了，晚上一片漆黑"


def test_a_report_placed_by_its_residents_answer_follows_a_neighbours_case_of_the_matter_there(
        wecom, database_url, neighbours):
    """A report waiting for its address was routed when the resident gave it and never compared: a second case of
    the neighbour's open case, for the same worker. Placed, it is compared as a report arriving placed is."""
    unit = cli_json(["units", "--json"], database_url)[2]
    original = opened(wecom, neighbours[0], LEAVES)
    assert "地址" in wecom.send_text("dup-unplaced-1", LEAVES)
    reply = wecom.send_text("dup-unplaced-1", unit["address"])
    assert "已有人反映" in reply and original in reply, reply
    linked = show(number_in(reply.split("登记为 ")[1]), database_url)
    assert (linked["state"], linked["duplicate_of"]) == ("merged", original)


def test_a_report_placed_by_staff_follows_a_neighbours_case_and_its_resident_hears_which(
        wecom, db, database_url, neighbours):
    unit = cli_json(["units", "--json"], database_url)[2]
    original = opened(wecom, neighbours[1], HALL_LAMP)
    waiting = number_in(wecom.send_text("dup-unplaced-2", HALL_LAMP))
    wecom.send_text("hb-street-1", f"定位 {digits(waiting)} {unit['address']}")
    assert show(waiting, database_url)["duplicate_of"] == original
    [told] = queued(db, "dup-unplaced-2", waiting)
    assert "已有人反映" in told and original in told, told


KIOSK_BINS = "小区东门岗亭旁的垃圾桶满了没人收"
KIOSK_BINS_PRESSED = "小区东门岗亭旁垃圾桶满了！！！！麻烦尽快处理，谢谢🙏🙏"  # the same matter, pressed and thanked


def test_a_neighbours_report_pressed_with_exclamation_marks_emoji_and_pleas_follows_the_case(
        wecom, database_url, neighbours):
    """Urging and thanks (麻烦尽快处理，谢谢) say nothing of what is wrong: the neighbour's report follows the open case
    as it does without them. Before, 尽快 was read as its matter (垃圾桶满没人收 / 垃圾桶满尽快) and the report opened a
    case of its own."""
    original, linked = _linked(wecom, neighbours[42], KIOSK_BINS, neighbours[43], KIOSK_BINS_PRESSED)
    assert show(linked, database_url)["duplicate_of"] == original


@pytest.mark.parametrize(("first", "second", "users"), [
    ("电梯里的按钮按了没反应，好几天了", "电梯按键没反应好几天了", (44, 45)),  # 按钮 = 按键 (commands.yaml same_things)
    ("儿童乐园沙坑边的垃圾桶满啦，好臭哦", "儿童乐园沙坑边垃圾桶满了，超臭", (46, 47)),  # 啦, 哦: sentence particles
])
def test_a_neighbour_naming_the_thing_in_another_word_or_with_particles_follows_the_case(
        wecom, database_url, neighbours, first, second, users):
    """The lift's 按钮 and its 按键 are one thing, and 啦/哦 say nothing of what is wrong; before, each read as something
    the other report did not say (按钮按 / 按键, 哦好臭 / 超臭) and the neighbour's report opened a case of its own."""
    original, linked = _linked(wecom, neighbours[users[0]], first, neighbours[users[1]], second)
    assert show(linked, database_url)["duplicate_of"] == original
