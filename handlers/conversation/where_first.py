"""Words saying only where, sent before the matter (东门那边, 对面, 楼下): no report yet. People type in pieces, so the
words are kept and the report that follows is read with them. The clock forgets words whose matter never followed
within lifecycle.yaml's qr_arrival_window (`forget_due`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from handlers.cases.timing import clock_rules
from handlers.chat import pending
from handlers.chat.commands import says_only_where
from handlers.services import Services
from handlers.texts import render
from models import Conversation, Resident


def keep(session: Session, resident: Resident, text: str, now: datetime) -> str | None:
    """Words naming only where kept for the matter that follows, and the reply, whatever the classifier reads in them
    (东门那边 reads like an emergency to the model); None for other words."""
    if not says_only_where(text):
        return None
    pending.expect(session, resident.userid, pending.WHERE_SAID, {"text": text}, now)
    return render("replies/where_noted", words=text.strip())


def joined(kept: str, text: str) -> str:
    """The report `text` read with the words kept before it (东门那边 + 垃圾桶满了), as one report typed in pieces."""
    return f"{kept} {text}"


def forget_due(session: Session, services: Services, now: datetime) -> int:
    """Words saying only where whose matter did not follow within qr_arrival_window, forgotten (there is no report to
    open); how many."""
    wait = clock_rules(services.config_dir).qr_arrival_window
    return session.execute(delete(Conversation).where(
        Conversation.state == pending.WHERE_SAID, Conversation.updated_at <= now - wait,
    ).execution_options(synchronize_session=False)).rowcount
