"""微信客服 (kf) message items (kf/sync_msg's `msg_list`) as `Inbound` values.

A resident (origin 3) becomes the same kind of resident as in the app chat, under the userid
`kf:<external_userid>`; the system events gridbot handles are `enter_session` (the resident
opened the chat, maybe through a building's QR code) and `user_recall_msg` (they took a message back).
Servicer messages (origin 5) and other events are nobody's to answer: `inbound_from_kf` returns None for them.

What residents share keeps what a worker can use: a link's title and address, a mini-program card's or
a 视频号 post's title, the words of forwarded chat records (merged_msg; not who wrote them). A kind
WeCom adds later is still an `Inbound` ("other"): recorded and answered.
"""

from __future__ import annotations

import hashlib
import json
import math

from bot.wecom.parsing import MAX_TITLE, MAX_URL
from handlers.chat.inbound import MEDIA_KINDS, SHARED_KINDS, Inbound
from models.channels import KF_USERID_PREFIX

RESIDENT, SYSTEM, SERVICER = 3, 4, 5
RECALL = "user_recall_msg"  # the resident took a message back (撤回)
# A resident on plain WeChat may paste a whole letter, far past the app callback's 2,048 bytes; all of it is the
# report. Only a bound against a malformed page (handling 50,000 characters takes under a second).
MAX_TEXT = 50_000
MAX_KEY = 128


def kf_userid(external_userid: str) -> str:
    """The resident's userid for a kf external_userid (hashed when too long for the userid columns)."""
    userid = KF_USERID_PREFIX + external_userid
    if len(userid) <= 64:
        return userid
    return KF_USERID_PREFIX + hashlib.sha256(external_userid.encode()).hexdigest()[:48]


def msg_key(msgid: str) -> str:
    """The inbound record key of a kf message (unique: the same msgid is the same message)."""
    key = f"kf:{msgid}"
    return key if len(key) <= MAX_KEY else f"kf:h:{hashlib.sha256(msgid.encode()).hexdigest()}"


def external_userid(item: dict) -> str:
    """Who a message or event is about (events carry it inside `event`)."""
    return str(item.get("external_userid") or (item.get("event") or {}).get("external_userid") or "")


def _coordinate(value: object, bound: float) -> float | None:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and abs(number) <= bound else None


def inbound_from_kf(item: dict) -> Inbound | None:
    """The `Inbound` of one pulled item; None for what no handler answers (servicers, other events)."""
    msgid, user = str(item.get("msgid") or ""), external_userid(item)
    if not msgid or not user:
        return None
    kind = str(item.get("msgtype") or "")
    key, userid = msg_key(msgid), kf_userid(user)
    origin = item.get("origin")
    if kind == "event":
        event = item.get("event") or {}
        if event.get("event_type") == RECALL and event.get("recall_msgid"):
            return Inbound(key, userid, "event", channel="kf", event=RECALL,
                           recalled=msg_key(str(event["recall_msgid"])), raw=item)
        if event.get("event_type") != "enter_session":
            return None
        return Inbound(key, userid, "event", channel="kf", event="enter_session",
                       arrival=str(event.get("scene_param") or "")[:64] or None,
                       welcome_code=event.get("welcome_code") or None, raw=item)
    if origin != RESIDENT:
        return None
    if kind == "text":
        text = str((item.get("text") or {}).get("content") or "")[:MAX_TEXT]
        return Inbound(key, userid, "text", channel="kf", text=text, raw=item)
    body = item.get(kind) if isinstance(item.get(kind), dict) else {}
    if kind in MEDIA_KINDS:
        media_id = body.get("media_id")
        return Inbound(key, userid, kind, channel="kf", media_id=media_id, raw=item)  # type: ignore[arg-type]
    if kind in SHARED_KINDS:
        url = _clip(body.get("url"), MAX_URL) if kind == "link" else None
        return Inbound(key, userid, kind, channel="kf", title=_shared_title(kind, body), url=url, raw=item)
    if kind == "business_card":
        return Inbound(key, userid, "card", channel="kf", raw=item)
    if kind == "merged_msg":
        # Its title names who talked (张三和李四的聊天记录): left out like the senders' names.
        return Inbound(key, userid, "merged", channel="kf", text="\n".join(_record_lines(body))[:MAX_TEXT], raw=item)
    if kind == "location":
        place = item.get("location") or {}
        label = place.get("address") or place.get("name")
        return Inbound(key, userid, "location", channel="kf", lat=_coordinate(place.get("latitude"), 90),
                       lng=_coordinate(place.get("longitude"), 180), label=label, raw=item)
    return Inbound(key, userid, "other", channel="kf", raw=item)


def _clip(value: object, limit: int) -> str | None:
    """A text field cut to `limit` characters; None when absent, empty or not text."""
    if not isinstance(value, str):
        return None
    return value.strip()[:limit] or None


def _shared_title(kind: str, body: dict) -> str | None:
    """A shared item's title; a 视频号 post's with its account's name (who posted it)."""
    title = _clip(body.get("title"), MAX_TITLE)
    if kind == "channels" and (nickname := _clip(body.get("nickname"), 64)):
        return f"{nickname}：{title}" if title else nickname
    return title


def _record_lines(body: dict) -> list[str]:
    """The words of forwarded chat records (merged_msg items of msgtype text), in order; who wrote them is left
    out (neighbours' names are not the report). `msg_content` is JSON text, or already an object."""
    lines = []
    for entry in body.get("item") or []:
        if not isinstance(entry, dict) or entry.get("msgtype") != "text":
            continue
        content = entry.get("msg_content")
        if isinstance(content, str):
            try:
                content = json.loads(content)
            except ValueError:
                continue
        words = content.get("text") if isinstance(content, dict) else None
        text = _clip(words.get("content"), MAX_TEXT) if isinstance(words, dict) else None
        if text:
            lines.append(text)
    return lines


def is_kf_payload(payload: dict) -> bool:
    """Whether a stored inbound payload is a kf item (else the app callback's XML fields)."""
    return "msgid" in payload and "msgtype" in payload
