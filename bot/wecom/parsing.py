"""Decrypted callback payloads → `Inbound` values. Defensive: missing fields are a 400."""

from __future__ import annotations

import math

from bot.wecom.crypto import MalformedCallback, parse_xml
from handlers.chat.inbound import MAX_TITLE, MAX_URL, MEDIA_KINDS, Inbound

MAX_TEXT = 4000  # WeCom caps text at 2048 bytes; anything larger is not from WeCom
MAX_USERID = 64  # WeCom userids are at most 64 bytes; the userid columns hold no more


def _coordinate(value: str | None, bound: float) -> float | None:
    """A latitude/longitude within ±bound; NaN, infinities and nonsense are a 400."""
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except ValueError:
        raise MalformedCallback("bad coordinate") from None
    if not math.isfinite(number) or abs(number) > bound:
        raise MalformedCallback("bad coordinate")
    return number


def inbound_from_xml(plaintext: str) -> Inbound:
    """The app callback's decrypted XML as an `Inbound`."""
    return inbound_from_fields(parse_xml(plaintext.encode()))


def inbound_from_fields(fields: dict[str, str]) -> Inbound:
    """An `Inbound` from the callback's fields (also how a stored message is replayed)."""
    userid = fields.get("FromUserName", "").strip()
    msg_type = fields.get("MsgType", "").strip().lower()
    if not userid or not msg_type:
        raise MalformedCallback("missing FromUserName or MsgType")
    if len(userid) > MAX_USERID:
        raise MalformedCallback("FromUserName too long")
    msg_id = fields.get("MsgId", "").strip()
    if msg_type == "event":
        event = fields.get("Event", "").strip().lower()
        key = f"evt:{userid}:{fields.get('CreateTime', '')}:{event}:{fields.get('EventKey', '')}"
        return Inbound(msg_key=key[:128], userid=userid, kind="event", event=event, raw=fields)
    if not msg_id:
        raise MalformedCallback("missing MsgId")
    key = f"app:{msg_id}"[:128]
    if msg_type == "text":
        return Inbound(key, userid, "text", text=fields.get("Content", "")[:MAX_TEXT], raw=fields)
    if msg_type in MEDIA_KINDS:
        return Inbound(key, userid, msg_type, media_id=fields.get("MediaId"), pic_url=fields.get("PicUrl"), raw=fields)  # type: ignore[arg-type]
    if msg_type == "location":
        return Inbound(
            key, userid, "location",
            lat=_coordinate(fields.get("Location_X"), 90), lng=_coordinate(fields.get("Location_Y"), 180),
            label=fields.get("Label"), raw=fields,
        )
    if msg_type == "link":  # an article or notice shared into the chat
        return Inbound(key, userid, "link", title=fields.get("Title", "").strip()[:MAX_TITLE] or None,
                       url=fields.get("Url", "").strip()[:MAX_URL] or None, raw=fields)
    return Inbound(key, userid, "other", raw=fields)
