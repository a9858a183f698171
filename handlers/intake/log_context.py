"""What every log line of one message's handling carries: its MsgId and, once known, its case number.

`dispatch.process` opens the context; the case number joins it as soon as the message's record
is linked to a case, whichever handler does that. bot/logging_setup.py writes the fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event

from handlers.chat.case_numbers import format_case_number
from models import InboundMessage

_fields: ContextVar[dict[str, str] | None] = ContextVar("gridbot_log_context", default=None)


@contextmanager
def message_context(msg_key: str) -> Iterator[None]:
    """Log lines inside the block carry `msg_key` (and the case number once known)."""
    token = _fields.set({"msg_key": msg_key})
    try:
        yield
    finally:
        _fields.reset(token)


def fields() -> dict[str, str]:
    """The current message's log fields (empty outside a message's handling)."""
    return _fields.get() or {}


@event.listens_for(InboundMessage.case_id, "set")
def _case_linked(record: InboundMessage, case_id: int | None, _old, _initiator) -> None:
    current = _fields.get()
    if current is not None and case_id and current.get("msg_key") == record.msg_key:
        current["case"] = format_case_number(case_id)
