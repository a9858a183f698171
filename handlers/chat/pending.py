"""What gridbot is waiting for from a user, persisted so a restart loses nothing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from models import Conversation

CHOOSE_CATEGORY = "choose_category"  # data: text, candidates
AWAIT_ADDRESS = "await_address"  # data: case_id
CONFIRM_ADDRESS = "confirm_address"  # data: case_id, unit_id
RATE = "rate"  # data: case_id
CONFIRM_BIND = "confirm_bind"  # data: unit_id (the building whose QR code the resident came through)
CONFIRM_WITHDRAW = "confirm_withdraw"  # data: case_id


def current(session: Session, userid: str) -> Conversation | None:
    return session.get(Conversation, userid)


def expect(session: Session, userid: str, state: str, data: dict, now: datetime) -> None:
    """Remember that the next message from `userid` answers `state`."""
    convo = session.get(Conversation, userid)
    if convo is None:
        session.add(Conversation(userid=userid, state=state, data=data, updated_at=now))
    else:
        convo.state, convo.data, convo.updated_at = state, data, now


def finish(session: Session, userid: str) -> None:
    convo = session.get(Conversation, userid)
    if convo is not None:
        session.delete(convo)
