"""The 微信客服 (kf) send window: WeCom takes at most 5 messages to a resident within 48 h of the
resident's last message, and refuses the rest. The sender asks each kf resident's budget before
sending, folds what is waiting into as few messages as the budget allows, makes the last allowed
message point to the progress page, and holds the rest (status `held`) until the resident writes
again: then the held notices go out folded into one message. Nothing is dropped, nothing is sent
that WeCom would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.outbox import kf_failures
from models.channels import KfContact
from models.outbox import OutboxChannel, OutboxMessage, OutboxStatus
from models.statements import insert_or_skip

WINDOW = timedelta(hours=48)
_SECOND = timedelta(seconds=1)  # WeCom's send_time has whole seconds
WINDOW_MESSAGES = 5
WINDOW_REFUSED = frozenset({95018})  # WeCom: the session does not allow sending (window used up, human servicer)


@dataclass(frozen=True)
class Budget:
    """What gridbot may still send one kf resident, and where."""

    left: int  # messages WeCom still accepts in the current window (0: hold)
    open_kfid: str | None
    external_userid: str | None
    last_message_at: datetime | None = None  # the window this budget is of


def budgets(factory: sessionmaker[Session], userids: set[str], now: datetime) -> dict[str, Budget]:
    """Each kf resident's budget, in one query: 5 minus the messages sent since their last message,
    0 once 48 h have passed (or before they ever wrote)."""
    sent = (select(func.count()).select_from(OutboxMessage)
            .where(OutboxMessage.channel == OutboxChannel.KF.value, OutboxMessage.recipient == KfContact.userid,
                   OutboxMessage.status == OutboxStatus.SENT.value, OutboxMessage.folded_into.is_(None),
                   OutboxMessage.sent_at >= KfContact.last_message_at)
            .correlate(KfContact).scalar_subquery())
    with factory() as session:
        rows = session.execute(select(KfContact.userid, KfContact.open_kfid, KfContact.external_userid,
                                      KfContact.last_message_at, sent)
                               .where(KfContact.userid.in_(userids))).all()
    found = {userid: Budget(_left(last, count, now), kfid, external, last)
             for userid, kfid, external, last, count in rows}
    return {userid: found.get(userid, Budget(0, None, None)) for userid in userids}


def _left(last_message_at: datetime | None, sent: int, now: datetime) -> int:
    if last_message_at is None or now >= last_message_at + WINDOW - _SECOND:
        return 0
    return max(0, WINDOW_MESSAGES - sent)


def hold(factory: sessionmaker[Session], row_ids: list[int], token: str, budget: Budget, now: datetime) -> int:
    """Keep claimed rows until the resident writes again (the claim's attempt is not counted); how many.
    When the resident's 48 h have run out (not merely the 5 messages used), the cases the rows are about are
    noted and their workers told, once a window (kf_failures.window_ran_out): the resident may not write again.

    Only while the window is still the one `budget` was computed for: if the resident wrote in the
    meantime, nothing is held (the caller hands the rows back to be sent in the new window). The check
    is part of the UPDATE, and `resident_wrote` releases held rows in the transaction that opens a
    window, so a message arriving at any moment never leaves a notice held."""
    if not row_ids:
        return 0
    last = KfContact.__table__.c.last_message_at
    same_window = (select(KfContact.id).where(KfContact.userid == OutboxMessage.recipient,
                                              last.is_(None) if budget.last_message_at is None
                                              else last == budget.last_message_at).exists())
    with factory.begin() as session:
        held = session.execute(update(OutboxMessage)
                               .where(OutboxMessage.id.in_(row_ids), OutboxMessage.claimed_by == token,
                                      OutboxMessage.status == OutboxStatus.PENDING.value, same_window)
                               .values(status=OutboxStatus.HELD.value, claimed_by=None,
                                       attempts=OutboxMessage.attempts - 1)
                               .execution_options(synchronize_session=False)).rowcount
        if held and budget.last_message_at is not None and now >= budget.last_message_at + WINDOW - _SECOND:
            kf_failures.window_ran_out(session, row_ids, budget.last_message_at + WINDOW - _SECOND, now)
        return held


def resident_wrote(session: Session, userid: str, external_userid: str, open_kfid: str,
                   sent_at: datetime | None, now: datetime) -> None:
    """A kf resident's message or event was recorded: remember where they are; a message (`sent_at`,
    WeCom's send_time in whole seconds) opens a new window and releases what was held for them.

    The window counts from when the message was surely written: its second's end, or now if that is
    earlier. So what gridbot sent earlier in that same second is not counted against the new window
    (a resident answering a burst of notices within a second is answered), and the window closes
    no later than WeCom's."""
    insert_or_skip(session, KfContact.__table__, {"userid": userid, "external_userid": external_userid,
                                                 "open_kfid": open_kfid, "created_at": now}, "userid")
    values: dict = {"open_kfid": open_kfid, "external_userid": external_userid}
    contact = KfContact.__table__.c
    query = update(KfContact).where(contact.userid == userid)
    if sent_at is not None:
        opened = min(now, sent_at + _SECOND)
        session.execute(query.where((contact.last_message_at.is_(None)) | (contact.last_message_at < opened))
                        .values(last_message_at=opened).execution_options(synchronize_session=False))
        session.execute(update(OutboxMessage)
                        .where(OutboxMessage.channel == OutboxChannel.KF.value, OutboxMessage.recipient == userid,
                               OutboxMessage.status == OutboxStatus.HELD.value)
                        .values(status=OutboxStatus.PENDING.value, next_attempt_at=now)
                        .execution_options(synchronize_session=False))
    session.execute(query.values(**values).execution_options(synchronize_session=False))
