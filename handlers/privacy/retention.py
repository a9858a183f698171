"""Retention: personal data of cases that ended more than N days ago is purged; statistics stay.

What goes: residents' names and phones, the free text of inbound messages and replies,
media references and the kept media themselves (through the caller's `forget_media`), places,
notice texts. What stays: each case's category, grid,
unit, states, timestamps, rating and event actions, so every figure can still be counted.
Case texts and worker notes stay readable for the audit trail with numbers masked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import Session, sessionmaker

from handlers.privacy.masking import mask_text
from models import Case, CaseLink, CaseState, Conversation, InboundMessage, OutboxMessage, Resident
from models.outbox import OutboxStatus

ENDED_STATES = (CaseState.ARCHIVED, CaseState.WITHDRAWN, CaseState.MERGED, CaseState.TRANSFERRED)
# Deletes kept media (their blobs and records) by media_id inside the purge's transaction; how many.
ForgetMedia = Callable[[Session, list[str]], int]
# Callback fields that say nothing about the person beyond who sent it (kept for replay and dedupe).
_KEPT_FIELDS = ("ToUserName", "FromUserName", "CreateTime", "MsgType", "MsgId", "Event", "AgentID")


@dataclass
class PurgeReport:
    cases: int = 0
    messages: int = 0
    residents: int = 0
    conversations: int = 0
    media: int = 0

    def add(self, other: PurgeReport) -> None:
        for key, value in asdict(other).items():
            setattr(self, key, getattr(self, key) + value)


def purge_batch(session: Session, *, now: datetime, days: int, batch: int = 500,
                forget_media: ForgetMedia | None = None) -> PurgeReport:
    """Purge up to `batch` ended cases older than `days` (and the loose data of that age); `forget_media`
    deletes the kept photos, voice and video of those cases in the same transaction."""
    cutoff = now - timedelta(days=days)
    cases = session.scalars(
        select(Case).where(Case.state.in_(ENDED_STATES), Case.updated_at < cutoff, Case.purged_at.is_(None))
        .order_by(Case.id).limit(batch)
    ).all()
    media_ids = [item["media_id"] for case in cases for event in case.events for item in event.attachments or []
                 if item.get("media_id")]
    for case in cases:
        _purge_case(session, case, now)
    session.flush()
    report = PurgeReport(cases=len(cases))
    report.media = forget_media(session, media_ids) if forget_media is not None and media_ids else 0
    report.messages = _purge_messages(session, cutoff, [case.id for case in cases])
    report.residents = _purge_residents(session, {case.resident_id for case in cases} - {None})
    report.conversations = session.execute(delete(Conversation).where(Conversation.updated_at < cutoff)).rowcount
    return report


def _purge_case(session: Session, case: Case, now: datetime) -> None:
    case.text = mask_text(case.text)
    case.location = None
    if case.classification:
        case.classification = {k: v for k, v in case.classification.items() if k != "normalised"}
    for event in case.events:
        event.note = mask_text(event.note) if event.note else event.note
        event.attachments = [{"kind": item.get("kind")} for item in event.attachments or []]
    session.execute(update(CaseLink).where(CaseLink.case_id == case.id).values(text=None))
    session.execute(update(OutboxMessage).where(OutboxMessage.case_id == case.id,
                                                OutboxMessage.status != OutboxStatus.PENDING).values(text=""))
    case.purged_at = now


def _purge_messages(session: Session, cutoff: datetime, case_ids: list[int]) -> int:
    """Free text of the purged cases' messages and of old messages that opened no case."""
    belongs = InboundMessage.case_id.in_(case_ids)
    loose = (InboundMessage.case_id.is_(None)) & (InboundMessage.received_at < cutoff)
    rows = session.scalars(select(InboundMessage).where(
        belongs | loose, (InboundMessage.content.is_not(None)) | (InboundMessage.reply.is_not(None)))).all()
    for row in rows:
        row.content, row.reply = None, None
        row.payload = {k: v for k, v in (row.payload or {}).items() if k in _KEPT_FIELDS}
    return len(rows)


def _purge_residents(session: Session, resident_ids: set[int]) -> int:
    """Names and phones of residents none of whose cases still needs them."""
    if not resident_ids:
        return 0
    still_needed = exists().where(Case.resident_id == Resident.id, Case.purged_at.is_(None))
    return session.execute(
        update(Resident).where(Resident.id.in_(resident_ids), ~still_needed,
                               (Resident.name.is_not(None)) | (Resident.phone.is_not(None)))
        .values(name=None, phone=None).execution_options(synchronize_session=False)
    ).rowcount


def purge(factory: sessionmaker[Session], *, now: datetime, days: int,
          forget_media: ForgetMedia | None = None) -> PurgeReport:
    """Purge everything due, one committed batch at a time."""
    total = PurgeReport()
    while True:
        with factory.begin() as session:
            report = purge_batch(session, now=now, days=days, forget_media=forget_media)
        total.add(report)
        if report.cases == 0:
            return total
