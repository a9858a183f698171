"""App callbacks in two steps: `accept` records a message, `process_batch` handles it.

The HTTP answer waits only for `accept`'s commit (one INSERT under the unique MsgId), so a
burst is acknowledged at the speed of the database and nothing acknowledged can be lost:
a message accepted just before a crash is handled after the restart. `process_batch` then
handles the oldest waiting message of several users in ONE transaction, each in a savepoint of
its own — the same `dispatch.dispatch` the AI bot uses — so a failure leaves a `failed` record,
never a half-written case, and the other messages of the batch still commit (one commit, one
fsync for all). The reply goes back in the HTTP answer when that request is still waiting for it
(`answer_passively`, honoured only after the commit), otherwise through the outbox (message/send).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Row, bindparam, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from handlers.chat.inbound import Inbound, answered_in_chat
from handlers.intake.dispatch import dispatch, log_handled, note_inbound, record_values
from handlers.intake.log_context import message_context
from handlers.services import Services
from handlers.texts import render
from models import InboundMessage, OutboxMessage, resident_channel
from models.db import is_retryable, try_locks_for
from models.outbox import OutboxChannel, notice, notices_together, queue_notice, queue_notices
from models.rows import built
from models.statements import insert_many_or_skip, update_by_id

log = logging.getLogger("gridbot.inbox")

RECEIVED = "received"  # accepted, not yet handled

# The claim. A record is read as plain columns into an InboundMessage the session does not track: the
# handlers set its status, category, case and reply as they go, and ONE UPDATE writes them at the end (an
# ORM record would be flushed each time a query follows one of those changes: four UPDATEs per message).
_RECORD_COLUMNS = InboundMessage.__table__.columns
_RECORD_KEYS = tuple(column.key for column in _RECORD_COLUMNS)  # a claimed row's values, in its columns' order
_WAITING = InboundMessage.status == RECEIVED
# SQLite (one writer at a time: what the transaction reads stays true until it commits): the waiting rows
# in order, whole; the first of each user is that user's oldest.
_WAITING_ROWS = (select(*_RECORD_COLUMNS).where(_WAITING, InboundMessage.id > bindparam("after"))
                 .order_by(InboundMessage.id).limit(bindparam("rows")))
# PostgreSQL (other processes handle too): who waits, then — once locked — their oldest rows, read again.
_WAITING_USERS = (select(InboundMessage.id, InboundMessage.from_userid)
                  .where(_WAITING, InboundMessage.id > bindparam("after"))
                  .order_by(InboundMessage.id).limit(bindparam("rows")))
_OLDEST_OF_USERS = (select(*_RECORD_COLUMNS)
                    .where(InboundMessage.id.in_(
                        select(func.min(InboundMessage.id))
                        .where(_WAITING, InboundMessage.from_userid.in_(bindparam("userids", expanding=True)))
                        .group_by(InboundMessage.from_userid)))
                    .order_by(InboundMessage.id))
CLAIM_PAGE = 16  # waiting rows read at a time: a batch cut short by its budget reads no more than it needs
_KNOWN_KEYS = select(InboundMessage.msg_key).where(InboundMessage.msg_key.in_(bindparam("keys", expanding=True)))
_RECORD_BY_KEY = select(InboundMessage.id, InboundMessage.reply).where(InboundMessage.msg_key == bindparam("key"))
_REPLY_QUEUED = select(OutboxMessage.id).where(OutboxMessage.dedupe_key == bindparam("key"))
_RECORD_BY_ID = select(*_RECORD_COLUMNS).where(InboundMessage.id == bindparam("record_id"))
_OUTCOME_COLUMNS = ("status", "reply", "case_id", "category")

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


def process_batch(factory: sessionmaker[Session], services: Services, rebuild: Rebuild,
                  answer_passively: AnswerPassively, *, limit: int = 64, budget: float = 0.04,
                  enough: Callable[[float], bool] | None = None) -> list[Processed]:
    """Handle the oldest waiting message of each of up to `limit` users, in ONE transaction; [] when none waits.

    Each message runs in a savepoint of its own: one that fails is rolled back alone, marked failed
    and its sender told, and the others still commit — one commit (one fsync) for the whole batch.
    No message is started once `budget` seconds have passed, nor once `enough(seconds passed)` says so
    (at least one always is): on SQLite the batch holds the write gate that the intake's group commits
    wait for. Users are claimed with
    transaction-scoped locks (PostgreSQL), so any number of processes can run this and each user's
    messages are still handled one at a time, in order. Passive replies are claimed before the
    commit (`answer_passively`) and may be handed out only once it returned.

    When the transaction itself fails, nothing of it is kept: a batch of one records its message as
    failed in a fresh transaction, a larger one raises (try again one by one), and so does a lost race.
    """
    started = time.monotonic()
    claimed: list[tuple[int, str]] = []
    try:
        with factory.begin() as session:
            outcomes = []
            for record in _claim(session, limit):
                claimed.append((record.id, record.msg_key))
                with message_context(record.msg_key):
                    outcome = _handle_alone(session, services, record, rebuild, answer_passively)
                if outcome is not None:
                    outcomes.append(outcome)
                elapsed = time.monotonic() - started
                if elapsed >= budget or (enough is not None and enough(elapsed)):
                    break
            return outcomes
    except Exception as error:
        if len(claimed) != 1 or is_retryable(error):
            raise
        record_id, msg_key = claimed[0]
        with message_context(msg_key):
            log.exception("handler failed", extra={"msg_key": msg_key})
            return [_record_failure(factory, record_id)]


def _claim(session: Session, limit: int) -> Iterator[InboundMessage]:
    """The oldest waiting message of each waiting user this transaction could lock, oldest first, lazily
    (the waiting rows are read a page at a time, and a page's users are locked only when the batch gets to
    them, in one statement); at most `limit` messages, from the first `limit * 4` waiting rows."""
    connection = session.connection()
    locking = connection.dialect.name == "postgresql"
    taken, scanned, after, seen = 0, 0, 0, set()
    while scanned < limit * 4:
        page = connection.execute(_WAITING_USERS if locking else _WAITING_ROWS,
                                  {"after": after, "rows": min(CLAIM_PAGE, limit * 4 - scanned)}).all()
        firsts = _first_of_each_user(page, seen)[:limit - taken]
        for row in _locked_oldest(session, connection, firsts) if locking else firsts:
            taken += 1
            yield _record(row)
        if taken >= limit or len(page) < CLAIM_PAGE:
            return
        scanned, after = scanned + len(page), page[-1].id


def _record(row: Row) -> InboundMessage:
    """The InboundMessage of a row of its columns, untracked, built without one attribute event per column."""
    return built(InboundMessage, dict(zip(_RECORD_KEYS, row, strict=True)))


def _first_of_each_user(page: list[Row], seen: set[str]) -> list[Row]:
    """The rows of `page` whose user is not in `seen` yet, one per user (the first); adds those users to `seen`."""
    firsts = []
    for row in page:
        if row.from_userid not in seen:
            seen.add(row.from_userid)
            firsts.append(row)
    return firsts


def _locked_oldest(session: Session, connection: Connection, rows: list[Row]) -> list[Row]:
    """PostgreSQL: the users of `rows` this transaction could lock (one statement), and the oldest message
    each of them still has waiting (one more), read after the lock: another process may have handled the
    message `rows` saw meanwhile."""
    users = try_locks_for(session, [f"user:{row.from_userid}" for row in rows])
    if not users:
        return []
    return connection.execute(_OLDEST_OF_USERS, {"userids": [user.removeprefix("user:") for user in users]}).all()


def _handle_alone(session: Session, services: Services, record: InboundMessage, rebuild: Rebuild,
                  answer_passively: AnswerPassively) -> Processed | None:
    """One message of a batch in a savepoint: handled, or (its work rolled back) marked failed — or, when
    it lost a race with another transaction (PostgreSQL: a deadlock between two batches), left waiting
    for a later batch (None): it is still its user's oldest, so the user's order holds."""
    try:
        with session.begin_nested():
            return _handle(session, services, record, rebuild(dict(record.payload)), answer_passively)
    except DBAPIError as error:
        if not is_retryable(error):
            return _failed(session, record)
        log.warning("message lost a race with another transaction; it waits for the next batch",
                    extra={"msg_key": record.msg_key})
        return None
    except Exception:
        return _failed(session, record)


def _failed(session: Session, record: InboundMessage) -> Processed:
    """Inside the `except` of a message whose savepoint rolled back: logged, marked failed."""
    log.exception("handler failed", extra={"msg_key": record.msg_key})
    with session.begin_nested():
        return _mark_failed(session, record)


def _handle(session: Session, services: Services, record: InboundMessage, inbound: Inbound,
            answer_passively: AnswerPassively) -> Processed:
    record.status = "handled"
    with notices_together(session):  # the steps' notices and the reply: one statement
        reply = dispatch(session, services, inbound, record)
        record.reply = reply
        passive = bool(reply) and answer_passively(record.msg_key)
        if reply and not passive and answered_in_chat(inbound.channel):
            channel, recipient = reply_route(inbound)
            queue_notices(session, [notice(channel=channel, recipient=recipient, text=reply,
                                           dedupe_key=reply_key(record.id), case_id=record.case_id)])
    note_inbound(session, inbound, record.status)
    _write_outcome(session, record)
    session.flush()
    log_handled(record)
    return Processed(record.msg_key, reply, passive)


def _record_failure(factory: sessionmaker[Session], record_id: int) -> Processed:
    """Mark a message whose handling failed, in a transaction of its own."""
    with factory.begin() as session:
        row = session.execute(_RECORD_BY_ID, {"record_id": record_id}).one()
        return _mark_failed(session, _record(row))


def _mark_failed(session: Session, record: InboundMessage) -> Processed:
    """A message whose handling failed: marked failed, and its sender told through the outbox."""
    reply = render("replies/failed")
    record.status, record.reply = "failed", reply
    if answered_in_chat(record.channel):
        queue_notice(session, channel=resident_channel(record.from_userid), recipient=record.from_userid, text=reply,
                     dedupe_key=reply_key(record.id))
    note_inbound(session, Inbound(record.msg_key, record.from_userid, record.msg_type), "failed")
    _write_outcome(session, record)
    return Processed(record.msg_key, reply, passive=False)


def _write_outcome(session: Session, record: InboundMessage) -> None:
    """What handling `record` (read by `_claim`, not tracked by the session) decided, in one UPDATE."""
    update_by_id(session, InboundMessage.__table__, record.id,
                 {column: getattr(record, column) for column in _OUTCOME_COLUMNS})
