"""微信客服 end to end: a resident on plain WeChat, over the encrypted callback and the fake WeCom.

They arrive through a building's QR code, are greeted, report without naming an address, the case
lands in that building's grid, the worker's 接单 reaches them through kf, the sixth notice after
their last message is held, 进度 reopens the window, a redelivered event changes nothing, and the
progress link shows the case while a tampered one does not.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from bot.app import create_app
from config.settings import Settings
from models import (
    Area,
    AreaLevel,
    Case,
    CaseEvent,
    Grid,
    InboundMessage,
    KfAccount,
    KfContact,
    OutboxMessage,
    Resident,
    Unit,
    Worker,
)
from tests.cli import run_cli
from tests.e2e.admin_client import logged_in
from tests.e2e.conftest import demo_settings
from tests.e2e.kf_chat import KF_SEND, KF_WELCOME, KfResident
from tests.servers import free_port, serve_in_thread


@pytest.fixture(scope="module")
def app_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
def app_settings(database_url, fake_wecom, app_port, tmp_path_factory) -> Settings:
    return demo_settings(database_url, fake_wecom, public_url=f"http://127.0.0.1:{app_port}",
                         media_dir=tmp_path_factory.mktemp("media"))


@pytest.fixture(scope="module")
def app_url(app_settings, app_port) -> str:
    with serve_in_thread(create_app(app_settings), port=app_port) as url:
        yield url


@pytest.fixture(scope="module")
def building(db) -> tuple[str, str, str]:
    """(unit code, address, grid code) of a building in demo-worker's grid, not the demo resident's unit."""
    with db() as session:
        worker = session.scalars(select(Worker).where(Worker.userid == "demo-worker")).one()
        bound = session.scalars(select(Resident.unit_id).where(Resident.userid == "demo-resident")).one()
        unit = session.scalars(select(Unit).where(Unit.grid_id == worker.grids[0].id, Unit.id != bound)
                               .order_by(Unit.id)).first()
        return unit.code, unit.address, unit.grid.code


def _wait(probe, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (found := probe()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def _outbox(db, userid: str, *statuses: str) -> list[str]:
    """The texts of `userid`'s notices in any of `statuses`, read in one query (a notice read as pending and then
    again as sent by a second query would count twice)."""
    with db() as session:
        return list(session.scalars(select(OutboxMessage.text).where(
            OutboxMessage.recipient == userid, OutboxMessage.status.in_(statuses)).order_by(OutboxMessage.id)))


def _records(db) -> int:
    with db() as session:
        return session.scalar(select(func.count()).select_from(InboundMessage).where(InboundMessage.channel == "kf"))


def test_a_kf_resident_from_a_building_qr_code_is_served_within_the_window(wecom, fake_wecom, db, building, app_url,
                                                                          database_url):
    code, address, grid = building
    resident = KfResident(fake_wecom, wecom, "wmE2eResidentFromQr0001")
    userid = f"kf:{resident.external_userid}"

    # Arrives through the building's QR code: greeted once with the place, and asked once to bind it.
    made = resident.write(msgtype="event", event_type="enter_session", scene="building", scene_param=code)
    welcome = fake_wecom.wait_for(lambda: [c for c in fake_wecom.calls(KF_WELCOME)
                                           if c["json"]["code"] == made["welcome_code"]])
    assert welcome, "no greeting through kf/send_msg_on_event"
    greeting = welcome[0]["json"]["text"]["content"]
    assert address in greeting and "绑定" in greeting

    # Reports without naming an address: the case lands in that building and its grid.
    opened_before = _kf_cases_opened(app_url)
    resident.say("楼道里堆满了杂物和垃圾，好几天没人清理")
    opened = resident.wait_for(1)[0]
    number = re.search(r"GB-(\d{6})", opened).group(1)
    with db() as session:
        case = session.get(Case, int(number))
        assert (case.unit.code, case.grid.code, case.place_source) == (code, grid, "qr")
        assert case.reporter_userid == userid
    link = re.search(r"http://127\.0\.0\.1:\d+/p/\S+", opened).group(0)

    # The worker's 接单 reaches the resident through kf; 方案 and two 进展 use up the window of 5.
    assert "已接单" in wecom.send_text("demo-worker", f"接单 {int(number)}")
    assert "接单" in resident.wait_for(2)[1]
    for count, step in enumerate(("方案 {} 今天下午清运", "进展 {} 已联系物业", "进展 {} 清运车已出发"), start=3):
        wecom.send_text("demo-worker", step.format(int(number)))
        assert len(resident.wait_for(count)) == count  # one at a time: a burst would be folded into one
    fifth = resident.received()[4]
    assert link in fifth, "the window's last message points to the progress page"

    # The sixth notice is held, never offered to WeCom.
    wecom.send_text("demo-worker", f"进展 {int(number)} 楼道已清理干净")
    assert _wait(lambda: _outbox(db, userid, "held")), "the sixth notice was not held"
    time.sleep(0.3)
    assert len(resident.received()) == 5
    refused = [c for c in fake_wecom.http.get("/_fake/calls", params={"path": KF_SEND, "all": True}).json()
               if c["errcode"] != 0]
    assert refused == []

    # 进度 reopens the window: the answer comes, and the held notice with it.
    resident.say("进度")
    after = resident.wait_for(7)
    later = "\n".join(after[5:])
    assert f"GB-{number}" in later and "楼道已清理干净" in later
    assert _outbox(db, userid, "held") == []

    # A redelivered event changes nothing, even when the account's page comes again from the start.
    records, sent = _records(db), len(resident.received())
    resident.announce(made["token"])
    with db.begin() as session:
        session.get(KfAccount, resident.open_kfid).cursor = None
    resident.say("谢谢")
    assert resident.wait_for(sent + 1)
    time.sleep(0.3)
    assert _records(db) == records + 1
    assert len(resident.received()) == sent + 1

    # The console's case page names the channel; /metrics counts the case under it.
    console = logged_in(app_url)
    assert re.search(r'id="case-channel">微信客服<', console.get(f"/admin/cases/{int(number)}").text)
    console.close()
    assert _kf_cases_opened(app_url) == opened_before + 1  # the counter is the process's: tests before may add to it

    # The progress link shows the case; a tampered one does not.
    page = httpx.get(link)
    assert page.status_code == 200 and f"GB-{number}" in page.text and "楼道已清理干净" in page.text
    tampered = link[:-1] + ("A" if link[-1] != "A" else "B")
    refused_page = httpx.get(tampered)
    assert refused_page.status_code == 404 and f"GB-{number}" not in refused_page.text

    # A revoked link shows nothing either; the next reply naming the case carries a new one.
    revoked = run_cli(["case", "link", f"GB-{number}", "--revoke"], database_url)
    assert revoked.exit_code == 0 and "1 link(s) revoked" in revoked.stdout
    assert httpx.get(link).status_code == 404
    resident.say(f"进度 {int(number)}")
    fresh = re.search(r"http://127\.0\.0\.1:\d+/p/\S+", resident.wait_for(sent + 2)[-1]).group(0)
    assert fresh != link and httpx.get(fresh).status_code == 200


def test_the_console_prints_a_code_per_building_of_a_community(app_url, db):
    with db() as session:
        community = session.scalars(select(Area).where(Area.level == AreaLevel.COMMUNITY).order_by(Area.code)).first()
        units = set(session.scalars(select(Unit.code).join(Grid).where(Grid.area_id == community.id)))
    console = logged_in(app_url)
    try:
        page = console.get("/admin/qr", community=community.code)
        assert set(re.findall(r'data-unit="([^"]+)"', page.text)) == units
        assert page.text.count("<svg") == len(units)
        document = console.get(f"/admin/qr/{community.code}.pdf")
        assert document.headers["content-type"] == "application/pdf"
        assert re.search(rb"/Count (\d+)", document.content).group(1) == str(len(units)).encode()
    finally:
        console.close()


def _sends(fake_wecom, resident: KfResident) -> list[dict]:
    return [c for c in fake_wecom.calls(KF_SEND) if c["json"].get("touser") == resident.external_userid]


def _undelivered(db, case_id: int) -> list[str]:
    with db() as session:
        return list(session.scalars(select(CaseEvent.note).where(
            CaseEvent.case_id == case_id, CaseEvent.action == "notice_undelivered").order_by(CaseEvent.id)))


def _reported_at(fake_wecom, wecom, building, external_userid: str, text: str) -> tuple[KfResident, str, int]:
    """A resident who scanned `building`'s code (not greeted) and reported `text` there: them, their userid and
    the case's number."""
    resident = KfResident(fake_wecom, wecom, external_userid)
    resident.write(msgtype="event", event_type="enter_session", scene="building", scene_param=building[0],
                   welcome=False)
    resident.say(text)
    return resident, f"kf:{external_userid}", int(re.search(r"GB-(\d{6})", resident.wait_for(1)[0]).group(1))


def test_a_kf_message_wecom_reports_undelivered_is_held_noted_once_and_resent(wecom, fake_wecom, db, building,
                                                                             app_url):
    resident, userid, number = _reported_at(fake_wecom, wecom, building, "wmE2eUndeliveredNotice01",
                                            "楼下的路灯不亮了，晚上走路看不见")
    assert "已接单" in wecom.send_text("demo-worker", f"接单 {number}")
    taken = resident.wait_for(2)[1]
    assert "接单" in taken

    # WeCom accepted the 接单 notice, then reports it undelivered: the session had expired (fail_type 4).
    failure = resident.write(msgtype="event", event_type="msg_send_fail",
                             fail_msgid=_sends(fake_wecom, resident)[1]["msgid"], fail_type=4)
    assert _wait(lambda: _outbox(db, userid, "held")) == [taken]
    assert _wait(lambda: _undelivered(db, number)) == ["微信客服通知未送达居民（会话已过期），居民再次留言时补发。"]
    console = logged_in(app_url)
    try:
        assert "通知未送达" in console.get(f"/admin/cases/{number}").text
    finally:
        console.close()

    # The same event again (its page pulled once more from the start) changes nothing.
    resident.announce(failure["token"])
    with db.begin() as session:
        session.get(KfAccount, resident.open_kfid).cursor = None

    # The resident writes again: the held notice goes out with the answer, still noted once.
    resident.say(f"进度 {number}")
    assert _wait(lambda: len(_outbox(db, userid, "sent")) == 3)  # the opening, 接单 again, the answer
    assert _outbox(db, userid, "held") == [] and any(taken in text for text in resident.received()[2:])
    assert len(_undelivered(db, number)) == 1

    # What waiting cannot fix (the resident refuses messages, fail_type 10): dead, and the note says so.
    wecom.send_text("demo-worker", f"进展 {number} 已报修")
    reported = fake_wecom.wait_for(lambda: [c for c in _sends(fake_wecom, resident)
                                            if "已报修" in c["json"]["text"]["content"]])
    progress = reported[0]
    resident.write(msgtype="event", event_type="msg_send_fail", fail_msgid=progress["msgid"], fail_type=10)
    assert _wait(lambda: _outbox(db, userid, "dead")) == [progress["json"]["text"]["content"]]
    notes = _wait(lambda: _undelivered(db, number)[1:])
    assert notes == ["微信客服通知未送达居民（居民拒收），已转入失败通知，请电话联系居民。"]


def test_a_bound_resident_who_scans_another_buildings_code_reports_there(wecom, fake_wecom, db, building, app_url):
    code, address, grid = building
    with db() as session:
        home = session.scalars(select(Unit).where(Unit.code != code).order_by(Unit.id.desc())).first()
        home_code, home_address = home.code, home.address
    resident = KfResident(fake_wecom, wecom, "wmE2eBoundScansElsewhere1")

    # Arrives by the code of their own building and binds it (reply 1 to the greeting).
    resident.write(msgtype="event", event_type="enter_session", scene="building", scene_param=home_code)
    resident.say("1")
    assert home_address in resident.wait_for(1)[0]

    # Later scans another building's code: the greeting names both, and the next report goes there.
    made = resident.write(msgtype="event", event_type="enter_session", scene="building", scene_param=code)
    greeting = fake_wecom.wait_for(lambda: [c["json"]["text"]["content"] for c in fake_wecom.calls(KF_WELCOME)
                                            if c["json"]["code"] == made["welcome_code"]])
    assert greeting and address in greeting[0] and home_address in greeting[0] and "2小时" in greeting[0]
    resident.say("这栋楼的电梯又坏了，老人上不去")
    opened = resident.wait_for(2)[1]
    number = int(re.search(r"GB-(\d{6})", opened).group(1))
    assert address in opened and home_address not in opened
    with db() as session:
        case = session.get(Case, number)
        assert (case.unit.code, case.grid.code, case.place_source) == (code, grid, "qr")
        assert session.scalars(select(Resident).where(Resident.userid == f"kf:{resident.external_userid}")
                               ).one().unit.code == home_code  # still bound at home


def test_the_same_report_sent_twice_in_a_row_is_one_case(wecom, fake_wecom, db, building, app_url):
    """A resident who sends their report again (no answer yet, or a tap on resend: a new msgid, so the inbox
    cannot tell) is told the case it already is; before, a second case went to the worker for the same words."""
    code, _, _ = building
    resident = KfResident(fake_wecom, wecom, "wmE2eSameReportTwice01")
    userid = f"kf:{resident.external_userid}"
    resident.write(msgtype="event", event_type="enter_session", scene="building", scene_param=code, welcome=False)
    words = "单元门的门禁坏了，门一直关不上，谁都能进来"
    resident.say(words)
    resident.say(f"{words}。")
    told = fake_wecom.wait_for(lambda: [text for text in resident.received() if "重复" in text])  # maybe folded
    assert told, resident.received()
    assert set(re.findall(r"GB-\d{6}", "\n".join(resident.received()))) == {re.search(r"GB-\d{6}", told[0]).group(0)}
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Case).where(Case.reporter_userid == userid)) == 1


def test_a_resident_who_reports_before_answering_the_offer_to_bind_can_still_reply_1(wecom, fake_wecom, db, building,
                                                                                     app_url):
    """The greeting says '回复“1”可把这里绑定为您的住址'; a resident who first reports and then replies 1 binds the
    building. Before, the report had ended the offer and 1 got the whole help text."""
    code, address, _ = building
    resident = KfResident(fake_wecom, wecom, "wmE2eBindsAfterReport1")
    made = resident.write(msgtype="event", event_type="enter_session", scene="building", scene_param=code)
    assert fake_wecom.wait_for(lambda: [c for c in fake_wecom.calls(KF_WELCOME)
                                        if c["json"]["code"] == made["welcome_code"]])
    resident.say("楼下的单车乱停乱放，把人行道都堵死了")
    assert "已登记" in resident.wait_for(1)[0]
    resident.say("1")
    answer = resident.wait_for(2)[1]
    assert "已绑定" in answer and address in answer, answer
    with db() as session:
        assert session.scalars(select(Resident).where(Resident.userid == f"kf:{resident.external_userid}")
                               ).one().unit.code == code


@pytest.mark.parametrize(("answer", "report", "rating"), [
    ("挺满意的", "小区门口的减速带被压坏了，开车过去咯噔响", "satisfied"),
    ("还行吧", "花坛边上的自来水管一直在漏水", "basic"),
    ("不太满意", "楼顶平台的防护栏杆松动了", "unsatisfied"),
    ("还没弄好，一推栏杆还是晃", "天台的护栏松了", "unsatisfied, said why"),
])
def test_a_rating_in_the_words_people_use_rates_the_case_just_closed(wecom, fake_wecom, db, building, app_url,
                                                                    answer, report, rating):
    """After 办结 the resident is asked to rate; an answer in their own words rates. Before, 挺满意的 and 不太满意
    were asked back as new reports (opened as 其他 for the worker ten minutes later) and 还行 got the help text; an
    unsatisfied answer that says why reopens the case at once (it was asked for the reason it had given)."""
    code, _, _ = building
    resident = KfResident(fake_wecom, wecom, f"wmE2eRatesInWords{rating.replace(', said why', 'Why')}")
    userid = f"kf:{resident.external_userid}"
    resident.write(msgtype="event", event_type="enter_session", scene="building", scene_param=code, welcome=False)
    resident.say(report)
    number = int(re.search(r"GB-(\d{6})", resident.wait_for(1)[0]).group(1))
    with db() as session:
        assignee = session.get(Case, number).assignee.userid
    wecom.send_text(assignee, f"接单 {number}")
    assert "已办结" in wecom.send_text(assignee, f"办结 {number} 已处理好")
    assert fake_wecom.wait_for(lambda: [text for text in resident.received() if "请您评价" in text])
    sent = len(resident.received())
    resident.say(answer)
    reply = resident.wait_for(sent + 1)[-1]
    if rating == "unsatisfied, said why":
        assert "重新交办" in reply and "原因" not in reply, reply
        rating = "unsatisfied"
    elif rating == "unsatisfied":
        assert "原因" in reply, reply
        resident.say("栏杆还是晃的")
        reply = resident.wait_for(sent + 2)[-1]
    assert f"GB-{number:06d}" in reply and "请问" not in reply, reply
    with db() as session:
        assert session.get(Case, number).rating == rating
        assert session.scalar(select(func.count()).select_from(Case).where(Case.reporter_userid == userid)) == 1


def test_a_voice_message_or_photo_after_the_report_is_told_to_its_worker(wecom, fake_wecom, db, building, app_url):
    """What a resident sends after the report (a voice message with the details, a photo) joins the case and its
    worker hears of it, as of words added with 补充. Before, it was only on the timeline: nobody was told."""
    code, _, _ = building
    resident = KfResident(fake_wecom, wecom, "wmE2eVoiceAfterReport01")
    resident.write(msgtype="event", event_type="enter_session", scene="building", scene_param=code, welcome=False)
    resident.say("地下车库的排水沟堵了，下雨就积水")
    number = re.search(r"GB-\d{6}", resident.wait_for(1)[0]).group(0)
    resident.write(msgtype="voice")
    assert "语音" in resident.wait_for(2)[1]
    with db() as session:
        assignee = session.get(Case, int(number[3:])).assignee.userid
    assert _wait(lambda: [text for text in _outbox(db, assignee, "pending", "sent")
                          if number in text and "语音" in text])


def test_a_notice_after_the_residents_48_hours_is_held_its_worker_told_and_sent_when_they_write(
        wecom, fake_wecom, db, building, app_url):
    """WeCom lets nothing reach a plain-WeChat resident 48 h after their last message. A notice then is kept, and
    the case's timeline and its worker hear (once a window) that it waits for the resident to write, so the worker
    can phone them; it goes out when they do. Before, the worker was never told."""
    resident, userid, number = _reported_at(fake_wecom, wecom, building, "wmE2eWindowRanOut00001",
                                            "单元门的门禁坏了，门一直关不上")
    with db.begin() as session:  # two days pass without a word from the resident
        contact = session.scalars(select(KfContact).where(KfContact.userid == userid)).one()
        contact.last_message_at -= timedelta(hours=49)
    assert "已接单" in wecom.send_text("demo-worker", f"接单 {number}")
    assert _wait(lambda: _outbox(db, userid, "held"))
    assert _wait(lambda: _undelivered(db, number)) == ["微信客服通知未送达居民（会话已过期），居民再次留言时补发。"]
    assert _wait(lambda: [text for text in _outbox(db, "demo-worker", "pending", "sent")
                          if f"GB-{number:06d}" in text and "未送达" in text])
    wecom.send_text("demo-worker", f"进展 {number} 物业明早来修")
    assert _wait(lambda: len(_outbox(db, userid, "held")) == 2)
    assert len(_undelivered(db, number)) == 1  # once a window
    resident.say("谢谢")
    assert _wait(lambda: any("物业明早来修" in text for text in resident.received()))
    assert _outbox(db, userid, "held") == []


@pytest.mark.parametrize(("external_userid", "report", "fail_type", "reason"), [
    ("wmE2eFailTellsWorkerExpired1", "车棚顶上的挡雨板被风吹掉了一块", 4, "会话已过期"),
    ("wmE2eFailTellsWorkerRefused1", "健身器材的螺丝松了，坐上去直晃", 10, "居民拒收"),
])
def test_the_worker_hears_when_wecom_reports_a_kf_notice_undelivered(wecom, fake_wecom, db, building, app_url,
                                                                     external_userid, report, fail_type, reason):
    """WeCom's msg_send_fail (a notice it accepted, then could not deliver) reaches the case's worker with the
    reason, so they can phone the resident. Before, only the timeline was noted: nobody read it."""
    resident, _, number = _reported_at(fake_wecom, wecom, building, external_userid, report)
    assert "已接单" in wecom.send_text("demo-worker", f"接单 {number}")
    assert "接单" in resident.wait_for(2)[1]
    resident.write(msgtype="event", event_type="msg_send_fail", fail_msgid=_sends(fake_wecom, resident)[1]["msgid"],
                   fail_type=fail_type)
    told = _wait(lambda: [text for text in _outbox(db, "demo-worker", "pending", "sent")
                          if f"GB-{number:06d}" in text and "未送达" in text])
    assert len(told) == 1 and reason in told[0] and "电话" in told[0], told


def test_a_long_letter_pasted_on_plain_wechat_reaches_the_case_whole(wecom, fake_wecom, db, building, app_url):
    """WeChat lets a resident paste a letter far longer than 4,000 characters; the case holds all of it (the worker's
    card, which WeCom cuts at 2,048 bytes, shows its start and how long it is). Before, the kf text was cut at 4,000
    characters on its way to the case, and the rest was only in the inbound record."""
    lines = [f"第{n}条：楼下烧烤店每天营业到凌晨两点，油烟顺着窗户飘进屋里，客人喝酒划拳吵得孩子睡不着觉，"
             f"我们找过店主{n}次都没有用，希望尽快处理。" for n in range(1, 81)]
    letter = "\n".join(["关于楼下烧烤店夜间噪音和油烟扰民的情况反映", *lines, "以上情况属实，恳请处理。"])
    assert len(letter) > 5000
    resident, _, number = _reported_at(fake_wecom, wecom, building, "wmE2eLongLetterPasted01", letter)
    with db() as session:
        case = session.get(Case, number)
        assert case.text == letter, (len(case.text), len(letter))
        assignee = case.assignee.userid
    card = _wait(lambda: [text for text in _outbox(db, assignee, "pending", "sent")
                          if f"GB-{number:06d}" in text and "新事项" in text])
    assert card and f"全文共{len(letter)}字" in card[0] and len(card[0].encode()) <= 2048, card


@pytest.mark.parametrize(("userid", "greeted", "report"), [
    ("wmE2eScansWhileAsked01", True, "路灯坏了好几天了，晚上黑乎乎的"),
    ("wmE2eScansWhileAsked02", False, "楼道里的垃圾好几天没人清了，臭得很")])  # two matters: neither follows the other
def test_a_resident_asked_for_the_address_who_scans_a_buildings_code_has_the_report_placed_there(
        wecom, fake_wecom, db, building, app_url, userid, greeted, report):
    """The greeting says reports are recorded at the scanned building; a report that waits for its address is
    placed there too. Before, it kept waiting (its address still asked) while the greeting said no address was
    needed. WeCom gives no greeting code to a resident who wrote within 48 hours (as one asked for the address has):
    the event still carries the code's scene_param, and the report is placed and told within their window. Before,
    such an event did nothing."""
    code, address, grid = building
    resident = KfResident(fake_wecom, wecom, userid)
    resident.say(report)
    asked = resident.wait_for(1)[0]
    assert "地址" in asked, asked
    number = int(re.search(r"GB-(\d{6})", asked).group(1))
    made = resident.write(msgtype="event", event_type="enter_session", scene="building", scene_param=code,
                          welcome=greeted)
    if greeted:
        told = fake_wecom.wait_for(lambda: [c["json"]["text"]["content"] for c in fake_wecom.calls(KF_WELCOME)
                                            if c["json"]["code"] == made["welcome_code"]])
    else:
        told = resident.wait_for(2)[1:]
    assert told and f"GB-{number:06d}" in told[0] and address in told[0], told
    with db() as session:
        case = session.get(Case, number)
        assert (case.state, case.unit.code, case.grid.code, case.place_source) == ("pending", code, grid, "qr")


@pytest.mark.parametrize(("who", "question"), [("Simplified", "什么时候能修好？"), ("Traditional", "甚麼時候能修好？")])
def test_a_resident_who_asks_when_it_is_fixed_is_answered_about_the_case_not_given_a_new_one(
        wecom, fake_wecom, db, building, app_url, who, question):
    """Right after a report of a lamp, 什么时候能修好？ was read as a new report (the classifier reads 修好 as 市政设施)
    and opened a second case of the same lamp; asked after a case, the words left (修好) are what they report.
    甚麼, as Taiwan and Hong Kong often write 什麼, was 甚么 after OpenCC, no follow-up word: read as 什么 now."""
    resident, userid, number = _reported_at(fake_wecom, wecom, building, f"wmE2eAsksWhenFixed{who}",
                                            "樓梯間的燈壞了好幾天，晚上摸黑上樓")
    resident.say(question)
    answer = resident.wait_for(2)[1]
    assert f"GB-{number:06d}" in answer and "已登记" not in answer, answer
    with db() as session:
        assert session.scalar(select(func.count()).select_from(Case).where(Case.reporter_userid == userid)) == 1


def _kf_cases_opened(app_url: str) -> float:
    """gridbot_cases_opened_total summed over its series of the kf channel, as /metrics shows it."""
    text = httpx.get(app_url + "/metrics").text
    return sum(float(value) for value in re.findall(r'^gridbot_cases_opened_total\{[^}]*channel="kf"[^}]*\} (\S+)$',
                                                   text, re.MULTILINE))
