"""`Inbound`: one message from outside as a plain value, whatever channel it came through."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

Kind = Literal["text", "image", "voice", "video", "file", "location", "link", "miniprogram", "channels", "card",
               "merged", "event", "other"]
Channel = Literal["app", "aibot", "console", "open311", "kf"]
MEDIA_KINDS = frozenset({"image", "voice", "video", "file"})  # a media_id to download
# Something shared with a title (and perhaps an address): an article's link, a mini-program card, a 视频号 post.
SHARED_KINDS = frozenset({"link", "miniprogram", "channels"})
_ADDRESS = re.compile(r"https?://[^\s，。；！？“”（）<>]+", re.IGNORECASE)
MAX_TITLE, MAX_URL = 200, 1000  # what is kept of a shared link's title and address


@dataclass(frozen=True)
class Inbound:
    """Who sent what; `msg_key` is unique per delivery source (WeCom's MsgId)."""

    msg_key: str
    userid: str
    kind: Kind
    channel: Channel = "app"
    text: str = ""
    media_id: str | None = None
    pic_url: str | None = None
    lat: float | None = None
    lng: float | None = None
    label: str | None = None  # a location's address label
    title: str | None = None  # what a shared link, card or post is called
    url: str | None = None  # where a shared link leads
    recalled: str | None = None  # the msg_key of a message its sender took back (撤回)
    event: str | None = None
    chat_id: str | None = None  # group chat the message came from (AI bot)
    arrival: str | None = None  # the unit code of the link or QR code the resident came through
    welcome_code: str | None = None  # a kf enter_session's single-use code for the greeting
    raw: dict = field(default_factory=dict)


def attachment_of(inbound: Inbound) -> dict:
    """What a message adds to a case: media by its media_id (kept through the outbox), anything else (a link, a
    mini-program card, a 视频号 post, chat records without words) by its title and address."""
    if inbound.kind in MEDIA_KINDS:
        return {"kind": inbound.kind, "media_id": inbound.media_id, "pic_url": inbound.pic_url}
    return {"kind": inbound.kind, "title": inbound.title, "url": inbound.url}


def link_in_words(inbound: Inbound) -> Inbound | None:
    """A link written as words (in a group an @-mention carries no link card: 维修预约单 https://…) as the link it
    shares, its other words its title; None when the words hold no web address."""
    found = _ADDRESS.search(inbound.text) if inbound.kind == "text" else None
    if found is None:
        return None
    title = " ".join((inbound.text[:found.start()] + " " + inbound.text[found.end():]).split())
    return replace(inbound, kind="link", url=found.group()[:MAX_URL], title=title[:MAX_TITLE] or None)


def answered_in_chat(channel: str) -> bool:
    """Whether a message's reply goes back to its sender by chat (an Open311 partner reads it from the API)."""
    return channel != "open311"
