"""Who handles a message (`dispatch`), and the AI bot's one-step path (`process`).

App callbacks are accepted first and handled behind the HTTP answer (handlers/intake/inbox.py);
the AI bot's reply must ride on its HTTP answer, so `process` records and handles its
message in ONE transaction. Either way a repeat delivery (same MsgId) changes nothing and
a handler that fails leaves a `failed` record instead of a half-written case.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, sessionmaker

from handlers import facts, open311
from handlers.chat.inbound import Inbound, answered_in_chat
from handlers.conversation import resident, worker_commands
from handlers.departments import liaison_commands
from handlers.intake.log_context import message_context
from handlers.registry.cache import is_worker
from handlers.services import Services
from handlers.texts import render
from models import InboundMessage, Worker, resident_channel
from models.db import lock_for
from models.outbox import queue_notice
from models.statements import insert_or_skip

log = logging.getLogger("gridbot.dispatch")

# Statements of every message, built once: SQLAlchemy memoises their cache keys.
_WORKER = select(Worker).where(Worker.userid == bindparam("userid"))
_STORED_REPLY = select(InboundMessage.reply).where(InboundMessage.msg_key == bindparam("msg_key"))
_RECENT_TEXTS = (select(func.count()).select_from(InboundMessage)
                 .where(InboundMessage.from_userid == bindparam("userid"), InboundMessage.msg_type == "text",
                        InboundMessage.received_at >= bindparam("since")))
_RECENT_TEXTS_BEFORE = _RECENT_TEXTS.where(InboundMessage.id < bindparam("id"))


class _Duplicate(Exception):
    """Raised inside the transaction to roll back work done for a repeat delivery."""


def process(factory: sessionmaker[Session], services: Services, inbound: Inbound) -> str | None:
    """The reply text for `inbound` (None: nothing to say), with the message durably recorded."""
    with message_context(inbound.msg_key):
        return _process(factory, services, inbound)


def _process(factory: sessionmaker[Session], services: Services, inbound: Inbound) -> str | None:
    try:
        with factory.begin() as session:
            # One user's messages are handled one at a time, even across processes: a redelivery
            # waits and finds the first delivery's record, and rate limits and conversations see
            # every earlier message.
            lock_for(session, f"user:{inbound.userid}")
            stored = _stored(session, inbound.msg_key)
            if stored is not None:
                note_inbound(session, inbound, "redelivery")
                return stored[0]
            record = InboundMessage(**record_values(inbound, services.clock(), "handled"))
            record.reply = dispatch(session, services, inbound, record)
            if not _insert_record(session, record):
                raise _Duplicate
            note_inbound(session, inbound, record.status)
        log_handled(record)
        return record.reply
    except _Duplicate:
        with factory.begin() as session:
            stored = _stored(session, inbound.msg_key)
            note_inbound(session, inbound, "redelivery")
        return stored[0] if stored else None
    except Exception:
        log.exception("handler failed", extra={"msg_key": inbound.msg_key})
        return _record_failure(factory, services, inbound)


def note_inbound(session: Session, inbound: Inbound, outcome: str) -> None:
    facts.note(session, "inbound", channel=inbound.channel, kind=inbound.kind, outcome=outcome)


def log_handled(record: InboundMessage) -> None:
    # msg_key and the case number come from the message's log context (handlers/intake/log_context.py).
    log.info("message handled", extra={"kind": record.msg_type, "status": record.status})


def dispatch(session: Session, services: Services, inbound: Inbound, record: InboundMessage) -> str | None:
    """Pick the handler by who sent the message and through which channel."""
    if inbound.channel == open311.CHANNEL:  # a partner system's request: its key was checked at the edge
        return open311.handle(session, services, inbound, record)
    worker = session.scalars(_WORKER, {"userid": inbound.userid}).first() if is_worker(session, inbound.userid) else None
    if worker is not None:
        return worker_commands.handle(session, services, worker, inbound, record)
    posts = liaison_commands.liaisons_of(session, inbound.userid)
    if posts:
        return liaison_commands.handle(session, services, posts, inbound, record)
    if inbound.channel == "aibot":
        return render("replies/group_residents_only")
    if inbound.kind == "text" and services.rate_limit:
        recent = _recent_texts(session, record)
        if recent >= services.rate_limit:
            record.status = "throttled"
            return render("replies/throttled") if recent == services.rate_limit else None
    return resident.handle(session, services, inbound, record)


def _recent_texts(session: Session, record: InboundMessage) -> int:
    """Texts the sender sent in the minute before `record` (accepted ones not yet handled included)."""
    values = {"userid": record.from_userid, "since": record.received_at - timedelta(minutes=1)}
    if record.id is None:
        return session.scalar(_RECENT_TEXTS, values)
    return session.scalar(_RECENT_TEXTS_BEFORE, {**values, "id": record.id})  # stored: only what came before it


def record_values(inbound: Inbound, now: datetime, status: str) -> dict:
    """The inbound_messages row of `inbound`, received `now`."""
    return dict(msg_key=inbound.msg_key, channel=inbound.channel, from_userid=inbound.userid,
                msg_type=inbound.kind, content=inbound.text or None, payload=inbound.raw,
                status=status, received_at=now)


def _insert_record(session: Session, record: InboundMessage) -> bool:
    """Insert under the unique MsgId; False when another delivery got there first."""
    values = {column.key: getattr(record, column.key) for column in InboundMessage.__table__.columns
              if column.key != "id"}
    return insert_or_skip(session, InboundMessage.__table__, values, "msg_key") is not None


def _stored(session: Session, msg_key: str) -> tuple[str | None] | None:
    """(reply,) of an already recorded delivery, else None."""
    row = session.execute(_STORED_REPLY, {"msg_key": msg_key}).first()
    return tuple(row) if row is not None else None


def _record_failure(factory: sessionmaker[Session], services: Services, inbound: Inbound) -> str | None:
    reply = render("replies/failed")
    try:
        with factory.begin() as session:
            record = InboundMessage(**record_values(inbound, services.clock(), "failed"))
            record.reply = reply
            if _insert_record(session, record):
                note_inbound(session, inbound, "failed")
    except Exception:
        log.exception("could not record a failed message", extra={"msg_key": inbound.msg_key})
        raise
    return reply


def replay_failed(factory: sessionmaker[Session], services: Services, record_id: int,
                  inbound: Inbound) -> str | None:
    """Handle a message that failed before, now; its reply goes out as a notice (the HTTP answer is long gone)."""
    with message_context(inbound.msg_key), factory.begin() as session:
        record = session.get(InboundMessage, record_id, with_for_update=True)
        if record is None or record.status != "failed":
            return None
        reply = dispatch(session, services, inbound, record)
        record.status, record.reply = "handled", reply
        if reply and answered_in_chat(inbound.channel):
            queue_notice(session, channel=resident_channel(record.from_userid), recipient=record.from_userid, text=reply,
                         dedupe_key=f"replay:{record.id}", case_id=record.case_id)
        return reply
