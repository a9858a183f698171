"""WeCom's msg_send_fail for a message that was a digest takes back every notice folded into it, once;
held ones go out again when the resident writes, and what waiting cannot fix is dead with an ERROR."""

from __future__ import annotations

import logging

from sqlalchemy import select

from bot.outbox.kf_failures import send_failed
from bot.outbox.window import resident_wrote
from models import OutboxMessage, utcnow
from tests.unit.outbox_support import clear_outbox, factory  # noqa: F401 (fixtures)

USER = "kf:wmUnitSendFailure"


def _sent(factory, msgid: str, texts: list[str]) -> list[int]:  # noqa: F811
    """One kf message WeCom accepted under `msgid`, carrying `texts` (a digest when several)."""
    now = utcnow()
    with factory.begin() as session:
        rows = [OutboxMessage(dedupe_key=f"{msgid}:{text}", channel="kf", recipient=USER, text=text, status="sent",
                              sent_at=now) for text in texts]
        session.add_all(rows)
        session.flush()
        rows[0].remote_msgid = msgid
        for row in rows[1:]:
            row.folded_into = rows[0].id
        return [row.id for row in rows]


def _states(factory, ids: list[int]) -> list[tuple]:  # noqa: F811
    with factory() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id))
        return [(row.status, row.folded_into, row.remote_msgid) for row in rows]


def test_a_digest_reported_undelivered_is_held_whole_once_and_released_when_the_resident_writes(factory):  # noqa: F811
    clear_outbox(factory)
    digest, other = _sent(factory, "wecom-msg-1", ["接单", "方案", "进展"]), _sent(factory, "wecom-msg-2", ["办结"])
    with factory.begin() as session:
        assert send_failed(session, {"fail_msgid": "wecom-msg-1", "fail_type": 6}, utcnow()) == 3
    assert _states(factory, digest) == [("held", None, None)] * 3
    assert _states(factory, other) == [("sent", None, "wecom-msg-2")]
    with factory.begin() as session:
        assert send_failed(session, {"fail_msgid": "wecom-msg-1", "fail_type": 6}, utcnow()) == 0  # redelivered
        resident_wrote(session, USER, "wmUnitSendFailure", "wkUnit", utcnow(), utcnow())
    assert [state for state, _, _ in _states(factory, digest)] == ["pending"] * 3


def test_what_waiting_cannot_fix_is_dead_and_the_corps_set_up_is_an_error(factory, caplog):  # noqa: F811
    clear_outbox(factory)
    refused, closed_app = _sent(factory, "wecom-msg-3", ["进展"]), _sent(factory, "wecom-msg-4", ["办结"])
    with caplog.at_level(logging.WARNING, logger="gridbot.outbox"), factory.begin() as session:
        send_failed(session, {"fail_msgid": "wecom-msg-3", "fail_type": 10}, utcnow())  # the resident refuses
        send_failed(session, {"fail_msgid": "wecom-msg-4", "fail_type": 2}, utcnow())  # the app was closed
    assert [state for state, _, _ in _states(factory, refused + closed_app)] == ["dead", "dead"]
    assert [record.levelno for record in caplog.records] == [logging.WARNING, logging.ERROR]
