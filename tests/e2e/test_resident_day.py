"""A resident's day with several cases open: everyday words asking after one of them, withdrawing one, or saying
it is still not fixed land on the case they mean, never on another nor on a new case; when the words do not say
which, the resident is asked.

Over the encrypted callback; every sentence here is our own."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

import pytest
from sqlalchemy import func, select

from models import Case, Resident
from tests.e2e.test_resident_voices import kf_resident, said
from tests.e2e.worker_chat import digits, number_in, queued, report, show

# Each resident lives in a building of their own (one per unit), so no report is taken for a neighbour's.
LAMP = "明湖新村{}栋单元门口那盏路灯坏了，晚上黑乎乎的"
BINS = "明湖新村{}栋后面的垃圾桶满出来了，味道很大"


def bound(wecom, userid: str, building: int) -> tuple[str, str, str]:
    """A new resident bound to 明湖新村`building`栋: (userid, their lamp report, their bins report)."""
    assert "已绑定" in wecom.send_text(userid, f"绑定 明湖新村{building}栋")
    return userid, LAMP.format(building), BINS.format(building)


def cases_of(db, userid: str) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(Case).where(Case.reporter_userid == userid))


def test_asking_after_the_lamp_names_the_lamp_case_and_opens_nothing(wecom, db, database_url):
    resident, lamp_words, bins_words = bound(wecom, "day-asker", 1)
    lamp, bins = report(wecom, lamp_words, resident), report(wecom, bins_words, resident)
    reply = wecom.send_text(resident, "路灯那事现在怎么样了？")
    assert lamp in reply and bins not in reply, reply
    assert cases_of(db, resident) == 2
    worker = show(lamp, database_url)["assignee"]
    assert queued(db, worker, lamp, "路灯那事现在怎么样了"), "the worker hears that the resident asked"


def test_a_chase_that_names_nothing_with_two_cases_open_asks_which(wecom, db, database_url):
    resident, lamp_words, bins_words = bound(wecom, "day-chaser", 3)
    lamp, bins = report(wecom, lamp_words, resident), report(wecom, bins_words, resident)
    before = [len(show(number, database_url)["events"]) for number in (lamp, bins)]
    reply = wecom.send_text(resident, "上回跟你们讲的到现在还没修呢")
    assert lamp in reply and bins in reply and "路灯" in reply and "垃圾桶" in reply, reply
    assert "进度" in reply  # how to pick one
    assert [len(show(number, database_url)["events"]) for number in (lamp, bins)] == before
    assert cases_of(db, resident) == 2


def test_a_chase_with_one_case_open_goes_to_it(wecom, db, database_url):
    resident, lamp_words, _ = bound(wecom, "day-one-case", 5)
    lamp = report(wecom, lamp_words, resident)
    reply = wecom.send_text(resident, "麻烦再催催")
    assert lamp in reply and "待接单" in reply, reply  # where it stands
    assert cases_of(db, resident) == 1
    assert show(lamp, database_url)["events"][-1]["note"] == "麻烦再催催"


def test_withdrawing_the_bins_in_words_asks_to_confirm_that_case_and_withdraws_only_it(wecom, db, database_url):
    resident, lamp_words, bins_words = bound(wecom, "day-withdrawer", 7)
    lamp, bins = report(wecom, lamp_words, resident), report(wecom, bins_words, resident)
    asked = wecom.send_text(resident, "撤销垃圾桶那个")
    assert bins in asked and lamp not in asked and "回复 1" in asked, asked
    assert cases_of(db, resident) == 2
    assert "已撤销" in wecom.send_text(resident, "1")
    assert (show(bins, database_url)["state"], show(lamp, database_url)["state"]) == ("withdrawn", "pending")


def test_saying_one_matter_needs_nothing_any_more_offers_to_withdraw_that_case(wecom, db, database_url):
    resident, lamp_words, bins_words = bound(wecom, "day-sorted-it", 9)
    lamp, bins = report(wecom, lamp_words, resident), report(wecom, bins_words, resident)
    asked = wecom.send_text(resident, "路灯的事不用管了，物业已经找人弄好了")
    assert lamp in asked and bins not in asked and "回复 1" in asked, asked
    assert [e["action"] for e in show(bins, database_url)["events"]] == ["report"]
    assert "已撤销" in wecom.send_text(resident, "好的")
    assert (show(lamp, database_url)["state"], show(bins, database_url)["state"]) == ("withdrawn", "pending")


def test_a_bare_withdraw_with_two_cases_lists_each_with_the_residents_words(wecom, database_url):
    resident, lamp_words, bins_words = bound(wecom, "day-bare-withdraw", 11)
    lamp, bins = report(wecom, lamp_words, resident), report(wecom, bins_words, resident)
    listed = wecom.send_text(resident, "撤销")
    assert f"{lamp} 市政设施 待接单：明湖新村11栋单元门口" in listed and "垃圾桶" in listed, listed


def closed_by_its_worker(wecom, database_url, number: str) -> None:
    worker = show(number, database_url)["assignee"]
    assert "已接单" in wecom.send_text(worker, f"接单 {number}")
    assert "已办结" in wecom.send_text(worker, f"办结 {number} 已经处理")


def test_saying_it_is_still_broken_when_asked_to_rate_stays_on_that_case_and_3_reopens_it_with_those_words(
        wecom, db, database_url):
    resident, lamp_words, bins_words = bound(wecom, "day-still-dark", 13)
    lamp, bins = report(wecom, lamp_words, resident), report(wecom, bins_words, resident)
    closed_by_its_worker(wecom, database_url, lamp)
    kept = wecom.send_text(resident, "还是不亮啊，跟原来一模一样")
    assert lamp in kept and bins not in kept and "3" in kept, kept
    assert [e["action"] for e in show(bins, database_url)["events"]] == ["report"]
    assert queued(db, show(lamp, database_url)["assignee"], lamp, "跟原来一模一样")
    assert "重新交办" in wecom.send_text(resident, "3")
    case = show(lamp, database_url)
    assert (case["state"], case["events"][-1]["action"], case["events"][-1]["note"]) == (
        "in_progress", "reopen", "还是不亮啊，跟原来一模一样")


def test_the_progress_list_tells_two_cases_of_one_matter_apart_by_the_residents_words(wecom):
    resident, lamp_words, _ = bound(wecom, "day-two-lamps", 15)
    lamp = report(wecom, lamp_words, resident)
    cover = report(wecom, "明湖新村15栋楼前的井盖裂开了，车一压就响", resident)
    listed = wecom.send_text(resident, "进度")
    assert "明湖新村15栋单元门口" in listed.split(lamp)[1].split("\n")[0], listed
    assert "井盖" in listed.split(cover)[1].split("\n")[0], listed


def test_a_resident_who_says_they_moved_is_offered_the_new_address_and_keeps_their_old_case(wecom, db, database_url):
    resident, _, bins_words = bound(wecom, "day-mover", 17)
    bins = report(wecom, bins_words, resident)
    offered = wecom.send_text(resident, "我们家搬到金桂园5栋了")
    assert "金桂园5-6栋" in offered and "回复 1" in offered and "GB-" not in offered, offered
    assert [e["action"] for e in show(bins, database_url)["events"]] == ["report"]
    assert cases_of(db, resident) == 1
    assert "已绑定" in wecom.send_text(resident, "对")
    placed = wecom.send_text(resident, "楼下的垃圾桶满出来了，没人收")
    assert "金桂园5-6栋" in placed, placed
    assert bins in wecom.send_text(resident, "进度")  # the old home's case is still theirs


def test_a_letter_saying_another_matter_is_still_not_solved_is_a_report_of_its_own(wecom, db):
    """A long letter holding 还没解决 and words of the resident's open case is a new report, not a chase."""
    resident, lamp_words, _ = bound(wecom, "day-letter", 19)
    report(wecom, lamp_words, resident)
    letter = ("明湖新村19栋旁边的小公园晚上路灯下总有人聚集打牌喝酒大声喧哗，一直闹到凌晨一两点，"
              "老人孩子都睡不好，找物业说了好几次，到现在还没解决，到底有没有人管")
    assert "事项编号" in wecom.send_text(resident, letter)
    assert cases_of(db, resident) == 2


@pytest.mark.parametrize(("userid", "said"), [("day-who", "你们是谁啊？"), ("day-how-long", "这个要多久？"),
                                              ("day-hello", "您好")])
def test_a_question_or_greeting_while_the_address_is_asked_is_not_taken_for_a_wrong_address(
        wecom, database_url, userid, said):
    asked = wecom.send_text(userid, "楼道里的声控灯坏了好多天了，上下楼摸黑")
    number = asked.split("事项编号 ")[1][:9]
    assert show(number, database_url)["state"] == "awaiting_place"
    reply = wecom.send_text(userid, said)
    assert "没有找到" not in reply and number in reply and "地址" in reply, reply
    assert number in wecom.send_text(userid, "湖景苑9栋")
    assert show(number, database_url)["state"] != "awaiting_place"  # placed (after the first, following its case)


@pytest.mark.parametrize(("userid", "said"), [("day-correcting", "说错了，是湖景苑9栋"), ("day-adding", "补充 湖景苑9栋")])
def test_an_address_sent_with_a_correction_word_while_the_address_is_asked_places_the_case(
        wecom, database_url, userid, said):
    """补充 / 说错了 before the address asked for: the case is placed, not left waiting with the address as a note."""
    number = wecom.send_text(userid, "楼道里的声控灯坏了好多天了，上下楼摸黑").split("事项编号 ")[1][:9]
    reply = wecom.send_text(userid, said)
    case = show(number, database_url)
    assert case["state"] != "awaiting_place" and case["unit"] is not None, (reply, case)  # placed (perhaps linked)
    assert number in reply and "补充" not in reply, reply


def test_a_question_while_the_category_is_asked_keeps_the_choices_and_the_report(wecom, db, database_url):
    asked = wecom.send_text("day-impatient", "那边的东西又坏掉了")
    choices = [line for line in asked.splitlines() if line[:1].isdigit()]
    assert "哪一类" in asked and len(choices) >= 2, asked
    again = wecom.send_text("day-impatient", "你们多久能来？")
    assert [line for line in again.splitlines() if line[:1].isdigit()] == choices, again
    number = wecom.send_text("day-impatient", "1").split("事项编号 ")[1][:9]
    assert show(number, database_url)["category"] == choices[0].split(" ")[1].partition("（")[0]
    with db() as session:
        assert session.scalars(select(Case.text).where(Case.reporter_userid == "day-impatient")).all() == [
            "那边的东西又坏掉了"]


def test_a_family_member_whose_report_was_linked_asks_after_it_and_gets_the_shared_case_not_a_new_one(wecom, db):
    """Two of one home report the same bins; the second, linked to the first's case, later asks after it."""
    for userid in ("day-mother", "day-son"):
        assert "已绑定" in wecom.send_text(userid, "绑定 湖景苑11栋")
    shared = report(wecom, "湖景苑11栋楼下的垃圾桶三天没人清了，臭气熏天", "day-mother")
    linked = wecom.send_text("day-son", "湖景苑11栋楼下垃圾桶三天没清了，太臭了")
    assert "已有人反映" in linked and shared in linked, linked
    reply = wecom.send_text("day-son", "垃圾桶那事怎么样了？")
    assert shared in reply and "事项编号" not in reply, reply
    assert "三天没人清了，臭气熏天" not in reply  # the other reporter's words stay theirs
    assert cases_of(db, "day-son") == 1


def test_withdraw_with_a_particle_after_it_asks_to_confirm_the_one_open_case(wecom, database_url):
    resident = "day-particle"
    assert "已绑定" in wecom.send_text(resident, "绑定 湖景苑1栋")
    bins = report(wecom, "湖景苑1栋楼后的化粪池冒水了，味道很冲", resident)
    asked = wecom.send_text(resident, "撤销吧")
    assert bins in asked and "回复 1" in asked, asked
    assert "已撤销" in wecom.send_text(resident, "1")
    assert show(bins, database_url)["state"] == "withdrawn"


def test_a_bare_number_with_nothing_asked_is_answered_and_kept_off_the_open_case(wecom, db, database_url):
    """A 2 right after a short report was added to it (【居民补充材料】… 说明：2 for its worker); a 2 later was asked
    back as a report of its own."""
    resident = "day-digit"
    assert "已绑定" in wecom.send_text(resident, "绑定 荔枝湾小区1栋")
    lamp = report(wecom, "楼下路灯坏了", resident)
    for digit in ("2", "３"):
        reply = wecom.send_text(resident, digit)
        assert lamp in reply and f"进度 {digits(lamp)}" in reply and "哪一类" not in reply, reply
    assert [e["action"] for e in show(lamp, database_url)["events"]] == ["report"]
    assert not queued(db, show(lamp, database_url)["assignee"], "说明：2")
    assert cases_of(db, resident) == 1


def test_thanks_saying_the_lamp_is_fixed_while_it_is_asked_back_is_no_piece_of_the_report(wecom, db, database_url):
    """灯修好了，谢谢师傅 was joined to the waiting report (楼下的灯 灯修好了，谢谢师傅); now it is thanked, the question
    stands with how to say the report needs nothing, and the answer opens the report in its own words."""
    resident = "day-fixed-thanks"
    assert "已绑定" in wecom.send_text(resident, "绑定 荔枝湾小区3栋")
    assert "哪一类" in wecom.send_text(resident, "楼下的灯")
    reply = wecom.send_text(resident, "灯修好了，谢谢师傅")
    assert "不客气" in reply and "哪一类" in reply and "不用了" in reply, reply
    number = wecom.send_text(resident, "1").split("事项编号 ")[1][:9]
    assert show(number, database_url)["text"] == "楼下的灯"


@pytest.mark.parametrize(("userid", "said"), [("day-never-mind-1", "不需要了"), ("day-never-mind-2", "不用了"),
                                              ("day-never-mind-3", "算了")])
def test_never_mind_with_nothing_open_is_answered_politely_and_opens_nothing(wecom, db, userid, said):
    """不需要了 with no case was asked back as a report (哪一类？ 住房建设、教育…); 不用了 and 算了 got the whole help."""
    reply = wecom.send_text(userid, said)
    assert reply.startswith("好的") and "哪一类" not in reply and "有事您说" not in reply, reply
    assert "收到“1”" in wecom.send_text(userid, "1")  # nothing asked is left waiting
    assert cases_of(db, userid) == 0


def test_never_mind_while_a_report_is_asked_back_does_not_register_it(wecom, db):
    resident = "day-take-back"
    assert "已绑定" in wecom.send_text(resident, "绑定 荔枝湾小区5栋")
    assert "哪一类" in wecom.send_text(resident, "楼下的灯")
    reply = wecom.send_text(resident, "算了，不用了")
    assert "不再登记" in reply and "楼下的灯" in reply, reply
    assert "收到“1”" in wecom.send_text(resident, "1")
    assert cases_of(db, resident) == 0


def test_asking_after_a_case_closed_and_rated_answers_with_it_and_opens_nothing(wecom, db, database_url):
    """上次那个垃圾桶的事处理得怎么样了 about an archived case opened a new 环境卫生 case with those words: only open cases
    and cases waiting for a rating were looked at."""
    resident, _, bins_words = bound(wecom, "day-asks-old", 2)
    bins = report(wecom, bins_words, resident)
    closed_by_its_worker(wecom, database_url, bins)
    assert "已归档" in wecom.send_text(resident, "1")
    reply = wecom.send_text(resident, "上次那个垃圾桶的事处理得怎么样了")
    assert bins in reply and "已归档" in reply and "事项编号" not in reply, reply
    assert cases_of(db, resident) == 1


def test_thanks_naming_a_case_already_closed_is_thanked_and_opens_nothing(wecom, db, database_url):
    """路灯的事谢谢你们 after the lamp's case was archived opened a new 市政设施 case with those words; 灯修好了，谢谢师傅
    got the whole help."""
    resident = "day-grateful"
    assert "已绑定" in wecom.send_text(resident, "绑定 荔枝湾小区7栋")
    lamp = report(wecom, "荔枝湾小区7栋门口的路灯坏了，晚上很黑", resident)
    closed_by_its_worker(wecom, database_url, lamp)
    assert "已归档" in wecom.send_text(resident, "1")
    thanked = wecom.send_text(resident, "路灯的事谢谢你们")
    assert thanked.startswith("不客气") and lamp in thanked and "事项编号" not in thanked, thanked
    assert wecom.send_text(resident, "燈修好了，謝謝師傅").startswith("不客气")
    assert cases_of(db, resident) == 1


def test_asking_for_my_cases_in_words_lists_them_and_adds_nothing_to_the_open_one(wecom, database_url):
    """查一下我的事项 was added to the open case as more of it (【居民补充材料】… 说明：查一下我的事项)."""
    resident = "day-my-cases"
    assert "已绑定" in wecom.send_text(resident, "绑定 荔枝湾小区9栋")
    lamp = report(wecom, "荔枝湾小区9栋门口的路灯坏了，晚上很黑", resident)
    listed = wecom.send_text(resident, "查一下我的事项")
    assert lamp in listed and "补充" not in listed, listed
    assert [e["action"] for e in show(lamp, database_url)["events"]] == ["report"]


def test_saying_that_lamp_is_out_again_while_its_case_is_open_chases_it(wecom, db, database_url):
    """还是那个路灯，又不亮了 opened a second case of the lamp the resident's open case is about."""
    resident = "day-again"
    assert "已绑定" in wecom.send_text(resident, "绑定 荔枝湾小区11栋")
    lamp = report(wecom, "荔枝湾小区11栋门口的路灯坏了，晚上很黑", resident)
    reply = wecom.send_text(resident, "还是那个路灯，又不亮了")
    assert lamp in reply and "事项编号" not in reply, reply
    assert cases_of(db, resident) == 1
    assert queued(db, show(lamp, database_url)["assignee"], lamp, "又不亮了")


def test_a_report_that_says_the_resident_moved_is_opened_where_it_says(wecom, db):
    """我搬到金桂园3栋后发现… was taken for a move only: the resident was offered to bind the address, and the report
    was never opened (its 1 bound the address)."""
    reply = wecom.send_text("day-moved-in", "我搬到金桂园3栋后发现楼下垃圾桶一直没人清理，臭死了")
    assert "事项编号" in reply and "金桂园3-4栋" in reply, reply
    assert cases_of(db, "day-moved-in") == 1


@pytest.mark.parametrize(("userid", "said"), [("day-opener-1", "有个事想问一下"), ("day-opener-2", "你好，我想反映個問題"),
                                              ("day-opener-3", "我要投诉")])
def test_saying_there_is_something_to_report_asks_to_go_ahead_and_opens_nothing(wecom, db, userid, said):
    """有个事想问一下 was asked back as a report (社会救助? 安全生产? 税务?) and, unanswered, opened as a case of those
    words; the others got the whole help."""
    reply = wecom.send_text(userid, said)
    assert "请说" in reply and "哪一类" not in reply and "有事您说" not in reply, reply
    assert "收到“1”" in wecom.send_text(userid, "1")  # nothing asked is left waiting
    assert cases_of(db, userid) == 0


def test_saying_the_lamp_is_still_out_when_asked_to_rate_stays_on_its_case_even_as_a_clear_report(
        wecom, db, database_url):
    """路灯还是不亮 after the lamp's close notice is a clear report of a lamp: it opened a second case (a 回头件 of
    the one still waiting for its rating) instead of staying on the case whose rating it answers."""
    resident = "day-still-out"
    assert "已绑定" in wecom.send_text(resident, "绑定 滨江花园一期1栋")
    lamp = report(wecom, "滨江花园一期1栋门口的路灯坏了，晚上很黑", resident)
    closed_by_its_worker(wecom, database_url, lamp)
    kept = wecom.send_text(resident, "路灯还是不亮")
    assert lamp in kept and "事项编号" not in kept, kept
    assert "重新交办" in wecom.send_text(resident, "3")
    assert show(lamp, database_url)["state"] == "in_progress"
    assert cases_of(db, resident) == 1


def test_a_number_not_offered_when_asked_to_rate_asks_again_and_stays_off_the_case(wecom, db, database_url):
    """4 answering 请您评价 (1, 2 or 3) was put on the closed case as the resident's words for its worker."""
    resident = "day-rates-4"
    assert "已绑定" in wecom.send_text(resident, "绑定 滨江花园一期3栋")
    lamp = report(wecom, "滨江花园一期3栋门口的路灯坏了，晚上很黑", resident)
    closed_by_its_worker(wecom, database_url, lamp)
    before = show(lamp, database_url)["events"]
    asked = wecom.send_text(resident, "4")
    assert lamp in asked and "1 满意" in asked and "记入" not in asked, asked
    assert show(lamp, database_url)["events"] == before
    assert "感谢您的评价" in wecom.send_text(resident, "1")


def test_a_resident_asking_their_bound_address_or_saying_only_they_moved_is_answered_not_asked_back(wecom, db):
    """我绑定的地址是哪里 was asked back as a report (食品安全? 医疗卫生?) and, unanswered, would open a case of those
    words; 我搬家了 got the whole help instead of the question where to."""
    resident = "day-where-home"
    assert "已绑定" in wecom.send_text(resident, "绑定 滨江花园一期5栋")
    told = wecom.send_text(resident, "我绑定的地址是哪里")
    assert "滨江花园一期5-6栋" in told and "哪一类" not in told, told
    asked = wecom.send_text(resident, "我搬家了")
    assert "新地址" in asked and "绑定" in asked and "有事您说" not in asked, asked
    assert "收到“1”" in wecom.send_text(resident, "1")  # nothing asked is left waiting
    assert cases_of(db, resident) == 0


def test_a_phone_number_sent_alone_is_kept_as_the_residents_contact_on_their_open_case(wecom, db, database_url):
    """13812345678 (or 电话13812345678) after a report got the help text and the number was lost: it is the resident's
    contact now, on their open case for its worker; the grid's group chat never reads it unmasked."""
    resident = "day-phone"
    assert "已绑定" in wecom.send_text(resident, "绑定 建设里1栋")
    lamp = report(wecom, "建设里1栋门口的路灯坏了，晚上很黑", resident)
    kept = wecom.send_text(resident, "13812345678")
    assert lamp in kept and "138****5678" in kept and "有事您说" not in kept, kept
    worker = show(lamp, database_url)["assignee"]
    assert queued(db, worker, lamp, "13812345678")
    with db() as session:
        assert session.scalars(select(Resident.phone).where(Resident.userid == resident)).one() == "13812345678"
        group = session.get(Case, int(digits(lamp))).grid.chat_id
    assert "已接单" in wecom.send_text(worker, f"接单 {digits(lamp)}")
    assert queued(db, group, lamp) and not queued(db, group, "13812345678")
    assert cases_of(db, resident) == 1

    alone = wecom.send_text("day-phone-no-case", "我的电话是139 8765 4321")
    assert "139****4321" in alone and "有事您说" not in alone, alone
    assert cases_of(db, "day-phone-no-case") == 0


def test_a_report_that_says_the_resident_moved_then_offers_to_bind_the_new_address(wecom, db, database_url):
    """我搬到金桂园5栋后发现楼道灯坏了 opened the case there but never offered to bind the new address, as the move said
    alone does: the offer follows the case's reply, and 1 binds it."""
    resident = "day-moved-reports"
    assert "已绑定" in wecom.send_text(resident, "绑定 建设里3栋")
    reply = wecom.send_text(resident, "我搬到金桂园5栋后发现楼道灯坏了，晚上上楼看不见")
    assert "事项编号" in reply and "金桂园5-6栋吗？回复 1" in reply, reply
    assert "已绑定" in wecom.send_text(resident, "1")
    with db() as session:
        home = session.scalars(select(Resident).where(Resident.userid == resident)).one().unit.address
    assert home.endswith("金桂园5-6栋") and cases_of(db, resident) == 1


STAIRWELL = "桃源居{}栋楼道灯坏了，晚上上下楼看不见"  # 桃源居: no other test reports there


def reported_hours_ago(wecom, fake_wecom, db, database_url, channel: str, userid: str, building: int,
                       taken: bool) -> tuple[str, str, object]:
    """A stairwell lamp reported this morning by a new resident on `channel` (app, or 微信客服 kf), taken by its
    worker when `taken`: (number, the resident's gridbot userid, a function sending their words and returning
    gridbot's answer)."""
    if channel == "kf":
        resident, userid = kf_resident(fake_wecom, wecom, userid)
        say = partial(said, resident)
    else:
        say = partial(wecom.send_text, userid)
    number = number_in(say(STAIRWELL.format(building)))
    if taken:
        assert "已接单" in wecom.send_text(show(number, database_url)["assignee"], f"接单 {digits(number)}")
        if channel == "kf":  # the notice that it was taken reaches them first
            fake_wecom.wait_for(lambda: [text for text in resident.received() if "已由" in text])
    with db.begin() as session:
        session.get(Case, int(digits(number))).created_at -= timedelta(hours=6)
    return number, userid, say


@pytest.mark.parametrize(("channel", "taken", "building", "words"), [
    ("app", False, 1, "楼道的灯到现在还是黑的"),
    ("kf", False, 3, "你们怎么还不来修楼道灯啊"),
    ("app", True, 5, "{}栋楼道灯坏了一整天了还没人来修"),
    ("kf", True, 7, "桃源居{}栋楼道灯还是不亮"),
    ("kf", False, 9, "楼道灯又不亮了"),
])
def test_the_same_matter_said_again_while_the_residents_case_is_open_chases_that_case(
        wecom, fake_wecom, db, database_url, channel, taken, building, words):
    """Hours after 桃源居N栋楼道灯坏了, the stairwell lamp said to be still (or again) dark while the case is open
    was asked back its category (楼道的灯到现在还是黑的), opened a second case waiting for a place (…还没人来修), or
    got the help text (你们怎么还不来修楼道灯啊). It chases the open case: the resident is told its number and state,
    its worker hears the words as a chase, and no case is opened."""
    number, userid, say = reported_hours_ago(wecom, fake_wecom, db, database_url, channel,
                                             f"wmDayChase{building:02d}" if channel == "kf" else f"day-chase-{building}",
                                             building, taken)
    answer = say(words.format(building))
    assert number in answer and ("处置中" if taken else "待接单") in answer, answer
    assert "事项编号" not in answer and "哪一类" not in answer, answer
    assert cases_of(db, userid) == 1
    assert queued(db, show(number, database_url)["assignee"], "【居民催问】", number, words.format(building))


@pytest.mark.parametrize(("building", "words", "said_of"), [
    (11, "桃源居{}栋楼道里堆满了纸箱，一直没人清", 11),  # another matter of the same stairwell
    (13, "桃源居{}栋门口的垃圾桶还是满的", 13),  # another thing at the same building
    (15, "桃源居{}栋楼道灯还是不亮", 18),  # the same thing at another building (not of the case's unit)
])
def test_another_matter_or_the_same_thing_elsewhere_from_a_resident_with_a_case_open_is_no_chase(
        wecom, fake_wecom, db, database_url, building, words, said_of):
    number, userid, say = reported_hours_ago(wecom, fake_wecom, db, database_url, "app",
                                             f"day-not-a-chase-{building}", building, False)
    answer = say(words.format(said_of))
    assert number not in answer and "催问" not in answer, answer
    assert not queued(db, show(number, database_url)["assignee"], "【居民催问】", number)
