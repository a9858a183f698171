"""What residents share, parsed from kf/sync_msg items and app callbacks: kept, however odd the body."""

from __future__ import annotations

import json

import pytest

from bot.wecom.kf_messages import inbound_from_kf
from bot.wecom.parsing import inbound_from_fields

ITEM = {"msgid": "kinds-1", "external_userid": "wmKindsUnit", "origin": 3}


def test_a_shared_link_keeps_its_title_and_address():
    inbound = inbound_from_kf({**ITEM, "msgtype": "link", "link": {"title": " 小区停水通知 ", "desc": "明日",
                                                                 "url": "https://notice.example.cn/1"}})
    assert (inbound.kind, inbound.title, inbound.url) == ("link", "小区停水通知", "https://notice.example.cn/1")


def test_a_video_post_is_titled_with_who_posted_it():
    inbound = inbound_from_kf({**ITEM, "msgtype": "channels", "channels": {"nickname": "社区号", "title": "积水"}})
    assert (inbound.kind, inbound.title) == ("channels", "社区号：积水")


def test_forwarded_records_keep_their_words_without_who_wrote_them():
    items = [{"msgtype": "text", "sender_name": "赵师傅", "msg_content": json.dumps({"text": {"content": "水管漏了"}})},
             {"msgtype": "text", "msg_content": "not json"}, {"msgtype": "image", "msg_content": "{}"}, "junk",
             {"msgtype": "text", "msg_content": {"text": {"content": "一直在滴"}}},
             {"msgtype": "text", "msg_content": json.dumps({"text": "flat"})}]
    inbound = inbound_from_kf({**ITEM, "msgtype": "merged_msg", "merged_msg": {"title": "群聊", "item": items}})
    assert (inbound.kind, inbound.text) == ("merged", "水管漏了\n一直在滴")


@pytest.mark.parametrize("body", [None, "text", [1], {"title": ["x"], "url": 5}, {"item": "x"}])
@pytest.mark.parametrize("kind", ["link", "miniprogram", "channels", "merged_msg", "business_card"])
def test_odd_bodies_still_make_a_message(kind, body):
    inbound = inbound_from_kf({**ITEM, "msgtype": kind, kind: body})
    assert inbound is not None and inbound.kind != "other" and inbound.title in (None, "")


def test_an_app_link_is_a_shared_link():
    inbound = inbound_from_fields({"FromUserName": "u1", "MsgType": "link", "MsgId": "9", "Title": "通知",
                                   "Url": "https://notice.example.cn/2", "Description": "d"})
    assert (inbound.kind, inbound.title, inbound.url) == ("link", "通知", "https://notice.example.cn/2")
