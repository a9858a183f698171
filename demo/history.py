"""The simulator's panes read back from the database: what a person wrote (inbound messages), what the app
answered (their replies) and the notices the outbox holds for them, oldest first, in Beijing time.

Demo-only: so a pane keeps its conversation across user switches and page reloads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from handlers.texts import BEIJING
from models import InboundMessage, Liaison, OutboxMessage, Resident, Worker
from models.outbox import OutboxChannel, OutboxStatus

LIMIT = 100  # bubbles per pane
BOT = "网格通"
SAME_REPLY = timedelta(minutes=5)
WITHOUT_TEXT = {"event": "（扫楼栋二维码进入）", "location": "（发送了位置）", "image": "（图片）", "voice": "（语音）",
                "video": "（视频）"}  # a reply also queued as a notice (behind a backlog, or kf) is drawn once


@dataclass(frozen=True)
class Bubble:
    """One chat bubble: `side` "me" (the pane's person), "bot" (a reply) or "notice" (from the outbox)."""

    key: str
    side: str
    who: str
    text: str
    at: str  # ISO 8601 with +08:00
    time: str  # HH:MM, Beijing

    def to_json(self) -> dict:
        return asdict(self)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _bubble(key: str, side: str, who: str, text: str, moment: datetime) -> Bubble:
    local = _aware(moment).astimezone(BEIJING)
    return Bubble(key, side, who, text, local.isoformat(timespec="seconds"), local.strftime("%H:%M"))


def names(session: Session, userids: set[str]) -> dict[str, str]:
    """Display names of residents, workers and liaisons among `userids` (the userid where none is known)."""
    found = {userid: userid for userid in userids}
    for model in (Resident, Liaison, Worker):  # a worker's name wins over the same userid elsewhere
        for userid, name in session.execute(select(model.userid, model.name).where(model.userid.in_(userids))):
            if name:
                found[userid] = name
    return found


def _conversation(inbound: list[InboundMessage], notices: list[OutboxMessage],
                  who: dict[str, str]) -> list[dict]:
    bubbles: list[tuple[tuple, Bubble]] = []  # (when, then: messages before notices, by id, reply after)
    replies: list[tuple[str, datetime]] = []
    for row in inbound:
        moment = _aware(row.received_at)
        text = row.content or WITHOUT_TEXT.get(row.msg_type, f"（{row.msg_type}）")
        sender = who.get(row.from_userid, row.from_userid)
        bubbles.append(((moment, 0, row.id, 0), _bubble(f"in{row.id}", "me", sender, text, moment)))
        if row.reply:
            replies.append((row.reply, moment))
            bubbles.append(((moment, 0, row.id, 1), _bubble(f"re{row.id}", "bot", BOT, row.reply, moment)))
    for row in notices:
        moment = _aware(row.sent_at or row.created_at)
        if any(text == row.text and timedelta(0) <= moment - at <= SAME_REPLY for text, at in replies):
            continue
        bubbles.append(((moment, 1, row.id, 0), _bubble(f"out{row.id}", "notice", BOT, row.text, moment)))
    bubbles.sort(key=lambda item: item[0])
    return [bubble.to_json() for _, bubble in bubbles[-LIMIT:]]


def _notices(session: Session, channel: str, recipient: str) -> list[OutboxMessage]:
    """The notices sent or about to be sent to `recipient` (also as one of `a|b`), newest LIMIT, not folded
    into a digest (the digest is drawn)."""
    return list(session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.channel == channel, OutboxMessage.folded_into.is_(None),
               OutboxMessage.status.in_([OutboxStatus.PENDING.value, OutboxStatus.SENT.value]),
               or_(OutboxMessage.recipient == recipient, OutboxMessage.recipient.like(f"{recipient}|%"),
                   OutboxMessage.recipient.like(f"%|{recipient}"), OutboxMessage.recipient.like(f"%|{recipient}|%")))
        .order_by(OutboxMessage.id.desc()).limit(LIMIT)))


def _inbound(session: Session, *conditions) -> list[InboundMessage]:
    return list(session.scalars(select(InboundMessage).where(*conditions)
                                .order_by(InboundMessage.id.desc()).limit(LIMIT)))


def private(session: Session, userid: str) -> list[dict]:
    """A private chat with the app: the person's messages, the replies, and the notices sent to them."""
    inbound = _inbound(session, InboundMessage.from_userid == userid, InboundMessage.channel == "app")
    return _conversation(inbound, _notices(session, OutboxChannel.USER.value, userid),
                         names(session, {userid}))


def group(session: Session, chatid: str) -> list[dict]:
    """A grid's group chat: the @-mentions of the bot in it, its answers, and the group notices."""
    mentions = [row for row in _inbound(session, InboundMessage.channel == "aibot")
                if (row.payload or {}).get("chatid") == chatid]
    return _conversation(mentions, _notices(session, OutboxChannel.APPCHAT.value, chatid),
                         names(session, {row.from_userid for row in mentions}))


def kf(session: Session, userid: str) -> list[dict]:
    """A plain-WeChat (微信客服) resident: their messages and what was sent to them."""
    inbound = _inbound(session, InboundMessage.from_userid == userid, InboundMessage.channel == "kf")
    codes = [code for row in inbound if (code := ((row.payload or {}).get("event") or {}).get("welcome_code"))]
    greetings = list(session.scalars(select(OutboxMessage).where(
        OutboxMessage.channel == OutboxChannel.KF_WELCOME.value, OutboxMessage.recipient.in_(codes)))) if codes else []
    known = names(session, {userid})
    who = {userid: known[userid] if known[userid] != userid else "微信居民"}
    return _conversation(inbound, _notices(session, OutboxChannel.KF.value, userid) + greetings, who)
