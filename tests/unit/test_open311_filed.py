"""POST requests' answer: the case number when the intake has handled the filing, a token while it waits."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from handlers.open311 import Open311Error, filed, token_status
from models import InboundMessage
from tests.unit.outbox_support import factory  # noqa: F401 (fixture: a migrated database)

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


def _record(session, key: str, status: str) -> None:
    session.add(InboundMessage(msg_key=key, channel="open311", from_userid="open311:hotline", msg_type="text",
                               content="垃圾桶满了", payload={}, status=status, received_at=NOW))
    session.flush()


def test_a_filing_behind_a_backlog_answers_a_token_that_resolves_later(factory):  # noqa: F811
    with factory.begin() as session:
        _record(session, "o311-waiting", "received")
        answer = filed(session, "o311-waiting", "acct-1")
        assert answer["token"] == "o311-waiting" and answer["account_id"] == "acct-1"
        assert "service_request_id" not in answer and answer["service_notice"]
        assert token_status(session, "o311-waiting") == [{"service_request_id": None, "token": "o311-waiting"}]


def test_a_failed_filing_is_a_500_and_its_token_finds_nothing(factory):  # noqa: F811
    with factory.begin() as session:
        _record(session, "o311-failed", "failed")
        with pytest.raises(Open311Error) as refused:
            filed(session, "o311-failed", None)
        assert refused.value.code == 500
        with pytest.raises(Open311Error) as missing:
            token_status(session, "o311-failed")
        assert missing.value.code == 404
