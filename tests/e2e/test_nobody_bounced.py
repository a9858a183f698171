"""Nobody bounced, nothing dropped: every report a resident sends becomes a case they can follow.

Over the encrypted callback: the ask-back offers 其他; 其他, silence (the clock) or moving on
opens the report as 居民诉求-其他; media with no words opens a case after a short wait. Every
sentence here is our own (none from a test or held-out file). The app runs on the shipped rules
plus three test rules on invented words, without the learned model's examples, so that which
sentence is asked back and which is sure does not depend on how the shipped classifier is tuned.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from opencc import OpenCC
from sqlalchemy import select

from config.settings import Settings
from models import Case, Correction, InboundMessage, Resident, Unit
from tests.cli import cli_json
from tests.e2e.conftest import clock_after, config_with_quiet_hours, demo_settings
from tests.e2e.kf_chat import KF_WELCOME, KfResident
from tests.e2e.worker_chat import digits, number_in, queued, show
from tests.wecom_sim import location_xml, media_xml

OTHER = "居民诉求-其他"
ASKED = "楼下那家店的蓝莓怪味道和动静都很大"  # two categories tie: asked back
ASKED_TOO = "门口又来了蓝莓怪，真让人心烦"
SURE = "楼下橙子怪把下水井盖弄坏了"  # one category is sure: opened at once
SURE_TOO = "橙子怪又把路边的下水道堵了，污水漫到人行道上"
UNKNOWN = "紫色小精灵天天在楼下转悠"  # no rule knows it
TEST_RULES = {"环境卫生": [{"id": "t-blueberry", "keywords": ["蓝莓怪"], "weight": 1.0}],
              "噪音扰民": [{"id": "t-blueberry-noise", "keywords": ["蓝莓怪"], "weight": 1.0}],
              "市政设施": [{"id": "t-orange", "keywords": ["橙子怪"], "weight": 5.0}]}


@pytest.fixture(scope="module")
def app_settings(database_url, fake_wecom, tmp_path_factory) -> Settings:
    config_dir = Path(config_with_quiet_hours(tmp_path_factory.mktemp("bounce"), "00:00", "00:00"))
    shutil.rmtree(config_dir / "examples", ignore_errors=True)
    for category, rules in TEST_RULES.items():
        path = config_dir / "rules" / f"{category}.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["rules"] = [*data["rules"], *rules]
        path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return demo_settings(database_url, fake_wecom, config_dir=str(config_dir))


def bound(wecom, database_url, userid: str) -> str:
    """A new resident bound to a unit (their reports are placed at once); the unit's code."""
    unit = cli_json(["units", "--json"], database_url)[1]
    assert "绑定" in wecom.send_text(userid, f"绑定 {unit['address']}")
    return unit["code"]


def asked_choices(reply: str) -> dict[str, str]:
    """The ask-back's choices: category → the digit that picks it (其他 with its note; the others without the examples
    beside them)."""
    choices = {name: digit for digit, name in re.findall(r"^(\d) (\S+)", reply, re.MULTILINE)}
    return {name if name.startswith("其他") else name.partition("（")[0]: digit for name, digit in choices.items()}


def progress(wecom, userid: str) -> set[str]:
    return set(re.findall(r"GB-\d{6}", wecom.send_text(userid, "进度")))


def reported(db, userid: str) -> list[str]:
    """The case numbers of `userid`'s reports, read from the database (a message would move the talk on)."""
    with db() as session:
        return [f"GB-{n:06d}" for n in session.scalars(select(Case.id).where(Case.reporter_userid == userid))]


def linked_words(db, case_number: str) -> list[str | None]:
    """The words of the messages linked to a case (a case links the one message its words came from)."""
    with db() as session:
        return list(session.scalars(select(InboundMessage.content)
                                    .where(InboundMessage.case_id == int(case_number[3:]))))


def corrections_for(db, case_number: str) -> list[Correction]:
    with db() as session:
        return list(session.scalars(select(Correction).where(Correction.case_id == int(case_number[3:]))))


def kf_scanned(wecom, fake_wecom, database_url, external_userid: str, unit_index: int,
               welcome: bool = False) -> tuple[KfResident, dict]:
    """A plain-WeChat resident who scanned a building's code (greeted or not): the resident and the building (a
    unit of `gridbot units --json`); their reports go to that building."""
    unit = cli_json(["units", "--json"], database_url)[unit_index]
    resident = KfResident(fake_wecom, wecom, external_userid)
    resident.write(msgtype="event", event_type="enter_session", scene="building", scene_param=unit["code"],
                   welcome=welcome)
    return resident, unit


def kf_asked_back(wecom, fake_wecom, database_url, external_userid: str, unit_index: int,
                  welcome: bool = False) -> tuple[KfResident, dict, dict[str, str]]:
    """A plain-WeChat resident who scanned a building's code (greeted or not) and whose report (ASKED) is asked
    back: the resident, the building (a unit of `gridbot units --json`) and the choices offered."""
    resident, unit = kf_scanned(wecom, fake_wecom, database_url, external_userid, unit_index, welcome)
    if welcome:
        fake_wecom.wait_for(lambda: fake_wecom.calls(KF_WELCOME))
    resident.say(ASKED)
    return resident, unit, asked_choices(resident.wait_for(1)[0])


def first_choice_opens_the_report(resident: KfResident, choices: dict[str, str], unit: dict, db, database_url):
    """The resident answers the ask-back with its first choice: the report opens in it, at the building."""
    name, digit = next(iter(choices.items()))
    before = len(resident.received())
    resident.say(digit)
    answer = resident.wait_for(before + 1)[-1]
    [number] = reported(db, f"kf:{resident.external_userid}")
    assert number in answer, answer
    case = show(number, database_url)
    assert (case["text"], case["category"], case["unit"]) == (ASKED, name, unit["code"])


def test_the_ask_back_offers_other_and_other_opens_the_case_for_the_worker_to_sort(wecom, db, database_url):
    bound(wecom, database_url, "nb-other")
    question = wecom.send_text("nb-other", ASKED)
    choices = asked_choices(question)
    assert list(choices)[-1] == "其他（由网格员判断）" and len(choices) >= 3, question
    # a grid matter is offered with what it holds, in a resident's words (物业管理（物业服务、电梯、门禁等）)
    assert re.search(r"^1 \S+（\S+、\S+等）$", question, re.MULTILINE), question
    reply = wecom.send_text("nb-other", choices["其他（由网格员判断）"])
    number = number_in(reply)
    case = show(number, database_url)
    assert (case["category"], case["state"]) == (OTHER, "pending")
    assert case["assignee"] and case["text"] == ASKED
    assert "网格员会核实具体类别" in reply
    worker_notice = queued(db, case["assignee"], number)
    assert worker_notice and f"改类 {int(number[3:])}" in worker_notice[0]
    [taught] = corrections_for(db, number)
    assert (taught.label, taught.source, taught.actor) == (OTHER, "ask_back", "nb-other")
    assert linked_words(db, number) == [ASKED]


def test_a_chosen_category_is_kept_as_a_labelled_example(wecom, db, database_url):
    bound(wecom, database_url, "nb-choose")
    choices = asked_choices(wecom.send_text("nb-choose", ASKED_TOO))
    name, digit = next(iter(choices.items()))
    number = number_in(wecom.send_text("nb-choose", digit))
    assert show(number, database_url)["category"] == name
    [taught] = corrections_for(db, number)
    assert (taught.text, taught.label, taught.source) == (ASKED_TOO, name, "ask_back")
    assert linked_words(db, number) == [ASKED_TOO]


@pytest.mark.parametrize("written", ["第一个", "一", "壹", "1、", "选1", "{first} in traditional characters",
                                     "the whole line of the first choice"])
def test_an_answer_written_the_way_people_write_numbers_opens_that_choice_and_nothing_else(
        wecom, db, database_url, written):
    userid = f"nb-written-{written}"[:40]
    bound(wecom, database_url, userid)
    choices = asked_choices(wecom.send_text(userid, ASKED))
    first, digit = next(iter(choices.items()))
    answer = {"{first} in traditional characters": OpenCC("s2t").convert(first),
              "the whole line of the first choice": f"{digit} {first}"}.get(written, written)
    reply = wecom.send_text(userid, answer)
    assert "请问" not in reply, reply
    [number] = reported(db, userid)  # the answer is no second report (the reply may link it to a neighbour's)
    assert number in reply and show(number, database_url)["category"] == first
    assert linked_words(db, number) == [ASKED]


def test_an_ask_back_left_unanswered_opens_the_case_when_its_time_runs_out(wecom, db, database_url, app_settings):
    bound(wecom, database_url, "nb-silent")
    assert "其他" in wecom.send_text("nb-silent", ASKED)
    assert reported(db, "nb-silent") == []
    assert clock_after(database_url, app_settings, 5)["settled"] == 0  # not yet: the resident may still answer
    assert clock_after(database_url, app_settings, 11)["settled"] >= 1
    [number] = reported(db, "nb-silent")
    assert progress(wecom, "nb-silent") == {number}
    case = show(number, database_url)
    assert (case["category"], case["state"], case["text"]) == (OTHER, "pending", ASKED)
    assert queued(db, "nb-silent", number, "已登记")  # the resident hears of it
    assert linked_words(db, number) == [ASKED]
    assert clock_after(database_url, app_settings, 12)["settled"] == 0  # opened once


def test_a_resident_who_moves_on_keeps_both_reports(wecom, db, database_url):
    bound(wecom, database_url, "nb-moves-on")
    assert "其他" in wecom.send_text("nb-moves-on", ASKED)
    second = number_in(wecom.send_text("nb-moves-on", SURE))
    numbers = progress(wecom, "nb-moves-on")
    assert len(numbers) == 2 and second in numbers
    [first] = numbers - {second}
    assert (show(first, database_url)["text"], show(first, database_url)["category"]) == (ASKED, OTHER)
    assert show(second, database_url)["text"] == SURE
    assert queued(db, "nb-moves-on", first, "已登记")
    assert (linked_words(db, first), linked_words(db, second)) == ([ASKED], [SURE])


def test_a_place_written_instead_of_the_category_places_the_waiting_report(wecom, db, database_url):
    """Not bound to a unit, the resident answers the ask-back with where it is: the report opens there."""
    unit = cli_json(["units", "--json"], database_url)[3]
    assert "其他" in wecom.send_text("nb-place-instead", ASKED)
    reply = wecom.send_text("nb-place-instead", unit["address"])
    [number] = reported(db, "nb-place-instead")
    assert number in reply and "请告诉我们具体地址" not in reply, reply
    case = show(number, database_url)
    assert (case["text"], case["unit"], case["state"]) == (ASKED, unit["code"], "pending")
    assert not queued(db, "nb-place-instead", "请告诉我们具体地址")  # not asked for the place it was just given


def test_a_plain_wechat_resident_from_a_buildings_code_is_asked_back_and_the_answer_opens_the_report(
        wecom, fake_wecom, db, database_url):
    """The greeting's offer to bind the building is still open when the first report needs the ask-back:
    the question must be remembered, or the answer finds nothing and the report is lost."""
    resident, unit, choices = kf_asked_back(wecom, fake_wecom, database_url, "wmNobodyBouncedFromQr01", 4,
                                            welcome=True)
    first_choice_opens_the_report(resident, choices, unit, db, database_url)


def test_a_plain_wechat_resident_who_comes_back_through_the_code_while_asked_back_keeps_the_report(
        wecom, fake_wecom, db, database_url):
    """Leaving the chat and scanning the building's code again greets the resident afresh; the greeting must
    not put its offer to bind the building in place of the ask-back, or the answer binds and the report is lost."""
    resident, unit, choices = kf_asked_back(wecom, fake_wecom, database_url, "wmNobodyBouncedComesBack1", 6)
    again = resident.write(msgtype="event", event_type="enter_session", scene="building", scene_param=unit["code"])
    greeting = fake_wecom.wait_for(lambda: [c["json"]["text"]["content"] for c in fake_wecom.calls(KF_WELCOME)
                                            if c["json"]["code"] == again["welcome_code"]])
    assert greeting and "绑定" not in greeting[0], greeting
    first_choice_opens_the_report(resident, choices, unit, db, database_url)


def test_a_report_sent_again_while_asked_back_is_asked_once(wecom, fake_wecom, db, database_url):
    """The same words again while their ask-back waits are the same report: the question is repeated. Before,
    they were read as a new matter: the first opened as 其他 and the second was asked back, two cases in the end."""
    resident, unit, choices = kf_asked_back(wecom, fake_wecom, database_url, "wmNobodyBouncedSaysAgain1", 7)
    resident.say(ASKED)
    again = fake_wecom.wait_for(lambda: resident.received()[1:])
    assert again and "GB-" not in "".join(again) and asked_choices(again[0]) == choices, again
    first_choice_opens_the_report(resident, choices, unit, db, database_url)


@pytest.mark.parametrize("moved_on", [True, False], ids=["another report", "time ran out"])
def test_a_plain_wechat_resident_hears_of_the_waiting_report_opened_without_their_answer(
        wecom, fake_wecom, db, database_url, app_settings, moved_on):
    """The report asked back is opened as 其他 when the resident writes about something else or says nothing:
    they are told its number through 微信客服, where they are (an app message never reaches them)."""
    external_userid = f"wmNobodyBouncedSetAside{int(moved_on)}"
    resident, _, choices = kf_asked_back(wecom, fake_wecom, database_url, external_userid, 5)
    assert "其他（由网格员判断）" in choices
    userid = f"kf:{resident.external_userid}"
    if moved_on:
        resident.say(SURE)
        assert "已登记" in resident.wait_for(2)[1]
    else:
        assert clock_after(database_url, app_settings, 11)["settled"] >= 1
    with db() as session:
        [first] = [f"GB-{n:06d}" for n in session.scalars(select(Case.id).where(
            Case.reporter_userid == userid, Case.text == ASKED))]
    told = fake_wecom.wait_for(lambda: [text for text in resident.received() if first in text])
    assert told and "已登记" in told[0], resident.received()


@pytest.mark.parametrize("asked", [False, True], ids=["before the words", "while asked back"])
def test_a_location_sent_before_the_report_is_opened_places_it(wecom, db, database_url, asked):
    """Not bound to a unit: a location pin sent before the words, or while the ask-back waits, is the place."""
    userid = f"nb-pin-{asked}"
    with db() as session:
        unit = session.scalars(select(Unit).where(Unit.lat.is_not(None)).order_by(Unit.id.desc()).limit(1)).one()
        lat, lng, grid_code = unit.lat, unit.lng, unit.grid.code
    if asked:
        choices = asked_choices(wecom.send_text(userid, ASKED))
    pinned = wecom.reply_text(wecom.post_xml(location_xml(userid, lat, lng, "小区东门")))
    assert "位置" in pinned, pinned
    reply = wecom.send_text(userid, choices["其他（由网格员判断）"] if asked else SURE)
    [number] = reported(db, userid)
    assert number in reply and "请告诉我们具体地址" not in reply, reply
    case = show(number, database_url)
    assert (case["state"], case["grid"], case["place_source"]) == ("pending", grid_code, "location")
    assert case["text"] == (ASKED if asked else SURE)


def test_a_location_sent_with_the_words_beats_the_bound_address(wecom, db, database_url):
    """Bound to a unit, a resident who pins where the matter is gets the report placed at the pin."""
    userid = "nb-pin-bound"
    home = bound(wecom, database_url, userid)
    with db() as session:
        unit = session.scalars(select(Unit).where(Unit.lat.is_not(None)).order_by(Unit.id.desc()).limit(1)).one()
        lat, lng, grid_code = unit.lat, unit.lng, unit.grid.code
    assert "位置" in wecom.reply_text(wecom.post_xml(location_xml(userid, lat, lng, "村口")))
    number = number_in(wecom.send_text(userid, SURE))
    case = show(number, database_url)
    assert (case["grid"], case["place_source"]) == (grid_code, "location") and case["unit"] != home


def test_the_rating_asked_while_another_question_was_open_is_taken_after_it(wecom, db, database_url):
    """The case is closed while the resident is being asked back about another report: its notice asks
    "回复 1 满意…", so the 1 that follows the ask-back's answer rates the case (it got the help text)."""
    bound(wecom, database_url, "nb-rate-later")
    closed = number_in(wecom.send_text("nb-rate-later", "橙子怪把小区里的健身器材弄坏了"))  # no neighbour's case
    worker = show(closed, database_url)["assignee"]
    assert "已接单" in wecom.send_text(worker, f"接单 {digits(closed)}")
    choices = asked_choices(wecom.send_text("nb-rate-later", ASKED))
    wecom.send_text(worker, f"办结 {digits(closed)} 井盖已换新")
    assert queued(db, "nb-rate-later", closed, "请您评价")
    assert "请问" not in wecom.send_text("nb-rate-later", choices["其他（由网格员判断）"])
    rated = wecom.send_text("nb-rate-later", "1")
    assert "感谢您的评价" in rated and closed in rated, rated
    assert show(closed, database_url)["state"] == "archived"


def test_a_bare_yes_is_no_report_of_its_own(wecom, db, database_url):
    """对 to the ask-back opens the waiting report (as 其他) in the reply; 好 with nothing asked opens nothing."""
    bound(wecom, database_url, "nb-yes")
    assert "其他" in wecom.send_text("nb-yes", ASKED)
    reply = wecom.send_text("nb-yes", "对")
    [number] = reported(db, "nb-yes")
    assert number in reply and "请问" not in reply, reply
    assert show(number, database_url)["text"] == ASKED
    assert "帮助" in wecom.send_text("nb-yes", "好")
    assert reported(db, "nb-yes") == [number]


def test_a_report_no_rule_recognises_is_never_bounced(wecom, database_url):
    bound(wecom, database_url, "nb-unknown")
    reply = wecom.send_text("nb-unknown", UNKNOWN)
    assert "没太明白" not in reply and "帮助" not in reply
    if "其他" in reply:  # asked back: 其他 opens it
        reply = wecom.send_text("nb-unknown", asked_choices(reply)["其他（由网格员判断）"])
    assert show(number_in(reply), database_url)["state"] == "pending"


def test_greetings_and_small_talk_get_the_help_text_and_open_nothing(wecom):
    for text in ("你好", "今天天气不错啊", "[微笑]", "测试一下"):
        reply = wecom.send_text("nb-chat", text)
        assert "帮助" in reply and "GB-" not in reply, (text, reply)
    assert progress(wecom, "nb-chat") == set()


def test_a_voice_message_alone_opens_a_case_with_the_voice_after_a_short_wait(wecom, db, database_url,
                                                                              app_settings):
    bound(wecom, database_url, "nb-voice")
    reply = wecom.reply_text(wecom.post_xml(media_xml("nb-voice", "voice")))
    assert "语音" in reply and "3分钟" in reply
    assert reported(db, "nb-voice") == []
    assert clock_after(database_url, app_settings, 4)["settled"] >= 1
    [number] = reported(db, "nb-voice")
    case = show(number, database_url)
    assert (case["category"], case["state"]) == (OTHER, "pending")
    assert case["assignee"] is not None
    assert [a["kind"] for a in case["events"][0]["attachments"]] == ["voice"]


def test_words_naming_a_place_after_a_photo_was_opened_to_be_sorted_place_it_and_stay_on_it(
        wecom, db, database_url, app_settings):
    """A photo alone, the wait for words over: a case to be sorted, asked for its place. 湖景苑3栋楼道的灯坏了… gives
    the place and says what the photo shows: placed there, and the words are on the case for its worker (they were
    read as the address only, and lost)."""
    wecom.reply_text(wecom.post_xml(media_xml("nb-photo-late", "image")))
    assert clock_after(database_url, app_settings, 4)["settled"] >= 1
    [number] = reported(db, "nb-photo-late")
    words = "湖景苑3栋楼道的灯坏了，晚上上楼看不见"
    assert number in wecom.send_text("nb-photo-late", words)
    case = show(number, database_url)
    assert case["state"] == "pending" and case["assignee"], case
    assert any(event["note"] == words for event in case["events"]), case["events"]
    assert queued(db, case["assignee"], number, words)


def test_words_after_a_photo_make_the_report_with_the_photo_attached(wecom, database_url):
    bound(wecom, database_url, "nb-photo")
    wecom.reply_text(wecom.post_xml(media_xml("nb-photo", "image")))
    number = number_in(wecom.send_text("nb-photo", SURE_TOO))
    case = show(number, database_url)
    assert case["text"] == SURE_TOO and case["category"] != OTHER
    assert [a["kind"] for a in case["events"][0]["attachments"]] == ["image"]


def test_a_new_report_while_an_address_is_awaited_is_kept_as_a_report(wecom, database_url):
    first = number_in(wecom.send_text("nb-no-address", SURE))
    assert show(first, database_url)["state"] == "awaiting_place"
    reply = wecom.send_text("nb-no-address", SURE_TOO)  # not an address: another problem
    second = number_in(reply)
    assert second != first and show(second, database_url)["text"] == SURE_TOO
    assert progress(wecom, "nb-no-address") == {first, second}


def test_the_same_report_again_while_its_address_is_asked_names_the_case_and_asks_again(wecom, database_url):
    first = number_in(wecom.send_text("nb-again-no-address", SURE))
    assert show(first, database_url)["state"] == "awaiting_place"
    again = wecom.send_text("nb-again-no-address", SURE)
    assert number_in(again) == first and "地址" in again, again
    unit = cli_json(["units", "--json"], database_url)[8]
    assert first in wecom.send_text("nb-again-no-address", unit["address"])
    assert show(first, database_url)["unit"] == unit["code"]
    assert progress(wecom, "nb-again-no-address") == {first}


def test_a_bare_1_after_another_question_rates_the_closed_case_before_it_binds_the_scanned_building(
        wecom, fake_wecom, db, database_url):
    """A case closed while its resident was asked back is not put to them as a question, yet its notice says
    '回复 1 满意'; the 1 that follows rates it. It used to bind the building the resident scanned, the offer their
    greeting made, and the rating the notice asked for was never given."""
    unit = cli_json(["units", "--json"], database_url)[9]
    resident = KfResident(fake_wecom, wecom, "wmNobodyBouncedRatesBy1")
    userid = f"kf:{resident.external_userid}"
    resident.write(msgtype="event", event_type="enter_session", scene="building", scene_param=unit["code"],
                   welcome=False)
    resident.say(SURE)
    first = number_in(resident.wait_for(1)[0])
    resident.say(ASKED)
    digit = next(iter(asked_choices(resident.wait_for(2)[1]).values()))
    assignee = show(first, database_url)["assignee"]
    wecom.send_text(assignee, f"接单 {int(first[3:])}")
    assert "已办结" in wecom.send_text(assignee, f"办结 {int(first[3:])} 已修好")
    resident.say(digit)
    assert fake_wecom.wait_for(lambda: set(re.findall(r"GB-\d{6}", "".join(resident.received()))) - {first})
    sent = len(resident.received())
    resident.say("1")
    assert fake_wecom.wait_for(lambda: [text for text in resident.received()[sent:] if "满意" in text])
    assert show(first, database_url)["rating"] == "satisfied"
    with db() as session:
        assert session.scalars(select(Unit).join(Resident, Resident.unit_id == Unit.id)
                               .where(Resident.userid == userid)).first() is None


def timed_out(wecom, db, database_url, app_settings, userid: str, text: str = ASKED) -> tuple[str, dict[str, str]]:
    """A bound resident's report asked back and opened as 其他 by the time-out: its number and the choices offered."""
    bound(wecom, database_url, userid)
    choices = asked_choices(wecom.send_text(userid, text))
    assert clock_after(database_url, app_settings, 11)["settled"] >= 1
    [number] = reported(db, userid)
    assert show(number, database_url)["category"] == OTHER
    return number, choices


def test_a_category_answered_after_the_time_out_sorts_the_case_it_opened(wecom, db, database_url, app_settings):
    """The resident answers the ask-back after its time ran out: the case opened as 其他 takes the category they
    chose, its worker hears of it and the timeline shows the resident's answer. It got the help text."""
    number, choices = timed_out(wecom, db, database_url, app_settings, "nb-late-answer")
    name, digit = next(iter(choices.items()))
    reply = wecom.send_text("nb-late-answer", digit)
    assert number in reply and name in reply and "帮助" not in reply, reply
    case = show(number, database_url)
    assert case["category"] == name
    [changed] = [event for event in case["events"] if event["action"] == "recategorize"]
    assert changed["actor"] == "nb-late-answer" and name in changed["note"]
    assert queued(db, case["assignee"], number, name)
    assert {taught.label for taught in corrections_for(db, number)} == {name}
    assert reported(db, "nb-late-answer") == [number]  # no second case


def test_a_late_answer_leaves_a_category_a_worker_already_set(wecom, db, database_url, app_settings):
    number, choices = timed_out(wecom, db, database_url, app_settings, "nb-late-after-worker")
    worker = show(number, database_url)["assignee"]
    assert "市政设施" in wecom.send_text(worker, f"改类 {digits(number)} 市政设施")
    name = next(iter(choices))
    reply = wecom.send_text("nb-late-after-worker", name)
    assert number in reply and "市政设施" in reply and "帮助" not in reply, reply
    assert show(number, database_url)["category"] == "市政设施"
    assert reported(db, "nb-late-after-worker") == [number]


def test_a_late_answer_that_moves_the_case_tells_its_first_worker_it_is_no_longer_theirs(wecom, db, database_url,
                                                                                          app_settings):
    """Opened as 其他 at 湖景苑 (yg-worker-3), sorted by the late answer to 环境卫生 (yg-clean-1): the first worker read
    only 【居民转派】… 说明：吴桂芳, not that the case left them. One notice each: the first worker's says the category
    changed and the case left them (it was two, 改类 then 转派), the new worker's card says the resident chose the
    category (it read 居民转派)."""
    assert "绑定" in wecom.send_text("nb-late-moves", "绑定 湖景苑3栋")
    choices = asked_choices(wecom.send_text("nb-late-moves", ASKED))
    assert clock_after(database_url, app_settings, 11)["settled"] >= 1
    [number] = reported(db, "nb-late-moves")
    first = show(number, database_url)["assignee"]
    assert number in wecom.send_text("nb-late-moves", choices["环境卫生"])
    now = show(number, database_url)["assignee"]
    assert (first, now) == ("yg-worker-3", "yg-clean-1")
    assert queued(db, first, number, "已改由吴桂芳办理，您无需再跟进"), queued(db, first, number)
    [card, moved] = queued(db, first, number)
    assert "【新事项】" in card and "环境卫生" in moved, moved
    [handed] = queued(db, now, f"【转派给您】{number}")
    assert "居民选择了类别“环境卫生”" in handed and "居民转派" not in handed, handed


# Asked back (蓝莓怪: 环境卫生 or 噪音扰民), reported by two neighbours of one unit.
GARAGE = "蓝莓怪在车库入口折腾了一整晚"
STAIRS = "蓝莓怪把楼梯间弄得乱七八糟"


def sorted_on_answer(wecom, database_url, userid: str, text: str, category: str) -> str:
    """A bound resident's report asked back and answered at once with `category`: its number."""
    bound(wecom, database_url, userid)
    reply = wecom.send_text(userid, asked_choices(wecom.send_text(userid, text))[category])
    return number_in(reply)


def test_a_late_answer_that_sorts_the_case_like_a_neighbours_open_case_links_it(wecom, db, database_url,
                                                                                app_settings):
    """Opened as 其他 by the time-out, then sorted by the resident's late answer: it was never compared, so the
    neighbour's case of the same words at the same unit got a second case. Sorted, it follows it as a report arriving
    sorted would, and the resident hears which case it follows."""
    first = sorted_on_answer(wecom, database_url, "nb-dup-first", GARAGE, "环境卫生")
    number, choices = timed_out(wecom, db, database_url, app_settings, "nb-dup-late", GARAGE)
    reply = wecom.send_text("nb-dup-late", choices["环境卫生"])
    assert "已有人反映" in reply and first in reply and number in reply, reply
    case = show(number, database_url)
    assert (case["state"], case["duplicate_of"], case["category"]) == ("merged", first, "环境卫生")


def test_a_worker_sorting_a_case_like_a_neighbours_open_one_is_told_and_merges_with_one_word(
        wecom, db, database_url, app_settings):
    """A worker's 改类 of a case opened as 其他 into the matter of a neighbour's alike open case at the unit: marked
    疑似重复, and the worker's reply says with which case and how to merge (the worker sorting it decides)."""
    first = sorted_on_answer(wecom, database_url, "nb-sus-first", STAIRS, "环境卫生")
    number, _ = timed_out(wecom, db, database_url, app_settings, "nb-sus-late", STAIRS)
    worker = show(number, database_url)["assignee"]
    reply = wecom.send_text(worker, f"改类 {digits(number)} 环境卫生")
    assert "疑似重复" in reply and f"合并 {digits(number)} {digits(first)}" in reply, reply
    case = show(number, database_url)
    assert (case["state"], case["suspect_of"], case["duplicate_of"]) == ("pending", first, None)


def test_words_added_while_the_category_is_asked_are_said_to_be_noted_and_stay_on_the_report(wecom, db, database_url):
    """A report asked back, then more of it (when it is worst): the question came again word for word, as if the words
    were lost. Now the reply says they are noted, and the case the choice opens holds them."""
    bound(wecom, database_url, "nb-added")
    asked = wecom.send_text("nb-added", ASKED)
    again = wecom.send_text("nb-added", "晚上十点以后最明显")
    assert "已记下您补充的“晚上十点以后最明显”" in again and asked_choices(again) == asked_choices(asked), again
    assert "请问" not in wecom.send_text("nb-added", "1")
    [number] = reported(db, "nb-added")  # its own case (perhaps linked to a neighbour's of the same words)
    assert show(number, database_url)["text"] == f"{ASKED} 晚上十点以后最明显"
