"""What gridbot is waiting for from a user, persisted so a restart loses nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from models import Conversation
from models.db import TransactionMemo
from models.rows import add_inserted, built

CHOOSE_CATEGORY = "choose_category"  # data: text, choices, attachments, first (the classifier's pick)
AWAIT_WORDS = "await_words"  # data: attachments (media with no case, waiting for words)
WHERE_SAID = "where_said"  # data: text (words saying only where: 东门那边, 阳光小区二期; the report that follows joins it)
AWAIT_ADDRESS = "await_address"  # data: case_id, choices (the places the question named, if any), after (the case
# placed just before this one was asked: 一样 is its place), spot (a building told without its estate: 3栋)
CONFIRM_ADDRESS = "confirm_address"  # data: case_id, unit_id, estate (its part asked), whole (the estate asked)
RATE = "rate"  # data: case_id
CONFIRM_BIND = "confirm_bind"  # data: unit_id (the building whose QR code the resident came through)
CONFIRM_WITHDRAW = "confirm_withdraw"  # data: case_id
ATTACH_MEDIA = "attach_photos"  # data: case_id, event_id (the step a worker's or liaison's next photos belong to)


# Users this transaction found waiting for nothing (no conversation row: `resident_and_conversation`'s SELECT), so
# that asking them a question writes its row at once, without reading it first or a unit-of-work flush. Forgotten at
# any write to conversations, a savepoint rolled back and the transaction's end.
_ABSENT = TransactionMemo("gridbot_no_conversation", frozenset({Conversation.__tablename__}))


def found_none(session: Session, userid: str) -> None:
    """This transaction read that gridbot waits for nothing from `userid` (and nothing is left unwritten)."""
    _ABSENT.get(session)[userid] = True


def current(session: Session, userid: str) -> Conversation | None:
    """What gridbot waits for from `userid` (None: a question this transaction ended and asked nothing since); on
    PostgreSQL the row stays locked until commit, so the clock cannot open a waiting report while its answer is being
    handled (see `claim`)."""
    convo = session.get(Conversation, userid, with_for_update=True)
    return None if convo in session.deleted else convo


def expect(session: Session, userid: str, state: str, data: dict, now: datetime) -> None:
    """Remember that the next message from `userid` answers `state` (also right after `finish` in the same
    transaction: the earlier question's row, still to be deleted, then carries the new one)."""
    convo = None if userid in _ABSENT.get(session) else session.get(Conversation, userid)
    if convo is not None and convo in session.deleted:
        session.expunge(convo)  # cancels the pending DELETE; the row is read again and asked afresh
        convo = session.get(Conversation, userid)
    if convo is None:
        add_inserted(session, built(Conversation, {"userid": userid, "state": state, "data": data, "updated_at": now}))
    else:
        convo.state, convo.data, convo.updated_at = state, data, now


def finish(session: Session, userid: str) -> None:
    if userid in _ABSENT.get(session):
        return
    convo = session.get(Conversation, userid)
    if convo is not None:
        session.delete(convo)


def claim(session: Session, userid: str, state: str, updated_at: datetime) -> bool:
    """Take over a question left unanswered since `updated_at` (the clock); False when it was answered
    or changed meanwhile, or another process took it."""
    gone = session.execute(delete(Conversation).where(
        Conversation.userid == userid, Conversation.state == state, Conversation.updated_at == updated_at,
    ).execution_options(synchronize_session=False))
    return gone.rowcount == 1
