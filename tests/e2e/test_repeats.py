"""回头件: a problem reported again after its case was closed opens a case of its own that names the earlier one —
its worker reads the earlier number and how it was closed, the timelines point at each other, the console marks and
counts it — and the resident who reported the earlier case hears that the two are linked.

Over the encrypted callback; every sentence here is our own."""

from __future__ import annotations

import re
from datetime import timedelta

from models import Case
from tests.e2e.admin_client import logged_in
from tests.e2e.conftest import clock_after
from tests.e2e.worker_chat import digits, queued, report, show

LAMP = "明湖新村{}栋单元门口那盏路灯坏了，晚上黑乎乎的"
LAMP_AGAIN = "明湖新村{}栋门口的路灯又不亮了"  # other words, a week later
LAMP_NEIGHBOUR = "明湖新村{}栋单元门口的路灯坏了，晚上黑乎乎的"
COVER = "明湖新村{}栋门口的井盖翘起来了，车一压就响"  # the same category (市政设施) and place, another thing


def bound(wecom, userid: str, building: int) -> str:
    assert "已绑定" in wecom.send_text(userid, f"绑定 明湖新村{building}栋")
    return userid


def closed_days_ago(wecom, db, database_url, number: str, resident: str, days: int, note: str = "已更换灯泡") -> None:
    """The case taken, closed with `note` and rated 满意 by its reporter, then moved back `days` in time."""
    worker = show(number, database_url)["assignee"]
    assert "已接单" in wecom.send_text(worker, f"接单 {digits(number)}")
    wecom.send_text(worker, f"办结 {digits(number)} {note}")
    assert "感谢您的评价" in wecom.send_text(resident, "1")
    with db.begin() as session:
        case = session.get(Case, int(digits(number)))
        case.created_at -= timedelta(days=days + 1)
        case.closed_at -= timedelta(days=days)


def test_the_same_problem_reported_a_week_after_its_case_closed_names_the_earlier_case(
        wecom, db, database_url, app_url):
    resident = bound(wecom, "rep-own", 1)
    lamp = report(wecom, LAMP.format(1), resident)
    closed_days_ago(wecom, db, database_url, lamp, resident, 7)

    reply = wecom.send_text(resident, LAMP_AGAIN.format(1))
    again = re.search(r"事项编号 (GB-\d{6})", reply).group(1)
    assert again != lamp and lamp in reply and "回头件" in reply, reply
    case = show(again, database_url)
    assert (case["state"], case["repeat_of"], case["duplicate_of"]) == ("pending", lamp, None)
    assert queued(db, case["assignee"], f"【新事项】{again}", "回头件", lamp, "已更换灯泡", "满意")
    assert any(e["action"] == "repeat" and lamp in e["note"] for e in case["events"])
    assert any(again in (e["note"] or "") for e in show(lamp, database_url)["events"])

    console = logged_in(app_url)
    page = console.get(f"/admin/cases/{digits(again)}").text
    assert re.search(rf'id="case-repeat-of">[^<]*<a href="/admin/cases/{digits(lamp)}">{lamp}', page), page
    board = console.get("/admin/", days="1").text
    assert int(re.search(r'id="kpi-repeats">.*?class="value">(\d+)<', board, re.S).group(1)) >= 1
    listed = console.get("/admin/cases", repeat="1").text
    assert f'data-case="{digits(again)}"' in listed and f'data-case="{digits(lamp)}"' not in listed


def test_a_neighbour_reporting_the_problem_again_is_marked_without_hearing_the_other_residents_case(
        wecom, db, database_url):
    """The worker sees the spot's history; the neighbour is not told another resident's case number."""
    first, neighbour = bound(wecom, "rep-first", 3), bound(wecom, "rep-neighbour", 3)
    lamp = report(wecom, LAMP.format(3), first)
    closed_days_ago(wecom, db, database_url, lamp, first, 5)

    reply = wecom.send_text(neighbour, LAMP_NEIGHBOUR.format(3))
    again = re.search(r"事项编号 (GB-\d{6})", reply).group(1)
    assert lamp not in reply and "回头件" not in reply, reply
    case = show(again, database_url)
    assert case["repeat_of"] == lamp
    assert queued(db, case["assignee"], f"【新事项】{again}", "回头件", lamp)


def test_another_thing_at_the_spot_or_a_case_closed_long_ago_is_no_repeat(wecom, db, database_url):
    resident = bound(wecom, "rep-other", 5)
    lamp = report(wecom, LAMP.format(5), resident)
    closed_days_ago(wecom, db, database_url, lamp, resident, 3)
    cover = show(report(wecom, COVER.format(5), resident), database_url)
    assert (cover["category"], cover["repeat_of"]) == (show(lamp, database_url)["category"], None)

    old = bound(wecom, "rep-long-ago", 7)
    lamp = report(wecom, LAMP.format(7), old)
    closed_days_ago(wecom, db, database_url, lamp, old, 60)  # beyond lifecycle.yaml's repeat_window
    again = report(wecom, LAMP_AGAIN.format(7), old)
    assert show(again, database_url)["repeat_of"] is None


def test_words_pointing_back_at_the_residents_own_report_name_it_even_in_other_words(wecom, db, database_url):
    """我上个月反映的那个噪音问题，现在又开始了 shares no word with 楼上…电钻声吵得睡不着: it opened a case with no pointer to
    the resident's own noise case closed three weeks before."""
    resident = bound(wecom, "rep-noise", 11)
    noise = report(wecom, "明湖新村11栋楼上天天半夜装修，电钻声吵得睡不着", resident)
    closed_days_ago(wecom, db, database_url, noise, resident, 20, note="已上门协调")
    reply = wecom.send_text(resident, "我上个月反映的那个噪音问题，现在又开始了")
    again = re.search(r"事项编号 (GB-\d{6})", reply).group(1)
    assert noise in reply and show(again, database_url)["repeat_of"] == noise, reply


def test_a_report_placed_by_its_residents_answer_is_marked_as_the_problem_back_at_that_place(wecom, db, database_url):
    """门口的路灯又不亮了 from a resident bound nowhere waits for its address; placed by the answer, it was routed without
    a look at the place's history. Placed, it is a 回头件 of the lamp closed there, for its worker to see."""
    first = bound(wecom, "rep-placed-first", 17)
    lamp = report(wecom, LAMP.format(17), first)
    closed_days_ago(wecom, db, database_url, lamp, first, 4)
    waiting = report(wecom, "门口的路灯又不亮了，晚上黑乎乎的", "rep-placed-later")
    assert show(waiting, database_url)["state"] == "awaiting_place"
    reply = wecom.send_text("rep-placed-later", "明湖新村17栋")
    assert waiting in reply and lamp not in reply, reply  # a neighbour's case is not theirs to be told of
    case = show(waiting, database_url)
    assert case["repeat_of"] == lamp
    assert queued(db, case["assignee"], f"【新事项】{waiting}", "回头件", lamp)


def test_the_problem_back_classified_in_another_category_is_still_marked_as_back_but_another_thing_is_not(
        wecom, db, database_url):
    """下水道又堵了，臭气熏天 (环境卫生) a few days after 下水道堵了，污水漫出来了 (市政设施) was closed: the same sewer back,
    but another category, so never compared. Said to be back and naming the same thing, it is a 回头件 now; another
    thing said to be back (楼下又有人半夜唱歌, 噪音扰民) is not linked to the sewer."""
    resident = bound(wecom, "rep-sewer", 19)
    sewer = report(wecom, "明湖新村19栋楼下的下水道堵了，污水漫出来了", resident)
    closed_days_ago(wecom, db, database_url, sewer, resident, 3, note="已疏通")
    reply = wecom.send_text(resident, "明湖新村19栋楼下的下水道又堵了，臭气熏天")
    again = re.search(r"事项编号 (GB-\d{6})", reply).group(1)
    case = show(again, database_url)
    assert case["category"] != show(sewer, database_url)["category"], case
    assert case["repeat_of"] == sewer and sewer in reply and "回头件" in reply, reply
    noise = show(report(wecom, "明湖新村19栋楼下又有人半夜唱歌，吵得睡不着", resident), database_url)
    assert noise["repeat_of"] is None, noise


def archived_unrated(wecom, database_url, app_settings, resident: str, text: str, note: str) -> tuple[str, str]:
    """A report of `resident` taken, closed with `note` and archived unrated by the clock: its number and worker."""
    number = report(wecom, text, resident)
    worker = show(number, database_url)["assignee"]
    assert "已接单" in wecom.send_text(worker, f"接单 {digits(number)}")
    wecom.send_text(worker, f"办结 {digits(number)} {note}")
    clock_after(database_url, app_settings, 4 * 24 * 60)  # past lifecycle.yaml's rating_window
    assert show(number, database_url)["state"] == "archived"
    return number, worker


def test_not_satisfied_after_the_case_was_archived_unrated_is_reported_not_dropped(
        wecom, db, database_url, app_settings):
    """不满意，门口路灯又不亮了 after the clock archived the unrated case was answered 您目前没有待评价的事项 and the words
    were dropped. (Last in the module, with the next: the clock runs days ahead.)"""
    resident = bound(wecom, "rep-late-rating", 9)
    lamp, _ = archived_unrated(wecom, database_url, app_settings, resident, LAMP.format(9), "已更换灯泡")
    reply = wecom.send_text(resident, "不满意，门口路灯又不亮了")
    again = re.search(r"事项编号 (GB-\d{6})", reply)
    assert again and "没有待评价" not in reply, reply
    assert show(again.group(1), database_url)["repeat_of"] == lamp


def test_a_late_rating_after_the_case_was_archived_unrated_rates_that_case(wecom, db, database_url, app_settings):
    """满意 after the clock archived the unrated case was answered 您目前没有待评价的事项: it is that case's rating now,
    told to its worker; 不满意 alone is answered about that case (archived: describe the problem to report it again)."""
    resident = bound(wecom, "rep-late-satisfied", 13)
    lamp, worker = archived_unrated(wecom, database_url, app_settings, resident, LAMP.format(13), "已更换灯泡")
    reply = wecom.send_text(resident, "满意")
    assert lamp in reply and "感谢您的评价" in reply and "没有待评价" not in reply, reply
    case = show(lamp, database_url)
    assert (case["state"], case["rating"]) == ("archived", "satisfied")
    assert queued(db, worker, lamp, "居民评价：满意")
    assert lamp in wecom.send_text(resident, "满意")  # rated already: nothing to rate, but about that case

    neighbour = bound(wecom, "rep-late-unsatisfied", 15)
    cover, _ = archived_unrated(wecom, database_url, app_settings, neighbour, COVER.format(15), "已盖好井盖")
    reply = wecom.send_text(neighbour, "不满意")
    assert cover in reply and "已归档" in reply, reply
    assert show(cover, database_url)["rating"] is None
