"""The intake when the database will not take a message: it waits out another writer's lock without
blocking, and answers 503 (so WeCom delivers again) when the message cannot be recorded at all.

SQLite on purpose, whatever the suite's database: the lock and the table are held and hidden
through a second connection to the same file.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import select

from bot import intake
from models import InboundMessage
from tests.wecom_sim import text_xml


@pytest.fixture(scope="module")
def database_url(tmp_path_factory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('intake') / 'gridbot.db'}"


@contextmanager
def _raw(database_url: str) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None,
                                 check_same_thread=False)
    try:
        yield connection
    finally:
        connection.close()


def _recorded(db, msg_key: str) -> bool:
    with db() as session:
        return session.scalar(select(InboundMessage.id).where(InboundMessage.msg_key == msg_key)) is not None


def test_a_callback_waits_out_another_writers_lock_and_is_then_recorded(wecom, db, database_url):
    with _raw(database_url) as holder:
        holder.execute("BEGIN IMMEDIATE")  # another writer (an export, another process) holds the lock
        release = threading.Timer(0.6, holder.execute, args=("ROLLBACK",))
        release.start()
        started = time.monotonic()
        response = wecom.post_xml(text_xml("demo-resident", "小区东门的路灯坏了", 880_001))
        waited = time.monotonic() - started
        release.join()
    assert response.status_code == 200
    assert waited >= 0.5  # answered only once the message could be committed
    assert _recorded(db, "app:880001")


def test_a_callback_that_cannot_be_recorded_gets_503_and_its_redelivery_is_recorded(wecom, db, database_url):
    body = text_xml("demo-resident", "楼道里堆满了杂物", 880_002)
    with _raw(database_url) as connection:
        connection.execute("ALTER TABLE inbound_messages RENAME TO inbound_messages_away")
        try:
            refused = wecom.post_xml(body)
        finally:
            connection.execute("ALTER TABLE inbound_messages_away RENAME TO inbound_messages")
    assert refused.status_code == 503
    assert not _recorded(db, "app:880002")
    assert wecom.post_xml(body).status_code == 200  # WeCom delivers again after a failed answer
    assert _recorded(db, "app:880002")


def test_a_message_handled_without_a_reply_is_answered_as_soon_as_it_is_handled(wecom, db, monkeypatch):
    # With a reply wait longer than the client's 10 s timeout, only an answer given when the message
    # is handled (not when the wait runs out) reaches the client.
    monkeypatch.setattr(intake, "REPLY_WAIT", 60.0)
    event = ("<xml><ToUserName>corp</ToUserName><FromUserName>demo-resident</FromUserName>"
             f"<CreateTime>{int(time.time())}</CreateTime><MsgType>event</MsgType>"
             "<Event>view</Event><EventKey>https://example.org</EventKey><AgentID>1000002</AgentID></xml>")
    answer = wecom.post_xml(event)
    assert answer.status_code == 200 and answer.content == b""
    with db() as session:
        assert session.scalars(select(InboundMessage.status).order_by(InboundMessage.id.desc())).first() == "handled"
