"""Residents as they write on plain WeChat (微信客服): dialect, traditional characters, a question instead of an
answer, a matter that came back after it was rated. Each conversation is read as the resident reads it: the right
case, a short zh-CN reply with the case number, a link that opens.

Over the encrypted callback and the fake WeCom; every sentence here is our own."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from models import Case, Resident
from tests.e2e.kf_chat import KfResident
from tests.e2e.worker_chat import digits, number_in, queued, show

LINK = re.compile(r"http://127\.0\.0\.1:\d+/p/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")  # a token: no CJK


def kf_resident(fake_wecom, wecom, external_userid: str) -> tuple[KfResident, str]:
    """A new resident on plain WeChat and their gridbot userid."""
    return KfResident(fake_wecom, wecom, external_userid), f"kf:{external_userid}"


def said(resident: KfResident, text: str) -> str:
    """`text` from the resident, and gridbot's answer to it (every message it sent them since)."""
    before = len(resident.received())
    resident.say(text)
    return "\n".join(resident.wait_for(before + 1)[before:])


def cases_of(db, userid: str) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(Case).where(Case.reporter_userid == userid))


def rated(wecom, resident: KfResident, number: str, database_url: str) -> None:
    """The case taken and closed by its worker, and rated 满意 by the resident when asked."""
    worker = show(number, database_url)["assignee"]
    assert "已接单" in wecom.send_text(worker, f"接单 {digits(number)}")
    assert "已办结" in wecom.send_text(worker, f"办结 {digits(number)} 已处理好")
    resident.fake.wait_for(lambda: [text for text in resident.received() if "请您评价" in text])
    assert "已归档" in said(resident, "满意")


def test_asked_after_a_case_already_archived_the_progress_link_stands_on_its_own_line(
        wecom, fake_wecom, db, database_url):
    """The answer about an archived case ended its link with the next sentence glued on (…/p/abc该事项已办结归档),
    so WeChat opened a link that shows no case."""
    resident, _ = kf_resident(fake_wecom, wecom, "wmVoicesAskedLastMonth1")
    number = number_in(said(resident, "御景湾二期5栋旁边的绿化带被人挖了种菜"))
    rated(wecom, resident, number, database_url)
    answer = said(resident, "上个月反映的那个绿化带的事处理得怎么样了？")
    assert number in answer and "已办结归档" in answer, answer
    assert all(line.startswith("进度查询：http") and LINK.fullmatch(line.removeprefix("进度查询："))
               for line in answer.splitlines() if "http" in line), answer


def test_a_resident_asking_where_to_see_the_progress_in_cantonese_or_traditional_gets_their_cases(
        wecom, fake_wecom, db):
    """喺边度睇进度？ (where do I see the progress?) right after a report was asked back as a new report of 医疗卫生,
    医保 or 住房建设, and opened as 其他 for a worker ten minutes later: words asking for the progress are 进度."""
    resident, userid = kf_resident(fake_wecom, wecom, "wmVoicesCantoneseProgress")
    number = number_in(said(resident, "我哋荔枝湾小区5座楼下啲垃圾桶成个礼拜冇人收，臭到死，唔该快啲嚟处理"))
    for question in ("喺边度睇进度？", "點樣查進度呀", "我想问下在哪里可以看进度"):
        answer = said(resident, question)
        assert number in answer and "哪一类" not in answer and "已登记" not in answer, (question, answer)
    assert cases_of(db, userid) == 1


def test_a_resident_who_gives_the_address_first_has_the_problem_an_hour_later_placed_there(wecom, fake_wecom, db):
    """我住滨江花园二期4栋 alone got the help text, and the lift an hour later was asked its address again: the address
    said first is where the next reports go for a while, as a building's code is, and binding it is offered."""
    resident, userid = kf_resident(fake_wecom, wecom, "wmVoicesAddressFirst01")
    noted = said(resident, "我住滨江花园二期4栋")
    assert "滨江花园二期3-4栋" in noted and "有事您说" not in noted and "回复“1”" in noted, noted
    with db.begin() as session:  # an hour passes
        arrived = session.scalars(select(Resident).where(Resident.userid == userid)).one()
        arrived.arrived_at -= timedelta(hours=1)
    opened = said(resident, "电梯又困人了，里面有个小孩")
    assert "事项编号" in opened and "滨江花园二期3-4栋" in opened and "地址" not in opened.split("地点")[0], opened
    with db() as session:
        case = session.scalars(select(Case).where(Case.reporter_userid == userid)).one()
        assert case.unit.address.endswith("滨江花园二期3-4栋")


@pytest.mark.parametrize(("who", "first", "again"), [
    ("Handrail", "东岭花园一期2栋楼下的健身器材坏了，扶手掉了", "又坏了！刚修好两天扶手又掉了"),
    ("Vegetables", "碧水山庄9栋旁边的绿化带被人挖了种菜", "上个月反映的菜地又种回去了"),
])
def test_a_resident_who_rated_then_says_the_matter_is_back_gets_a_case_where_it_was(
        wecom, fake_wecom, db, database_url, who, first, again):
    """After 满意, 又坏了！刚修好两天扶手又掉了 was asked its address again (and 菜地又种回去了 asked back with 食品安全 or
    社保待遇), though the words point at the resident's own case just archived: the new case is that case's matter at
    its place, a 回头件 naming it for the worker."""
    resident, userid = kf_resident(fake_wecom, wecom, f"wmVoicesBackAgain{who}")
    earlier = number_in(said(resident, first))
    rated(wecom, resident, earlier, database_url)
    opened = said(resident, again)
    assert "事项编号" in opened and "具体地址" not in opened and "哪一类" not in opened, opened
    with db() as session:
        old, new = session.scalars(select(Case).where(Case.reporter_userid == userid).order_by(Case.id)).all()
        assert (new.unit_id, new.category, new.repeat_of_id, new.state) == (old.unit_id, old.category, old.id,
                                                                           "pending")


def test_a_resident_asked_the_category_who_answers_with_the_address_is_never_given_a_category_they_did_not_choose(
        wecom, fake_wecom, db):
    """楼上漏水 is asked back (the classifier reads 发霉 as 食品安全); the resident, thinking they were asked where, answers
    工人新村4栋, whose 工人 the classifier reads as work safety: the address was joined to the report and the case opened
    as 食品安全 though nobody chose it. An address alone is the place: the report opens to be sorted there."""
    resident, userid = kf_resident(fake_wecom, wecom, "wmVoicesCategoryAddress1")
    assert "哪一类" in said(resident, "我家楼上天天漏水，天花板都发霉了")
    opened = said(resident, "工人新村4栋")
    assert "事项编号" in opened and "工人新村3-4栋" in opened, opened
    with db() as session:
        case = session.scalars(select(Case).where(Case.reporter_userid == userid)).one()
        assert (case.category, case.unit.address.endswith("工人新村3-4栋")) == ("居民诉求-其他", True)
        assert case.text == "我家楼上天天漏水，天花板都发霉了"


def test_a_household_member_asking_after_the_shared_case_once_closed_is_not_promised_it_is_redone(
        wecom, database_url):
    """The second of a household, whose report was linked to the first's case, asks after it once it is closed: the
    answer told them 回复“不满意 原因”，我们会重新办理, but only the case's reporter reopens it (the follower's reason
    goes to its worker). Over the WeCom app, as members of the street's WeCom write."""
    first, second = "voices-home-mother", "voices-home-son"
    for userid in (first, second):
        assert "已绑定" in wecom.send_text(userid, "绑定 电厂宿舍3栋")
    case = number_in(wecom.send_text(first, "电厂宿舍3栋门口的下水道井盖不见了，好大一个洞"))
    linked = wecom.send_text(second, "电厂宿舍3栋门口下水道的井盖不见了，一个大洞")
    assert "已有人反映" in linked and case in linked, linked
    worker = show(case, database_url)["assignee"]
    wecom.send_text(worker, f"接单 {digits(case)}")
    assert "已办结" in wecom.send_text(worker, f"办结 {digits(case)} 已盖上新井盖")
    answer = wecom.send_text(second, "井盖的事处理得怎么样了？")
    assert case in answer and "已办结" in answer and "重新办理" not in answer, answer


def test_a_resident_asked_the_address_who_says_only_near_home_is_asked_the_estate_not_given_a_second_case(
        wecom, fake_wecom, db):
    """就在我家楼下啊 answering the address question was read as a new report (asked back with 矛盾纠纷 …); the estate
    named next placed that bogus case, and the dog-walking report was never placed. Words saying only near home are
    no new report: the estate and building are asked for the one case."""
    resident, userid = kf_resident(fake_wecom, wecom, "wmVoicesNearHome000001")
    case = number_in(said(resident, "有人在小区里遛狗不牵绳，还把小孩吓哭了"))
    asked = said(resident, "就在我家楼下啊")
    assert case in asked and "小区" in asked and "哪一类" not in asked, asked
    placed = said(resident, "桃源居12栋")
    assert case in placed and "桃源居11-12栋" in placed, placed
    assert cases_of(db, userid) == 1


def test_a_few_words_right_after_reopening_a_case_go_on_it_not_to_a_new_case(wecom, fake_wecom, db, database_url):
    """不满意, then 没修好 as the reason, then 还在漏: the last words were a new report (突发事件, its address asked)
    though they say why the case just reopened is not done. Said moments after the reopening, they are more of it."""
    resident, userid = kf_resident(fake_wecom, wecom, "wmVoicesStillLeaking001")
    case = number_in(said(resident, "荔枝湾小区11栋门口的消防栓在漏水"))
    worker = show(case, database_url)["assignee"]
    wecom.send_text(worker, f"接单 {digits(case)}")
    assert "已办结" in wecom.send_text(worker, f"办结 {digits(case)} 已关阀更换垫片")
    resident.fake.wait_for(lambda: [text for text in resident.received() if "请您评价" in text])
    assert "原因" in said(resident, "不满意")
    assert "重新交办" in said(resident, "没修好")
    more = said(resident, "还在漏")
    assert case in more and "事项编号" not in more, more
    assert cases_of(db, userid) == 1
    assert show(case, database_url)["events"][-1]["note"] == "还在漏"


def test_an_elderly_resident_who_sends_voice_then_greets_then_two_words_has_one_case(wecom, fake_wecom, db):
    """Voice, then 你好, then 楼下 and 垃圾: the greeting opened the voice as a case of its own (to be sorted, its
    address asked) and the two words then made a second case of the same matter. A greeting keeps the voice waiting
    for the words that follow."""
    resident, userid = kf_resident(fake_wecom, wecom, "wmVoicesElderVoiceHello")
    before = len(resident.received())
    resident.write(msgtype="voice")
    assert "语音" in resident.wait_for(before + 1)[-1]
    greeted = said(resident, "你好")
    assert "事项编号" not in greeted and "文字" in greeted, greeted
    said(resident, "楼下")
    said(resident, "垃圾")
    assert cases_of(db, userid) == 1
    with db() as session:
        case = session.scalars(select(Case).where(Case.reporter_userid == userid)).one()
        assert "垃圾" in case.text and [a["kind"] for a in case.events[0].attachments] == ["voice"]


def test_a_resident_who_writes_withdraw_while_asked_the_category_has_the_report_dropped_not_opened(
        wecom, fake_wecom, db):
    """撤销 while the category was asked opened the report as 其他 (its address asked) and then offered to withdraw
    that new case: two messages and a case for nothing. It drops the report still to be registered, as 不用了 does."""
    resident, userid = kf_resident(fake_wecom, wecom, "wmVoicesWithdrawAsked01")
    assert "哪一类" in said(resident, "我家楼顶的太阳能热水器一直在漏水")
    dropped = said(resident, "撤销")
    assert "不再登记" in dropped and "事项编号" not in dropped, dropped
    assert cases_of(db, userid) == 0


@pytest.mark.parametrize("chase", ["點解仲未修？", "唔該催下", "搞掂未呀"])
def test_a_cantonese_speaker_chasing_their_case_is_told_its_progress_not_given_a_new_case(
        wecom, fake_wecom, db, chase):
    """點解仲未修？ (why is it still not fixed?), 唔該催下 (please chase it), 搞掂未 (done yet?) hold no Mandarin
    follow-up word: each was read as a new report (asked back, or opened). They ask after the resident's case."""
    resident, userid = kf_resident(fake_wecom, wecom, f"wmVoicesCantoneseChase{len(chase)}{ord(chase[0])}")
    case = number_in(said(resident, "建设里5栋门口嘅路灯坏咗成个礼拜，夜晚行路好危险"))
    answer = said(resident, chase)
    assert case in answer and "事项编号" not in answer and "哪一类" not in answer, answer
    assert cases_of(db, userid) == 1


def test_a_name_written_in_traditional_characters_is_masked_in_the_group_chat(wecom, fake_wecom, db):
    """我叫陳美玲 reached the grid's group chat whole: the name after 我叫 was masked only for simplified surnames
    (陈, not 陳), though the phone number beside it was."""
    resident, userid = kf_resident(fake_wecom, wecom, "wmVoicesTraditionalName1")
    case = number_in(said(resident, "我叫陳美玲，電話13912345678，龍灣雅苑5棟的化糞池堵了，污水流到路上"))
    with db() as session:
        group = session.get(Case, int(digits(case))).grid.chat_id
    [line] = queued(db, group, case)
    assert "陳**" in line and "陳美玲" not in line and "13912345678" not in line, line


def test_a_resident_asking_for_the_progress_of_one_of_their_cases_by_its_matter_is_told_that_case(
        wecom, fake_wecom, db):
    """楼道灯的进度呢？ with a stairwell lamp and a rubbish case open opened a third case, of the lamp again: 进度呢
    asks after the case its other words name."""
    resident, userid = kf_resident(fake_wecom, wecom, "wmVoicesProgressOfLamp01")
    lamp = number_in(said(resident, "新城家园11栋楼道灯坏了，上下楼黑漆漆的"))
    bins = number_in(said(resident, "新城家园11栋后门的垃圾桶满出来了"))
    answer = said(resident, "楼道灯的进度呢？")
    assert lamp in answer and bins not in answer and "事项编号" not in answer, answer
    assert cases_of(db, userid) == 2


def test_a_resident_asking_which_grid_an_address_belongs_to_is_told_it(wecom, fake_wecom):
    """桃源居5栋归哪个网格管？ was answered 已记下地址… without the grid asked about: the address is kept as an address
    written first is, and the answer names its grid."""
    resident, _ = kf_resident(fake_wecom, wecom, "wmVoicesWhichGrid000001")
    answer = said(resident, "桃源居5栋归哪个网格管？")
    assert "桃源居5-6栋" in answer and "翠苑社区第四网格" in answer, answer


def test_a_report_opened_unasked_because_another_followed_does_not_ask_its_place_beside_the_new_question(
        wecom, fake_wecom, db):
    """Asked the category of 太阳能热水器漏水, a resident reports the lamp instead: the first opens as 其他 and the lamp
    asks its address. The first's message asked its address too (两个问题 at once), and the answer for it went to the
    lamp's case. Its message now says it is registered and its place will be found with staff, asking nothing."""
    resident, userid = kf_resident(fake_wecom, wecom, "wmVoicesTwoQuestions01")
    assert "哪一类" in said(resident, "我家楼顶的太阳能热水器一直在漏水")
    before = len(resident.received())
    resident.say("楼下的路灯不亮好几天了")
    lamp = resident.wait_for(before + 2)[before:]  # the first's notice and the lamp's reply, in either order
    assert any("请告诉我们具体地址" in text for text in lamp), lamp
    with db() as session:
        first = session.scalars(select(Case).where(Case.reporter_userid == userid).order_by(Case.id)).first()
    told = queued(db, userid, f"GB-{first.id:06d}")
    assert len(told) == 1 and "已登记" in told[0] and "请" not in told[0].split("\n")[0], told


HELP_LINE = "回复“帮助”可随时查看本说明"  # the help text's last line


@pytest.mark.parametrize("question", ["你們是機器人嗎？", "是真人在回复吗"])
def test_a_resident_asking_whether_we_are_a_robot_is_told_honestly_who_answers_and_how_to_report(
        wecom, fake_wecom, db, question):
    """你們是機器人嗎？ got the help text, a menu of commands for a question nobody answered; it is answered as a person
    would: the assistant answers automatically, a grid worker (a person) handles what is reported, and how to report."""
    resident, userid = kf_resident(fake_wecom, wecom, f"wmVoicesRobot{len(question)}")
    answer = said(resident, question)
    assert "智能助手" in answer and "网格员" in answer and "地点" in answer and HELP_LINE not in answer, answer
    assert cases_of(db, userid) == 0


def test_a_resident_sending_only_angry_emoji_is_asked_what_happened_and_told_how_to_add_to_their_case(
        wecom, fake_wecom, db):
    """😡😡😡 got the help text. The resident is asked what happened and, having a case open, told how to add to it;
    no case is opened."""
    resident, userid = kf_resident(fake_wecom, wecom, "wmVoicesAngryOnly0001")
    first = said(resident, "😡😡😡")
    assert "发生了什么" in first and HELP_LINE not in first, first
    case = number_in(said(resident, "碧水湾小区4栋门口的垃圾桶满了三天没人收"))
    again = said(resident, "😡😡😡！")
    assert "发生了什么" in again and case in again and "补充" in again, again
    assert cases_of(db, userid) == 1


def closed_and_asked(wecom, resident: KfResident, text: str, database_url: str) -> str:
    """A case reported by the resident, taken and closed by its worker, and its rating asked (not an earlier case's:
    that asked, the resident's next words would meet this case's notices on their way): its number."""
    number = number_in(said(resident, text))
    worker = show(number, database_url)["assignee"]
    assert "已接单" in wecom.send_text(worker, f"接单 {digits(number)}")
    assert "已办结" in wecom.send_text(worker, f"办结 {digits(number)} 已处理好")
    resident.fake.wait_for(lambda: [text for text in resident.received() if "请您评价" in text and number in text])
    return number


@pytest.mark.parametrize(("report", "answer", "rating"), [
    ("湖景苑2栋门口的路灯不亮了", "修好了，谢谢你们🙏", "satisfied"),
    ("江南世家3栋楼下的井盖松了", "好的谢谢", "satisfied"),
    ("东岭花园5栋楼道灯坏了好几天", "灯已经修好了，谢谢师傅", "satisfied"),
])
def test_thanks_for_the_fix_answering_the_rating_question_rates_the_case_once(
        wecom, fake_wecom, database_url, report, answer, rating):
    """修好了，谢谢你们🙏 answering “请您评价” was kept as words for the worker and the rating asked again: thanks after
    the fix say 满意. The case is rated and archived, and the resident answered once."""
    resident, _ = kf_resident(fake_wecom, wecom, f"wmVoicesThanksRated{len(answer)}{rating[0]}")
    number = closed_and_asked(wecom, resident, report, database_url)
    before = len(resident.received())
    reply = said(resident, answer)
    assert number in reply and "感谢您的评价" in reply and "请回复" not in reply, reply
    case = show(number, database_url)
    assert (case["state"], case["rating"]) == ("archived", rating), case
    assert len(resident.received()) == before + 1


@pytest.mark.parametrize("chase", ["都三天了，一点动静都没有，投诉你们", "到现在都没人来，没有动静"])
def test_a_resident_angry_that_nothing_moved_on_their_case_is_told_its_progress_not_asked_a_category(
        wecom, fake_wecom, db, chase):
    """都三天了，一点动静都没有，投诉你们 with a drain case open was asked back as a new report (市政设施, 物业管理 or
    社会救助): 没动静 said the other way round (动静都没有, 没有动静, 都没人来) says the case is still not done."""
    resident, userid = kf_resident(fake_wecom, wecom, f"wmVoicesNothingMoved{len(chase)}")
    case = number_in(said(resident, "锦绣华庭3栋门口的下水道堵了一个星期，臭得要命"))
    answer = said(resident, chase)
    assert case in answer and "哪一类" not in answer and "事项编号" not in answer, answer
    assert cases_of(db, userid) == 1


@pytest.mark.parametrize(("greeting", "building"), [("在吗", 7), ("喂", 9), ("有人吗", 11), ("你好", 1)])
def test_a_greeting_while_asked_the_place_is_answered_and_the_question_stands_not_kept_as_the_cases_words(
        wecom, fake_wecom, db, database_url, greeting, building):
    """过道的灯一直不亮, asked where, then 在吗: the greeting was kept on the case as the resident's 补充 (its worker would
    read 在吗 as what is wrong) and the reply never asked the place again. It is answered as a greeting, the place
    question stated again, and the place that follows places the case."""
    resident, userid = kf_resident(fake_wecom, wecom, f"wmVoicesHelloAsked{building:02d}")
    case = number_in(said(resident, "过道的灯一直不亮"))
    answer = said(resident, greeting)
    assert case in answer and "还差地址" in answer and "补充" not in answer, answer
    assert [event["note"] for event in show(case, database_url)["events"] if event["note"]] == []
    placed = said(resident, f"湖景苑{building}栋")  # a building each: a neighbour's case would be linked
    assert case in placed and f"湖景苑{building}-{building + 1}栋" in placed, placed
    assert cases_of(db, userid) == 1


@pytest.mark.parametrize(("where", "matter", "category"), [
    ("东门那边", "垃圾桶满了没人清", "环境卫生"),
    ("对面", "半夜一直在装修，吵死了", "噪音扰民"),
    ("后门", "有人在烧垃圾，烟很大", "环境卫生"),
    ("西门", "路灯坏了，晚上黑乎乎的", "市政设施"),
    ("小区东门那边", "电动车乱停把路都堵死了", "市容秩序"),
])
def test_words_saying_only_where_sent_first_are_no_report_and_the_matter_that_follows_is_read_with_them(
        wecom, fake_wecom, db, where, matter, category):
    """东门那边 sent first, the way people type in pieces, opened a case of 突发事件 asking its address (对面: 噪音扰民,
    后门: 治安隐患, as the model read them); 西门 got the help text and was lost. They name no matter: no case, the
    resident is asked to go on, and the report that follows is one case of both messages' words."""
    resident, userid = kf_resident(fake_wecom, wecom, f"wmVoicesWhereFirst{ord(where[0])}")
    first = said(resident, where)
    assert f"“{where}”" in first and "事项编号" not in first and "哪一类" not in first and HELP_LINE not in first, first
    assert cases_of(db, userid) == 0
    number_in(said(resident, matter))
    with db() as session:
        case = session.scalars(select(Case).where(Case.reporter_userid == userid)).one()
        assert (case.text, case.category) == (f"{where} {matter}", category)


@pytest.mark.parametrize(("place", "grid", "matter"), [
    ("阳光小区二期", "阳光社区第二网格", "楼道的灯坏了好几天了"),
    ("滨江花园二期", "阳光社区第五网格", "单元门的门禁坏了关不上"),
    ("湖景苑", "阳光社区第三网格", "有人在烧垃圾，烟很大"),
])
def test_an_estate_or_its_phase_sent_alone_is_the_place_of_the_report_that_follows(
        wecom, fake_wecom, db, place, grid, matter):
    """阳光小区二期 alone (an estate and its phase, one grid's) got the help text, and the report that followed was
    asked its address again, as 阳光小区一期5栋 alone is not: the place said first is noted and the report that
    follows is placed there."""
    resident, userid = kf_resident(fake_wecom, wecom, f"wmVoicesEstateFirst{ord(place[0])}")
    noted = said(resident, place)
    assert place in noted and grid in noted and HELP_LINE not in noted and "事项编号" not in noted, noted
    opened = said(resident, matter)
    assert "事项编号" in opened and "具体地址" not in opened and place in opened, opened
    with db() as session:
        case = session.scalars(select(Case).where(Case.reporter_userid == userid)).one()
        assert (case.grid.name, case.state) == (grid, "pending")


def test_an_estate_building_in_two_phases_sent_alone_is_kept_and_its_phase_asked_with_the_report(
        wecom, fake_wecom, db):
    """阳光小区3栋 alone (building 3 of 一期 and of 二期, two grids) got the help text and was lost: it is kept, the
    report that follows asks only which phase, and the answer places it at that phase's building 3."""
    resident, userid = kf_resident(fake_wecom, wecom, "wmVoicesEstateTwoParts")
    kept = said(resident, "阳光小区3栋")
    assert "阳光小区3栋" in kept and HELP_LINE not in kept and "事项编号" not in kept, kept
    case = number_in(asked := said(resident, "电梯门关不上，一直在响"))
    assert "哪一期" in asked, asked
    placed = said(resident, "二期")
    assert case in placed and "阳光小区二期3-4栋" in placed, placed
    assert cases_of(db, userid) == 1


def test_a_report_naming_its_own_place_after_an_estate_sent_alone_is_placed_where_it_says(wecom, fake_wecom, db):
    """The estate said first is where a report naming no place goes; one naming its own estate is placed there."""
    resident, userid = kf_resident(fake_wecom, wecom, "wmVoicesEstateThenOther")
    said(resident, "阳光小区二期")
    opened = said(resident, "金桂园3栋门口的垃圾桶满了")
    assert "金桂园3-4栋" in opened and "阳光小区" not in opened, opened
    with db() as session:
        case = session.scalars(select(Case).where(Case.reporter_userid == userid)).one()
        assert case.text == "金桂园3栋门口的垃圾桶满了"


@pytest.mark.parametrize("greeting", ["喂", "你好"])
def test_a_greeting_while_asked_the_category_is_answered_and_the_question_stands(wecom, fake_wecom, db, greeting):
    """Asked which category 家里的水管有点渗水 is, 你好 opened it as 其他 (its address asked) and 喂 was
    joined to its words as more of the report: a greeting is answered, the question asked again, and the report's
    words stay the resident's."""
    resident, userid = kf_resident(fake_wecom, wecom, f"wmVoicesHelloCategory{ord(greeting[0])}")
    report = "家里的水管有点渗水"
    assert "哪一类" in said(resident, report)
    again = said(resident, greeting)
    assert "哪一类" in again and "事项编号" not in again, again
    assert cases_of(db, userid) == 0
    number_in(said(resident, "1"))
    with db() as session:
        assert session.scalars(select(Case.text).where(Case.reporter_userid == userid)).one() == report
