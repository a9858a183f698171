"""Queueing notices: a message's notices (its steps' and its reply) written together, in the order queued."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from models.outbox import OutboxMessage, notice, notices_together, queue_notice, queue_notices
from tests.demo_db import demo_factory, demo_session  # noqa: F401  (fixtures)
from tests.sql_seen import statements_sent


@pytest.fixture
def session(demo_session):
    return demo_session


def _note(key: str, recipient: str = "u1") -> dict:
    return notice(channel="user", recipient=recipient, text=f"通知 {key}", dedupe_key=key)


def _queued(session) -> list[str]:
    return list(session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.like("t-%"))
                                .order_by(OutboxMessage.id)))


@pytest.fixture
def outbox_writes(session):
    """The statements that write the outbox meanwhile."""
    with statements_sent(session.get_bind(), lambda sql: "outbox" in sql) as seen:
        yield seen


def test_notices_held_are_written_in_one_statement_when_the_block_ends(session, outbox_writes):
    writes = outbox_writes
    with notices_together(session):
        queue_notices(session, [_note("t-1"), _note("t-2", "u2")])
        queue_notices(session, [_note("t-3")])
        assert writes == []
    assert len(writes) == 1 and _queued(session) == ["t-1", "t-2", "t-3"]


def test_a_notice_that_must_say_whether_it_is_new_writes_the_held_ones_first(session):
    with notices_together(session):
        queue_notices(session, [_note("t-1")])
        assert queue_notice(session, channel="user", recipient="u1", text="即时", dedupe_key="t-2") is True
        queue_notices(session, [_note("t-3"), _note("t-1")])  # t-1 again: queued once
    assert _queued(session) == ["t-1", "t-2", "t-3"]


def test_notices_held_by_a_block_that_fails_are_dropped(session):
    with pytest.raises(RuntimeError), notices_together(session):
        queue_notices(session, [_note("t-1")])
        raise RuntimeError("the message failed")
    queue_notices(session, [_note("t-2")])  # outside any block: written at once
    assert _queued(session) == ["t-2"]
