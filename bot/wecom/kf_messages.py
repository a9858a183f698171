"""微信客服 (kf) message items (kf/sync_msg's `msg_list`) as `Inbound` values.

A resident (origin 3) becomes the same kind of resident as in the app chat, under the userid
`kf:<external_userid>`; the one system event gridbot answers is `enter_session` (the resident
opened the chat, maybe through a building's QR code). Servicer messages (origin 5) and other
events are nobody's to answer: `inbound_from_kf` returns None for them.
"""

from __future__ import annotations

import hashlib
import math

from handlers.chat.inbound import Inbound
from models.channels import KF_USERID_PREFIX

RESIDENT, SYSTEM, SERVICER = 3, 4, 5
_MEDIA_KINDS = {"image", "voice", "video", "file"}
MAX_TEXT = 4000
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
    if kind in _MEDIA_KINDS:
        media_id = (item.get(kind) or {}).get("media_id")
        return Inbound(key, userid, kind, channel="kf", media_id=media_id, raw=item)  # type: ignore[arg-type]
    if kind == "location":
        place = item.get("location") or {}
        label = place.get("address") or place.get("name")
        return Inbound(key, userid, "location", channel="kf", lat=_coordinate(place.get("latitude"), 90),
                       lng=_coordinate(place.get("longitude"), 180), label=label, raw=item)
    return Inbound(key, userid, "other", channel="kf", raw=item)


def is_kf_payload(payload: dict) -> bool:
    """Whether a stored inbound payload is a kf item (else the app callback's XML fields)."""
    return "msgid" in payload and "msgtype" in payload
