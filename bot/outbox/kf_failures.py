"""A 微信客服 message WeCom accepted and later reports undelivered: the `msg_send_fail` event.

The event (pulled with kf/sync_msg) names the message by WeCom's msgid, which the sender kept on the
message's first outbox row (`remote_msgid`). Every notice that message carried goes back to `held`
when waiting for the resident can fix it (the session expired or was closed, the 5-message limit,
an unknown cause): like any held notice it goes out, folded, when the resident writes again.
What waiting cannot fix (the resident refuses messages, the account or app is gone, a corp or content
restriction) goes to the dead letters with the reason. Either way each case named gets a note on
its timeline and its worker is told (they may phone the resident), once: a redelivered event finds nothing
still `sent` and changes nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from handlers.cases.case_notices import UNDELIVERED, note_undelivered
from handlers.texts import label
from models import CaseEvent
from models.outbox import OutboxChannel, OutboxMessage, OutboxStatus

log = logging.getLogger("gridbot.outbox")

EVENT = "msg_send_fail"
# fail_type values that waiting for the resident cannot fix (WeCom's list): the notice is dead.
FINAL = frozenset({1, 2, 8, 10, 11, 12, 13})
CONFIGURATION = frozenset({1, 2, 8, 11})  # the corp's set-up: an operator must act
SESSION_EXPIRED = 4  # WeCom's fail_type for a session past its 48 h


def _fail_type(value: object) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0  # WeCom's own "unknown cause"


def window_ran_out(session: Session, row_ids: list[int], ended: datetime, now: datetime) -> None:
    """Notices held because the resident's 48 h ran out at `ended`: each case they are about gets a timeline note
    (as WeCom's own 会话已过期 report gives) and its worker a notice, so they can phone the resident; once a window."""
    case_ids = session.scalars(select(OutboxMessage.case_id).distinct().where(
        OutboxMessage.id.in_(row_ids), OutboxMessage.status == OutboxStatus.HELD.value,
        OutboxMessage.case_id.is_not(None)))
    for case_id in sorted(case_ids):
        if session.scalar(select(CaseEvent.id).where(CaseEvent.case_id == case_id, CaseEvent.at >= ended,
                                                     CaseEvent.action == UNDELIVERED).limit(1)) is not None:
            continue
        note_undelivered(session, case_id, label("kf_fail_types", SESSION_EXPIRED), True, now)


def send_failed(session: Session, event: dict, now: datetime) -> int:
    """Apply one msg_send_fail event in `session`'s transaction; how many notices it took back."""
    fail_msgid, fail_type = str(event.get("fail_msgid") or ""), _fail_type(event.get("fail_type"))
    if not fail_msgid:
        return 0
    head = session.scalars(select(OutboxMessage).where(
        OutboxMessage.remote_msgid == fail_msgid, OutboxMessage.channel == OutboxChannel.KF.value,
        OutboxMessage.status == OutboxStatus.SENT.value)).first()
    if head is None:
        log.info("kf msg_send_fail for no notice still marked sent", extra={"msgid": fail_msgid})
        return 0
    rows = list(session.scalars(select(OutboxMessage).where(
        or_(OutboxMessage.id == head.id, OutboxMessage.folded_into == head.id),
        OutboxMessage.status == OutboxStatus.SENT.value).order_by(OutboxMessage.id)))
    resent = fail_type not in FINAL
    for row in rows:
        row.status = (OutboxStatus.HELD if resent else OutboxStatus.DEAD).value
        # No longer the message WeCom named: a redelivered event (or a later one) finds nothing to take back.
        row.sent_at, row.folded_into, row.remote_msgid, row.next_attempt_at = None, None, None, now
        row.last_error = f"WeCom reported the kf message undelivered (msg_send_fail, fail_type {fail_type})"
    reason = label("kf_fail_types", fail_type)
    for case_id in sorted({row.case_id for row in rows if row.case_id is not None}):
        note_undelivered(session, case_id, reason, resent, now)
    level = logging.ERROR if fail_type in CONFIGURATION else logging.WARNING
    log.log(level, "kf message undelivered (fail_type %s): %d notice(s) %s", fail_type, len(rows),
            "held until the resident writes" if resent else "dead", extra={"userid": head.recipient})
    return len(rows)
