"""App callbacks in two steps: `accept` records a message, `process_next` handles it.

The HTTP answer waits only for `accept`'s commit (one INSERT under the unique MsgId), so a
burst is acknowledged at the speed of the database and nothing acknowledged can be lost:
a message accepted just before a crash is handled after the restart. `process_next` then
handles the oldest waiting message of one user in ONE transaction — the same
`dispatch.dispatch` the AI bot uses — so a failure leaves a `failed` record, never a
half-written case. The reply goes back in the HTTP answer when that request is still
waiting for it (`answer_passively`), otherwise through the outbox (message/send).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, sessionmaker

from handlers.intake.dispatch import dispatch, log_handled, note_inbound, record_values
from handlers.chat.inbound import Inbound, answered_in_chat
from handlers.intake.log_context import message_context
from models.outbox import queue_notice
from handlers.services import Services
from handlers.texts import render
from models import InboundMessage, OutboxMessage, resident_channel
from models.db import insert_many_or_skip, try_lock_for
from models.outbox import OutboxChannel

log = logging.getLogger("gridbot.inbox")

RECEIVED = "received"  # accepted, not yet handled

_WAITING_USERS = (select(InboundMessage.from_userid).where(InboundMessage.status == RECEIVED)
                  .order_by(InboundMessage.id).limit(16))
_OLDEST_OF_USER = (select(InboundMessage)
                   .where(InboundMessage.from_userid == bindparam("userid"), InboundMessage.status == RECEIVED)
                   .order_by(InboundMessage.id).limit(1))
_KNOWN_KEYS = select(InboundMessage.msg_key).where(InboundMessage.msg_key.in_(bindparam("keys", expanding=True)))
_RECORD_BY_KEY = select(InboundMessage.id, InboundMessage.reply).where(InboundMessage.msg_key == bindparam("key"))
_REPLY_QUEUED = select(OutboxMessage.id).where(OutboxMessage.dedupe_key == bindparam("key"))

Rebuild = Callable[[dict], Inbound]  # a stored callback payload → the Inbound it was
AnswerPassively = Callable[[str], bool]  # msg_key → True when that HTTP request takes the reply


@dataclass(frozen=True)
class Accepted:
    new: bool  # False: a repeat delivery, nothing recorded
    stored_reply: str | None = None  # a repeat delivery's passive reply, to answer again


@dataclass(frozen=True)
class Processed:
    msg_key: str
    reply: str | None
    passive: bool  # the reply rides on the HTTP answer (else it was queued in the outbox)


def reply_route(inbound: Inbound) -> tuple[str, str]:
    """(outbox channel, recipient) of a reply that does not ride on the HTTP answer: a kf greeting
    answers the event's welcome code, other kf replies go within the resident's window."""
    if inbound.welcome_code:
        return OutboxChannel.KF_WELCOME, inbound.welcome_code
    return resident_channel(inbound.userid), inbound.userid


def reply_key(record_id: int) -> str:
    """The outbox dedupe key of a message's reply."""
    return f"reply:{record_id}"


def accept(session: Session, messages: list[Inbound], now: datetime) -> list[Accepted]:
    """Record each message as waiting, in one statement; a MsgId recorded before (or twice here) is a repeat."""
    known = set(session.scalars(_KNOWN_KEYS, {"keys": [inbound.msg_key for inbound in messages]}))
    fresh = []
    for inbound in messages:
        if inbound.msg_key not in known:
            known.add(inbound.msg_key)
            fresh.append(inbound)
    if fresh:  # ON CONFLICT still guards against another process recording the same MsgId meanwhile
        insert_many_or_skip(session, InboundMessage.__table__,
                            [record_values(inbound, now, RECEIVED) for inbound in fresh], "msg_key")
    fresh_ids = set(map(id, fresh))
    return [Accepted(new=True) if id(inbound) in fresh_ids else _repeat(session, inbound) for inbound in messages]


def _repeat(session: Session, inbound: Inbound) -> Accepted:
    note_inbound(session, inbound, "redelivery")
    return Accepted(new=False, stored_reply=_passive_reply(session, inbound.msg_key))


def _passive_reply(session: Session, msg_key: str) -> str | None:
    """The reply a delivery was answered with in its HTTP response (its answer may have been lost)."""
    row = session.execute(_RECORD_BY_KEY, {"key": msg_key}).first()
    if row is None or row.reply is None:
        return None
    return None if session.scalar(_REPLY_QUEUED, {"key": reply_key(row.id)}) else row.reply


def process_next(factory: sessionmaker[Session], services: Services, rebuild: Rebuild,
                 answer_passively: AnswerPassively) -> Processed | None:
    """Handle the oldest waiting message of one user; None when no message is waiting for us.

    Users are claimed with a transaction-scoped lock (PostgreSQL), so any number of
    processes can run this and each user's messages are still handled one at a time, in order.
    """
    record_id, msg_key = None, None
    try:
        with factory.begin() as session:
            record = _claim_oldest(session)
            if record is None:
                return None
            record_id, msg_key = record.id, record.msg_key
            with message_context(msg_key):
                return _handle(session, services, record, rebuild(dict(record.payload)), answer_passively)
    except Exception:
        if record_id is None:
            raise
        with message_context(msg_key):
            log.exception("handler failed", extra={"msg_key": msg_key})
            return _record_failure(factory, record_id)


def _claim_oldest(session: Session) -> InboundMessage | None:
    for userid in dict.fromkeys(session.scalars(_WAITING_USERS)):
        if try_lock_for(session, f"user:{userid}"):
            record = session.scalars(_OLDEST_OF_USER, {"userid": userid}).first()
            if record is not None:
                return record
    return None


def _handle(session: Session, services: Services, record: InboundMessage, inbound: Inbound,
            answer_passively: AnswerPassively) -> Processed:
    record.status = "handled"
    reply = dispatch(session, services, inbound, record)
    record.reply = reply
    passive = bool(reply) and answer_passively(record.msg_key)
    if reply and not passive and answered_in_chat(inbound.channel):
        channel, recipient = reply_route(inbound)
        queue_notice(session, channel=channel, recipient=recipient, text=reply,
                     dedupe_key=reply_key(record.id), case_id=record.case_id)
    note_inbound(session, inbound, record.status)
    session.flush()
    log_handled(record)
    return Processed(record.msg_key, reply, passive)


def _record_failure(factory: sessionmaker[Session], record_id: int) -> Processed:
    """Mark a message whose handling failed; the sender is told through the outbox."""
    reply = render("replies/failed")
    with factory.begin() as session:
        record = session.get(InboundMessage, record_id)
        record.status, record.reply = "failed", reply
        if answered_in_chat(record.channel):
            queue_notice(session, channel=resident_channel(record.from_userid), recipient=record.from_userid, text=reply,
                         dedupe_key=reply_key(record_id))
        note_inbound(session, Inbound(record.msg_key, record.from_userid, record.msg_type), "failed")
    return Processed(record.msg_key, reply, passive=False)
