"""Every kind of message a resident sends ends on the right case, over the real protocol.

Residents on plain WeChat (微信客服: kf/sync_msg items) and in the app chat share links, mini-program cards,
视频号 posts, files, business cards and forwarded chat records (合并转发). What they share after a report
joins that case and reaches its worker; shared with nothing open it waits for words like a photo, then opens
a case to be sorted; a business card is answered and kept; a kind nobody knows is kept and answered politely.
The app runs on test_nobody_bounced's rules (橙子怪 opens 市政设施 at once); every sentence here is our own.
"""

from __future__ import annotations

from sqlalchemy import func, select

from models import Case, CaseEvent, InboundMessage
from tests.cli import cli_json
from tests.e2e.conftest import clock_after
from tests.e2e.kf_chat import KfResident
from tests.e2e.test_nobody_bounced import OTHER, app_settings, bound, kf_scanned, reported  # noqa: F401 (a fixture)
from tests.e2e.worker_chat import digits, number_in, queued, show, stored_reply
from tests.wecom_sim import link_xml

LINK = {"title": "街坊热议：单元门口的路灯又不亮了", "desc": "记者走访了附近的几栋楼",
        "url": "https://news.example.cn/street/2026/1201", "pic_url": "https://news.example.cn/cover.jpg"}
MINI_PROGRAM = {"title": "随手拍·城市问题上报", "appid": "wx0000000000demo01", "pagepath": "pages/report/index",
                "thumb_media_id": "kf-thumb-001"}
CHANNELS = {"sub_type": 1, "nickname": "街道生活记", "title": "夜里整条小路黑漆漆"}
SHARED = {"link": LINK, "miniprogram": MINI_PROGRAM, "channels": CHANNELS}


def said(db, resident, **spec) -> str:
    """What gridbot answered one kf message (stored with it, whether or not WeCom let it through)."""
    made = resident.write(**spec)
    reply = stored_reply(db, made["msgid"], channel="kf")
    assert reply is not None, spec
    return reply


def attach_events(db, number: str) -> list[CaseEvent]:
    with db() as session:
        return list(session.scalars(select(CaseEvent).where(CaseEvent.case_id == int(number[3:]),
                                                            CaseEvent.action == "attach").order_by(CaseEvent.id)))


def test_a_link_mini_program_video_post_or_file_after_the_report_joins_the_case_and_reaches_its_worker(
        wecom, fake_wecom, db, database_url):
    resident, _ = kf_scanned(wecom, fake_wecom, database_url, "wmKindsSharedAfterReport1", 11)
    number = number_in(said(db, resident, msgtype="text", content="橙子怪把单元门口的路灯杆撞歪了，晚上一片漆黑"))
    for kind, body in SHARED.items():
        reply = said(db, resident, msgtype=kind, **{kind: body})
        assert number in reply and "帮助" not in reply, (kind, reply)
    assert number in said(db, resident, msgtype="file")
    kinds = [[a["kind"] for a in event.attachments] for event in attach_events(db, number)]
    assert kinds == [["link"], ["miniprogram"], ["channels"], ["file"]]
    worker = queued(db, show(number, database_url)["assignee"], number)
    told = "\n".join(worker)
    assert LINK["url"] in told and MINI_PROGRAM["title"] in told and CHANNELS["title"] in told, told


def test_a_link_shared_with_nothing_open_waits_for_words_then_opens_a_case_to_be_sorted(
        wecom, fake_wecom, db, database_url, app_settings):  # noqa: F811
    resident, unit = kf_scanned(wecom, fake_wecom, database_url, "wmKindsLinkAlone000001", 12)
    userid = f"kf:{resident.external_userid}"
    reply = said(db, resident, msgtype="link", link=LINK)
    assert "链接" in reply and "3分钟" in reply, reply
    assert reported(db, userid) == []
    assert clock_after(database_url, app_settings, 4)["settled"] >= 1
    [number] = reported(db, userid)
    case = show(number, database_url)
    assert (case["category"], case["state"], case["unit"]) == (OTHER, "pending", unit["code"])
    assert LINK["title"] in case["text"] and LINK["url"] in case["text"]
    assert [a["kind"] for a in case["events"][0]["attachments"]] == ["link"]
    assert queued(db, userid, number, "已登记")


def test_words_after_a_shared_mini_program_make_the_report_with_the_card_attached(wecom, fake_wecom, db,
                                                                                  database_url):
    resident, _ = kf_scanned(wecom, fake_wecom, database_url, "wmKindsMiniThenWords01", 13)
    assert "小程序" in said(db, resident, msgtype="miniprogram", miniprogram=MINI_PROGRAM)
    number = number_in(said(db, resident, msgtype="text", content="橙子怪把楼前的窨井盖掀开了没人管"))
    case = show(number, database_url)
    assert case["category"] != OTHER
    assert [a["kind"] for a in case["events"][0]["attachments"]] == ["miniprogram"]


def test_a_business_card_is_answered_and_kept_opening_no_case(wecom, fake_wecom, db, database_url):
    resident, _ = kf_scanned(wecom, fake_wecom, database_url, "wmKindsBusinessCard001", 14)
    reply = said(db, resident, msgtype="business_card", business_card={"userid": "zhangsan-property"})
    assert "名片" in reply and "帮助" not in reply, reply
    userid = f"kf:{resident.external_userid}"
    assert reported(db, userid) == []
    with db() as session:
        kinds = list(session.scalars(select(InboundMessage.msg_type).where(InboundMessage.from_userid == userid,
                                                                           InboundMessage.channel == "kf")))
    assert "card" in kinds


def test_a_kind_nobody_knows_is_kept_and_answered_politely(wecom, fake_wecom, db, database_url):
    resident, _ = kf_scanned(wecom, fake_wecom, database_url, "wmKindsUnknownKind0001", 15)
    for kind in ("note", "holographic_postcard"):
        reply = said(db, resident, msgtype=kind, **{kind: {"anything": 1}})
        assert "暂时" in reply and "文字" in reply and "帮助" not in reply, (kind, reply)
    with db() as session:
        stored = session.scalar(select(func.count()).select_from(InboundMessage).where(
            InboundMessage.from_userid == f"kf:{resident.external_userid}", InboundMessage.msg_type == "other"))
    assert stored == 2


def _merged_item(sender: str, content: str) -> dict:
    return {"send_time": 1764547200, "msgtype": "text", "sender_name": sender,
            "msg_content": '{"msgtype": "text", "text": {"content": "%s"}}' % content}


def test_forwarded_chat_records_of_a_neighbours_complaint_become_a_report(wecom, fake_wecom, db, database_url):
    """A resident forwards (合并转发) what neighbours wrote in their building's group: its words are the report.
    The neighbours' names stay out of the case."""
    resident, unit = kf_scanned(wecom, fake_wecom, database_url, "wmKindsMergedRecords01", 16)
    records = {"title": "邻里群的聊天记录", "item": [
        _merged_item("王阿姨", "橙子怪把我们楼后面的消防通道井盖弄坏了"),
        _merged_item("小李", "是的，我昨晚差点踩空"),
        {"send_time": 1764547260, "msgtype": "image", "sender_name": "小李",
         "msg_content": '{"msgtype": "image", "image": {"media_id": "kf-merged-img"}}'},
    ]}
    number = number_in(said(db, resident, msgtype="merged_msg", merged_msg=records))
    case = show(number, database_url)
    assert case["category"] == "市政设施" and case["unit"] == unit["code"], case
    assert "消防通道井盖弄坏了" in case["text"] and "差点踩空" in case["text"]
    assert "王阿姨" not in case["text"] and "小李" not in case["text"]


def test_a_link_shared_in_the_app_chat_after_the_report_joins_the_case(wecom, db, database_url):
    bound(wecom, database_url, "kinds-app-link")
    number = number_in(wecom.send_text("kinds-app-link", "橙子怪把小区东门的路灯灯罩打碎了"))
    reply = wecom.reply_text(wecom.post_xml(link_xml("kinds-app-link", LINK["title"], LINK["desc"], LINK["url"])))
    assert number in reply and "链接" in reply, reply
    assert [[a["kind"] for a in e.attachments] for e in attach_events(db, number)] == [["link"]]
    assert queued(db, show(number, database_url)["assignee"], number, LINK["url"])


def test_a_long_pasted_letter_leaves_the_workers_card_whole(wecom, fake_wecom, db, database_url):
    """A resident pastes a long letter (thousands of characters; WeCom takes 2048 bytes a message): the worker's
    card and 查 N show the start of it and still say who reported it and how to take it; the case keeps it all.
    Before, the card was cut inside the letter: no reporter, no 接单 line."""
    resident, _ = kf_scanned(wecom, fake_wecom, database_url, "wmKindsLongLetter00001", 17)
    points = "\n".join(f"{i}. 橙子怪近来第{i}次在楼下破坏东西，先弄坏路灯，又掀开井盖，还把健身器材拆了，邻居们一直担心有人受伤。"
                       for i in range(1, 41))
    letter = f"尊敬的网格员：\n{points}\n恳请尽快处理。一位住了二十年的老住户"
    assert len(letter.encode()) > 2 * 2048
    number = number_in(said(db, resident, msgtype="text", content=letter))
    case = show(number, database_url)
    assert case["text"] == letter
    card = fake_wecom.wait_for(lambda: [text for text in fake_wecom.messages_to(case["assignee"]) if number in text])
    assert card and f"接单 {digits(number)}" in card[0] and "反映人" in card[0], card
    assert "尊敬的网格员" in card[0] and "全文" in card[0]
    looked_up = wecom.send_text(case["assignee"], f"查 {digits(number)}")
    assert "承办" in looked_up and "全文" in looked_up, looked_up


def test_a_thumbs_up_or_folded_hands_is_thanks_not_the_help_text(wecom, fake_wecom, db, database_url):
    """Plain-WeChat residents thank with a sticker or an emoji (👍, 🙏🏻, [抱拳]): one line back, as for 谢谢, not the
    whole help text; other emoji alone (not thanks, not anger: see test_resident_voices) still get the help text."""
    resident, _ = kf_scanned(wecom, fake_wecom, database_url, "wmKindsThumbsUp0000001", 18)
    number = number_in(said(db, resident, msgtype="text", content="橙子怪把楼道的声控灯拆走了"))
    for thanks in ("👍👍", "🙏🏻", "[抱拳][抱拳]", "[强]"):
        reply = said(db, resident, msgtype="text", content=thanks)
        assert reply == said(db, resident, msgtype="text", content="谢谢"), (thanks, reply)
    assert "帮助" in said(db, resident, msgtype="text", content="😮😮")
    assert reported(db, f"kf:{resident.external_userid}") == [number]


def test_forwarded_records_right_after_a_report_of_the_same_matter_add_to_it(wecom, fake_wecom, db, database_url):
    """Moments after reporting, the resident forwards what neighbours said about it: their words join the case
    and reach its worker; no second case. Records of nothing but photos wait for words like a photo; their title
    (which names who talked) stays out like the senders' names."""
    resident, _ = kf_scanned(wecom, fake_wecom, database_url, "wmKindsMergedAfter0001", 19)
    number = number_in(said(db, resident, msgtype="text", content="橙子怪把车棚的顶棚掀了一大块"))
    records = {"title": "陈大爷和刘阿姨的聊天记录", "item": [_merged_item("陈大爷", "又是橙子怪干的，下雨电动车全淋湿")]}
    reply = said(db, resident, msgtype="merged_msg", merged_msg=records)
    assert number in reply, reply
    assert reported(db, f"kf:{resident.external_userid}") == [number]
    [added] = [event for event in show(number, database_url)["events"] if event["action"] == "attach"]
    assert "下雨电动车全淋湿" in added["note"] and "陈大爷" not in added["note"]
    assert queued(db, show(number, database_url)["assignee"], number, "下雨电动车全淋湿")
    photos = {"title": "陈大爷和刘阿姨的聊天记录", "item": [
        {"send_time": 1764547300, "msgtype": "image", "sender_name": "刘阿姨", "msg_content": "{}"}]}
    reply = said(db, resident, msgtype="merged_msg", merged_msg=photos)
    assert "聊天记录" in reply and number in reply, reply
    assert not any("刘阿姨" in (event["note"] or "") for event in show(number, database_url)["events"])


def test_a_report_the_resident_takes_back_is_noted_on_its_case_for_the_worker(wecom, fake_wecom, db, database_url):
    """A plain-WeChat resident recalls (撤回) the message a case was opened from: WeCom says so with a
    user_recall_msg event. The case stays (the worker may already be on the way), its timeline and worker hear of
    it so they can check with the resident; a recall of a message that opened nothing changes nothing. Before,
    the event was dropped."""
    resident, _ = kf_scanned(wecom, fake_wecom, database_url, "wmKindsRecallsReport01", 20)
    sent = resident.write(msgtype="text", content="橙子怪把消防栓的盖子撬开了")
    number = number_in(stored_reply(db, sent["msgid"], channel="kf"))
    resident.write(msgtype="event", event_type="user_recall_msg", recall_msgid=sent["msgid"])
    notes = fake_wecom.wait_for(lambda: [e for e in show(number, database_url)["events"] if "撤回" in (e["note"] or "")])
    assert len(notes) == 1 and notes[0]["actor"] == f"kf:{resident.external_userid}", notes
    assert queued(db, show(number, database_url)["assignee"], number, "撤回")
    assert show(number, database_url)["state"] == "pending"
    chat = resident.write(msgtype="text", content="你好")
    assert stored_reply(db, chat["msgid"], channel="kf")
    resident.write(msgtype="event", event_type="user_recall_msg", recall_msgid=chat["msgid"])
    resident.write(msgtype="event", event_type="user_recall_msg", recall_msgid=sent["msgid"])  # WeCom again
    after = resident.write(msgtype="text", content="谢谢")
    assert stored_reply(db, after["msgid"], channel="kf")
    assert len([e for e in show(number, database_url)["events"] if "撤回" in (e["note"] or "")]) == 1


def test_a_pin_that_cannot_place_the_report_still_asks_for_its_address(wecom, fake_wecom, db, database_url):
    """A report waits for its place; the resident sends a location WeCom gives without coordinates (only a name) or
    one outside the district. It is kept on the case, and the reply says the address is still needed (it said
    “已补充到事项”, and the case waited for a place nobody was asked for); a name that is a registry address places it."""
    resident = KfResident(fake_wecom, wecom, "wmKindsPinNoPlace00001")
    number = number_in(said(db, resident, msgtype="text", content="橙子怪把路口的交通护栏推倒了"))
    assert show(number, database_url)["state"] == "awaiting_place"
    for pin in ({"name": "东门", "address": ""}, {"latitude": 48.85, "longitude": 2.35, "name": "远方"}):
        reply = said(db, resident, msgtype="location", **pin)
        assert number in reply and "地址" in reply and "已补充" not in reply, (pin, reply)
    assert show(number, database_url)["state"] == "awaiting_place"
    kinds = [a["kind"] for e in show(number, database_url)["events"] for a in e.get("attachments") or []]
    assert kinds.count("location") == 2
    unit = cli_json(["units", "--json"], database_url)[21]
    reply = said(db, resident, msgtype="location", name="", address=unit["address"])
    case = show(number, database_url)
    assert (case["state"], case["unit"]) == ("pending", unit["code"]), reply
