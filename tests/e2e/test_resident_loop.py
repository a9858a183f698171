"""A resident's text over the encrypted protocol becomes a routed case, notices and a reply."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from bot.app import create_app
from handlers.privacy.masking import mask_phone
from models import Case, Grid, InboundMessage, OutboxMessage, Unit, Worker
from tests.cli import cli_json
from tests.e2e.worker_chat import queued
from tests.servers import serve_in_thread
from tests.wecom_sim import CallbackClient, location_xml, media_xml

GARBAGE_REPORT = "阳光小区门口的垃圾桶满了好几天没人清理，臭气熏天，麻烦处理一下"


def case_number(reply: str) -> str:
    match = re.search(r"GB-\d{6}", reply)
    assert match, reply
    return match.group(0)


def count_cases(db) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(Case))


def test_text_becomes_a_routed_case_with_reply_and_notices(wecom, fake_wecom, db, database_url):
    reply = wecom.send_text("demo-resident", GARBAGE_REPORT)
    number = case_number(reply)
    assert "环境卫生" in reply
    assert "1小时" in reply and "7天" in reply

    case = cli_json(["case", "show", number, "--json"], database_url)
    assert case["state"] == "pending"
    assert case["category"] == "环境卫生"
    assert case["assignee"] == "demo-worker"
    assert case["grid"] and case["unit"]
    assert [e["action"] for e in case["events"]] == ["report"]
    with db() as session:
        worker_phone = session.scalars(select(Worker.phone).where(Worker.userid == "demo-worker")).one()
    assert mask_phone(worker_phone) in reply and worker_phone not in reply  # who handles it, phone masked

    worker_notices = fake_wecom.wait_for(lambda: [m for m in fake_wecom.messages_to("demo-worker") if number in m])
    assert worker_notices and GARBAGE_REPORT[:10] in worker_notices[0]
    group_notices = fake_wecom.wait_for(
        lambda: [c for c in fake_wecom.calls("/cgi-bin/appchat/send") if number in c["json"]["text"]["content"]])
    assert group_notices, "the grid's group chat gets the new case"


def test_redelivered_msgid_gets_same_reply_and_creates_nothing(wecom, db):
    before = count_cases(db)
    first = wecom.send_text("demo-resident", "小区路灯坏了好几盏，晚上黑漆漆的", msg_id=900000001)
    again = wecom.send_text("demo-resident", "小区路灯坏了好几盏，晚上黑漆漆的", msg_id=900000001)
    assert case_number(first) == case_number(again)
    assert count_cases(db) == before + 1
    with db() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)
                              .where(InboundMessage.msg_key == "app:900000001")) == 1


def test_greeting_gets_help_and_no_case(wecom, db):
    before = count_cases(db)
    reply = wecom.send_text("greeting-resident", "你好")
    assert "帮助" in reply
    assert count_cases(db) == before


def test_small_talk_the_model_knows_is_no_report_gets_help_and_no_case(wecom, db):
    before = count_cases(db)
    for text in ("我想问问你们几点下班", "周末愉快呀"):  # our own; the shipped model says 无, no chit-chat word
        reply = wecom.send_text("smalltalk-resident", text)
        assert "帮助" in reply and "GB-" not in reply, (text, reply)
    assert count_cases(db) == before


def test_department_matter_names_where_it_goes_and_opens_no_case(wecom, db):
    before = count_cases(db)
    reply = wecom.send_text("tax-resident", "想问一下个人所得税专项附加扣除怎么申报，退税什么时候到账")
    assert "不属于网格" in reply
    assert count_cases(db) == before
    with db() as session:
        record = session.scalars(select(InboundMessage).where(InboundMessage.from_userid == "tax-resident")).one()
        assert record.category  # logged with its department category


def test_resident_without_unit_is_asked_for_address_then_case_is_routed(wecom, fake_wecom, db, database_url):
    reply = wecom.send_text("new-resident-1", "楼道里堆满了杂物和纸箱，很危险")
    number = case_number(reply)
    assert "地址" in reply
    assert cli_json(["case", "show", number, "--json"], database_url)["state"] == "awaiting_place"

    units = cli_json(["units", "--json"], database_url)
    target = units[0]
    answer = wecom.send_text("new-resident-1", target["address"])
    assert number in answer
    case = cli_json(["case", "show", number, "--json"], database_url)
    assert case["state"] == "pending"
    assert case["unit"] == target["code"]
    assert case["assignee"] is not None
    assert [e["action"] for e in case["events"]] == ["report", "place"]


def test_photo_attaches_to_the_latest_case(wecom, database_url):
    number = case_number(wecom.send_text("demo-resident", "小区里井盖丢了，有人差点掉下去"))
    reply = wecom.reply_text(wecom.post_xml(media_xml("demo-resident", "image")))
    assert number in reply
    case = cli_json(["case", "show", number, "--json"], database_url)
    assert case["events"][-1]["action"] == "attach"
    assert case["events"][-1]["attachments"][0]["kind"] == "image"


def sent_notices(db, number: str) -> list[OutboxMessage]:
    with db() as session:
        return session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == int(number[3:]),
                                                           OutboxMessage.status == "sent")).all()


def test_notices_are_queued_in_the_outbox_and_sent_once(wecom, fake_wecom, db):
    number = case_number(wecom.send_text("demo-resident", "隔壁装修电钻声从早到晚不停，吵得没法休息"))
    fake_wecom.wait_for(lambda: [m for m in fake_wecom.messages_to("demo-worker") if number in m])
    rows = fake_wecom.wait_for(lambda: sent_notices(db, number), count=2)  # the worker's, then the group's
    assert len(rows) == 2
    sent_to_worker = [m for m in fake_wecom.messages_to("demo-worker") if number in m]
    assert len(sent_to_worker) == 1


def test_urgent_report_reaches_worker_and_leader_at_once_with_the_short_clock(wecom, fake_wecom, database_url):
    reply = wecom.send_text("demo-resident", "楼道里冒烟了，好像着火了，快来人")
    number = case_number(reply)
    case = cli_json(["case", "show", number, "--json"], database_url)
    assert case["urgent"] is True
    assert "15分钟" in reply
    for userid in ("demo-worker", "demo-leader"):
        notices = fake_wecom.wait_for(lambda: [m for m in fake_wecom.messages_to(userid) if number in m])
        assert notices and "紧急" in notices[0], userid


def test_an_unsure_message_asks_back_and_the_digit_opens_the_case_even_after_a_restart(wecom, db, database_url,
                                                                                       app_settings):
    address = cli_json(["units", "--json"], database_url)[0]["address"]
    assert "绑定" in wecom.send_text("vague-resident", f"绑定 {address}")  # no report of theirs moments ago
    before = count_cases(db)
    question = wecom.send_text("vague-resident", "楼下烧烤店的事")  # vague: neither rules nor model are sure
    assert "1 " in question and "2 " in question
    assert count_cases(db) == before  # nothing opened until the resident chooses
    chosen = re.search(r"2 ([^\s（]+)", question).group(1)  # the name, not the examples beside it
    with serve_in_thread(create_app(app_settings)) as restarted:  # the question was persisted, not held in memory
        reply = CallbackClient(restarted, wecom.side).send_text("vague-resident", "２")  # full-width digit
    case = cli_json(["case", "show", case_number(reply), "--json"], database_url)
    assert case["category"] == chosen
    assert case["state"] == "pending"


def test_a_location_fixes_the_place_of_a_case_waiting_for_its_address(wecom, db, database_url):
    number = case_number(wecom.send_text("new-resident-loc", "路边的井盖松动了，车一过就哐哐响"))
    assert cli_json(["case", "show", number, "--json"], database_url)["state"] == "awaiting_place"
    with db() as session:
        unit = session.scalars(select(Unit).where(Unit.lat.is_not(None)).order_by(Unit.id).limit(1)).one()
        lat, lng, grid_code = unit.lat, unit.lng, unit.grid.code
    reply = wecom.reply_text(wecom.post_xml(location_xml("new-resident-loc", lat, lng, "小区东门")))
    assert number in reply
    case = cli_json(["case", "show", number, "--json"], database_url)
    assert case["state"] == "pending"
    assert case["grid"] == grid_code
    assert case["place_source"] == "location"
    assert case["assignee"] is not None


def test_the_case_keeps_the_residents_own_words(wecom, db):
    words = "楼下的垃圾站，三天没人清运了！（臭得开不了窗）"
    number = case_number(wecom.send_text("demo-resident", words))
    with db() as session:
        assert session.get(Case, int(number.removeprefix("GB-"))).text == words


def test_the_case_keeps_what_the_console_explains_of_its_decision_but_not_the_models_features(wecom, db):
    """The console's 分类依据 reads the stored decision's rules, score and the model's ranking; which n-grams
    weighed most is shown for a live decision only (`gridbot classify`, the rule editor), so a report does not
    compute it."""
    number = case_number(wecom.send_text("demo-keeps-decision", GARBAGE_REPORT))
    with db() as session:
        stored = session.get(Case, int(number.removeprefix("GB-"))).classification
    assert stored["category"] == "环境卫生" and stored["rules"] and stored["model"]["ranking"]
    assert "features" not in stored["model"]


def test_a_resident_writing_traditional_characters_is_understood(wecom, db, database_url):
    """進度, 撤銷 and 滿意 are 进度, 撤销 and 满意: not a new report, not the help text."""
    before = count_cases(db)
    kept = case_number(wecom.send_text("tc-resident", "阳光小区一期3栋门口的垃圾桶满了，好几天没人清理"))
    dropped = case_number(wecom.send_text("tc-resident", "阳光小区一期3栋楼下的路灯坏了，晚上黑漆漆的"))
    listed = wecom.send_text("tc-resident", "進度")
    assert kept in listed and dropped in listed, listed
    assert f"事项 {dropped} 已撤销" in wecom.send_text("tc-resident", f"撤銷 {dropped}")
    worker = cli_json(["case", "show", kept, "--json"], database_url)["assignee"]
    assert "已接单" in wecom.send_text(worker, f"接单 {int(kept[3:])}")
    wecom.send_text(worker, f"办结 {int(kept[3:])} 垃圾已清运")
    rated = wecom.send_text("tc-resident", "滿意")
    assert "感谢您的评价" in rated and kept in rated, rated
    states = {number: cli_json(["case", "show", number, "--json"], database_url)["state"] for number in (kept, dropped)}
    assert states == {kept: "archived", dropped: "withdrawn"}
    assert count_cases(db) == before + 2  # no case opened from the words


def test_a_correction_after_the_report_is_kept_on_the_case_and_told_to_its_worker(wecom, db, database_url):
    """"不是3栋，是4栋" is no report of its own (the shipped model says so): it belongs to the resident's case (3栋 and
    4栋 are one unit: the case stays where it is; another unit's building moves it, test_written_places)."""
    number = case_number(wecom.send_text("fix-resident", "阳光小区一期3栋门口的垃圾堆满了，一直没人清理"))
    before = count_cases(db)
    reply = wecom.send_text("fix-resident", "不是3栋，是4栋")
    assert number in reply and "帮助" not in reply, reply
    assert count_cases(db) == before
    case = cli_json(["case", "show", number, "--json"], database_url)
    assert [(e["action"], e["actor"], e["note"]) for e in case["events"]][-1] == \
        ("attach", "fix-resident", "不是3栋，是4栋")
    with db() as session:
        told = session.scalars(select(OutboxMessage.text).where(OutboxMessage.recipient == case["assignee"])).all()
    assert any(number in text and "不是3栋，是4栋" in text for text in told), told


def test_a_bare_acknowledgement_after_the_report_stays_off_the_case(wecom, db, database_url):
    """嗯嗯, 好, 发错了 say nothing about the case: the resident gets the help text and the worker is not pinged."""
    number = case_number(wecom.send_text("ack-resident", "阳光小区一期2栋门口的垃圾堆满了，一直没人清理"))
    events = len(cli_json(["case", "show", number, "--json"], database_url)["events"])
    for words in ("嗯嗯", "好", "发错了"):
        assert number not in wecom.send_text("ack-resident", words)
    assert len(cli_json(["case", "show", number, "--json"], database_url)["events"]) == events


def test_words_starting_with_buchong_are_added_to_the_residents_case_not_a_new_report(wecom, db, database_url):
    """“补充一下，…” reads like a report of its own (楼道 → 消防安全) but adds to the case just reported."""
    number = case_number(wecom.send_text("add-resident", "阳光小区一期5栋楼道的灯坏了一个星期，晚上黑漆漆的"))
    before = count_cases(db)
    reply = wecom.send_text("add-resident", "补充一下，是2单元的楼道，三楼到五楼都不亮")
    assert number in reply, reply
    assert count_cases(db) == before
    case = cli_json(["case", "show", number, "--json"], database_url)
    assert [(e["action"], e["note"]) for e in case["events"]][-1] == ("attach", "是2单元的楼道，三楼到五楼都不亮")
    assert number in wecom.send_text("add-resident", f"补充 {int(number[3:])} 物业说明天来修")
    assert cli_json(["case", "show", number, "--json"], database_url)["events"][-1]["note"] == "物业说明天来修"
    assert "没有找到您反映的事项 999999" in wecom.send_text("add-resident", "补充 999999 不是我的事项")
    assert count_cases(db) == before


def test_a_correction_of_the_matter_is_kept_on_the_case_not_a_second_case(wecom, db, database_url):
    """“说错了，是楼道灯坏了” right after a report corrects it: the words go to its worker (who may 改类)."""
    number = case_number(wecom.send_text("fix-resident", "阳光小区一期6栋门口的路灯坏了，晚上黑漆漆的"))
    before = count_cases(db)
    for words in ("说错了，不是路灯，是楼道里的灯坏了", "写错了 是三单元"):
        assert number in wecom.send_text("fix-resident", words)
    assert count_cases(db) == before
    notes = [e["note"] for e in cli_json(["case", "show", number, "--json"], database_url)["events"]]
    assert notes[-2:] == ["不是路灯，是楼道里的灯坏了", "是三单元"], notes


def test_a_report_typed_in_pieces_is_one_case(wecom, db, database_url):
    """我们楼下 (where, no matter yet: the resident is asked to go on), then 那个垃圾桶满了: one report, not a 其他 case and
    a second one."""
    before = count_cases(db)
    asked = wecom.send_text("pieces-resident", "我们楼下")
    assert "回复数字" not in asked and "事项编号" not in asked, asked
    reply = wecom.send_text("pieces-resident", "那个垃圾桶满了")
    number = case_number(reply)
    assert count_cases(db) == before + 1, reply
    case = cli_json(["case", "show", number, "--json"], database_url)
    assert (case["category"], case["text"]) == ("环境卫生", "我们楼下 那个垃圾桶满了"), case
    for more in ("好几天了", "都没人来收"):  # more of it, while its place is asked: kept on it
        assert number in wecom.send_text("pieces-resident", more)
    assert count_cases(db) == before + 1
    notes = [e["note"] for e in cli_json(["case", "show", number, "--json"], database_url)["events"]]
    assert notes[-2:] == ["好几天了", "都没人来收"], notes
    unit = cli_json(["units", "--json"], database_url)[3]
    placed = wecom.send_text("pieces-resident", unit["address"])  # the address question still stands
    assert number in placed and cli_json(["case", "show", number, "--json"], database_url)["unit"] == unit["code"]


def test_a_guessed_place_is_confirmed_with_the_words_people_use_for_yes(wecom, database_url):
    """“请问地点是…吗？回复 1 确认”: 对的, 没错 and 好的 confirm it as 1 does."""
    codes = {unit["address"]: unit["code"] for unit in cli_json(["units", "--json"], database_url)}
    for n, yes in enumerate(("对的", "没错！", "好的")):
        userid = f"yes-resident-{n}"
        number = case_number(wecom.send_text(userid, "路边的井盖松动了，车一过就哐哐响"))
        question = wecom.send_text(userid, "湖井苑3栋")
        assert "回复 1 确认" in question, question
        guessed = re.search(r"地点是“(.+?)”", question).group(1)
        answer = wecom.send_text(userid, yes)
        assert number in answer and "没有找到" not in answer, (yes, answer)
        case = cli_json(["case", "show", number, "--json"], database_url)
        assert case["unit"] == codes[guessed]  # placed: the later two follow the first (the same words there)
        assert (case["state"], bool(case["duplicate_of"])) == (("merged", True) if n else ("pending", False))


def test_a_bound_resident_naming_another_estate_in_full_gets_the_case_placed_there(wecom, database_url):
    """demo-resident lives in 阳光小区一期; 湖景苑5栋 written in full is another grid with its own 环境卫生 worker."""
    codes = {unit["address"]: unit["code"] for unit in cli_json(["units", "--json"], database_url)}
    number = case_number(wecom.send_text("demo-resident", "湖景苑5栋门口的垃圾桶满了好几天没人清理，臭烘烘的"))
    case = cli_json(["case", "show", number, "--json"], database_url)
    assert case["unit"] == codes["明湖区湖滨街道湖滨路120号湖景苑5-6栋"]
    assert case["assignee"] == "yg-clean-1"


def test_a_bound_resident_whose_words_name_no_other_place_keeps_the_bound_address(wecom, database_url):
    """小区门口 or a hamlet's name used as a plain word (水口) are no other place: the bound unit stays."""
    number = case_number(wecom.send_text("demo-resident", "我家楼下下水道的水口堵了，污水漫到小区门口"))
    case = cli_json(["case", "show", number, "--json"], database_url)
    assert (case["unit"], case["assignee"]) == ("441999001001001001", "demo-worker")


@pytest.mark.parametrize(("answer", "words"), [  # three matters: the same words there would follow the first case
    ("5栋", "路边的井盖松动了，车一过就哐哐响"), ("不是，是5号楼", "路边的路灯杆歪了，看着快倒了"),
    ("不对 五栋", "路边的消防栓被撞坏了，一直在漏水")])
def test_a_building_number_answering_a_guessed_place_is_read_in_the_guessed_estate(wecom, database_url, answer,
                                                                                    words):
    """“请问地点是湖景苑3-4栋吗？” answered with another building: that building of 湖景苑, not an unknown address
    (5栋) or a new report (不是，是5号楼)."""
    codes = {unit["address"]: unit["code"] for unit in cli_json(["units", "--json"], database_url)}
    userid = f"guess-resident-{answer}"
    number = case_number(wecom.send_text(userid, words))
    assert "湖景苑3-4栋”吗" in wecom.send_text(userid, "湖井苑3栋")
    reply = wecom.send_text(userid, answer)
    assert number in reply and "湖景苑5-6栋" in reply, reply
    case = cli_json(["case", "show", number, "--json"], database_url)
    assert (case["state"], case["unit"]) == ("pending", codes["明湖区湖滨街道湖滨路120号湖景苑5-6栋"])


def test_an_estate_in_one_grid_named_without_a_building_goes_to_that_grid_without_asking(wecom, database_url):
    """湖景苑 lies in one grid: 湖景苑东门 is placed there, not at a building guessed to confirm. 阳光小区 spans two
    grids (一期, 二期): there the resident is still asked."""
    reply = wecom.send_text("estate-resident-1", "湖景苑东门的垃圾堆成山了，苍蝇到处飞")
    case = cli_json(["case", "show", case_number(reply), "--json"], database_url)
    assert (case["state"], case["grid"], case["unit"], case["assignee"]) == ("pending", "441999001001003", None,
                                                                              "yg-clean-1")
    assert "湖景苑" in reply and "回复 1 确认" not in reply, reply
    assert "哪一期" in wecom.send_text("estate-resident-2", "阳光小区门口的垃圾桶满了好几天没人清理")


def test_an_estate_named_as_the_answer_to_the_address_question_places_the_case_in_its_grid(wecom, database_url):
    number = case_number(wecom.send_text("estate-resident-3", "楼道里堆满了杂物和纸箱，很危险"))
    reply = wecom.send_text("estate-resident-3", "湖景苑")
    assert number in reply and "回复 1 确认" not in reply, reply
    assert cli_json(["case", "show", number, "--json"], database_url)["grid"] == "441999001001003"


def test_a_resident_of_the_estate_naming_it_without_a_building_keeps_the_bound_building(wecom, database_url):
    """Bound to 湖景苑3栋, 湖景苑东门 is the same grid: the case keeps the bound unit rather than the grid alone."""
    assert "绑定" in wecom.send_text("estate-resident-4", "绑定 湖景苑3栋")
    number = case_number(wecom.send_text("estate-resident-4", "湖景苑东门的垃圾桶满了好几天没人清理"))
    assert cli_json(["case", "show", number, "--json"], database_url)["unit"] == "441999001001003002"


@pytest.mark.parametrize("userid, text, unit", [
    ("home-resident-1", "住在湖景苑3栋，但是5栋门口的垃圾桶满了好几天", "441999001001003003"),
    ("home-resident-2", "我住阳光小区一期3栋，湖景苑5栋门口的垃圾桶满了好几天", "441999001001003003"),
    ("demo-resident", "我家是1栋，但是5栋楼下的垃圾桶满了好几天没人清理", "441999001001001003"),
], ids=["two buildings", "two estates", "bound, another building"])
def test_where_the_resident_lives_is_not_the_place_when_the_words_name_another(wecom, database_url, userid, text,
                                                                               unit):
    """住在/我家是 X says where the resident lives; the place of the matter is the other one the words name (a bare
    building number in the estate of home: the text's or the bound one)."""
    number = case_number(wecom.send_text(userid, text))
    assert cli_json(["case", "show", number, "--json"], database_url)["unit"] == unit


def test_an_address_answer_with_typos_places_the_case(wecom, database_url):
    """阳光小去2期5洞 (小区 and 栋 as pinyin input slips them) is 阳光小区二期5栋: the place, not words of a new matter."""
    number = case_number(wecom.send_text("typo-resident", "楼道里堆满了杂物和纸箱，很危险"))
    reply = wecom.send_text("typo-resident", "阳光小去2期5洞")
    assert number in reply and "二期5-6栋" in reply, reply
    assert cli_json(["case", "show", number, "--json"], database_url)["unit"] == "441999001001002003"


def test_what_an_answer_denies_is_not_read_as_the_place(wecom, database_url):
    """“请问地点是…阳光小区一期3-4栋吗？” — 不是一期，是二期的: 二期 (another grid), not a tie of both phases asked again."""
    number = case_number(wecom.send_text("denying-resident", "阳光小区3栋楼道里堆满杂物"))
    reply = wecom.send_text("denying-resident", "不是一期，是二期的")
    assert number in reply and "回复 1 确认" not in reply, reply
    assert cli_json(["case", "show", number, "--json"], database_url)["grid"] == "441999001001002"


def test_an_estate_across_grids_named_alone_is_asked_which_part_not_a_building_to_confirm(wecom, database_url):
    """翠苑小区 has three phases in three grids: the resident is asked which phase, not “请问地点是…一期1-2栋吗？”,
    so a yes by habit (1) places nothing; 三期 then places it in that phase's grid."""
    number = case_number(question := wecom.send_text("part-resident", "翠苑小区门口的井盖松动了，车一过就哐哐响"))
    assert "“明湖区湖滨街道江南大道301号翠苑小区”的哪一期" in question and "回复 1 确认" not in question, question
    assert "哪一期" in wecom.send_text("part-resident", "1")
    assert cli_json(["case", "show", number, "--json"], database_url)["state"] == "awaiting_place"
    assert number in wecom.send_text("part-resident", "三期")
    assert cli_json(["case", "show", number, "--json"], database_url)["grid"] == "441999001002003"


def test_a_road_many_estates_lie_on_is_asked_for_the_address_not_an_estate_to_confirm(wecom):
    reply = wecom.send_text("road-resident", "湖滨路上有人乱摆摊，人行道都走不了")
    assert "请告诉我们具体地址" in reply and "阳光小区" not in reply, reply


def test_a_resident_naming_another_estate_without_its_part_is_asked_not_placed_at_home(wecom, database_url):
    """Bound to 湖景苑3栋, '阳光小区门口…' names another estate (in two grids): which part is asked; home is not it."""
    assert "绑定" in wecom.send_text("part-resident-2", "绑定 湖景苑3栋")
    reply = wecom.send_text("part-resident-2", "阳光小区门口的垃圾桶满了好几天没人清理")
    assert "阳光小区”的哪一期" in reply, reply
    assert cli_json(["case", "show", case_number(reply), "--json"], database_url)["state"] == "awaiting_place"


def test_a_name_the_resident_writes_is_masked_in_the_group_chat_and_whole_for_the_assignee(wecom, fake_wecom, db,
                                                                                          database_url):
    """The group chat reads the report with the name it introduces masked; the worker who holds the case reads it
    whole (to call the resident back)."""
    number = case_number(wecom.send_text("demo-resident", "我叫王建国，小区东门的路灯坏了三天了"))
    group = fake_wecom.wait_for(lambda: [c["json"]["text"]["content"] for c in fake_wecom.calls("/cgi-bin/appchat/send")
                                         if number in c["json"]["text"]["content"]])
    assert "王**" in group[0] and "王建国" not in group[0], group
    assignee = cli_json(["case", "show", number, "--json"], database_url)["assignee"]
    assert queued(db, assignee, number, "我叫王建国")


@pytest.mark.parametrize(("written", "whole"), [("电话139 2468 1357，", "2468"), ("手机139-8642-7531，", "8642"),
                                                ("电话１３９７５３１８６４２，", "７５３１"), ("电话：+8613955556666，", "5555")])
def test_a_phone_number_written_with_spaces_dashes_full_width_digits_or_86_is_masked_in_the_group_chat(
        wecom, db, database_url, written, whole):
    """People write a phone number the way they read it out; the group chat never reads it whole, the assignee
    does."""
    number = case_number(wecom.send_text("demo-resident", f"{written}小区南门口的垃圾桶满了好几天没人清理，臭得很"))
    case = cli_json(["case", "show", number, "--json"], database_url)
    with db() as session:
        chat = session.scalars(select(Grid.chat_id).where(Grid.code == case["grid"])).one()
    group = queued(db, chat, number)
    assert group and whole not in group[0], group
    assert queued(db, case["assignee"], number, written)
