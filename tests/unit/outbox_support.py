"""Fixtures and helpers for the outbox tests: a migrated database, a fake WeCom over real HTTP, notices.

Test modules import the fixtures they use from here."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from bot.outbox.sender import OutboxSender, SendPolicy
from bot.wecom.api import WeComClient
from demo.fake_wecom import create_fake_wecom
from models import OutboxMessage, utcnow
from models.db import make_engine, make_session_factory
from models.migrate import upgrade
from models.outbox import queue_notice
from tests.servers import serve_in_thread

CORP_ID, SECRET, AGENT_ID = "wwoutboxtest", "outbox-test-secret", 1000002
FAST = SendPolicy(base=0.01, cap=0.05, max_attempts=5, rate_limit_pause=60, config_pause=300, lease=30, batch=20)


class FakeControl:
    """Programs and reads the fake WeCom."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=5)

    def faults(self, *faults: dict) -> None:
        self.http.post("/_fake/faults", json=list(faults)).raise_for_status()

    def calls(self, path: str | None = None, *, all: bool = False) -> list[dict]:
        params = {"all": "true"} if all else {}
        if path:
            params["path"] = path
        return self.http.get("/_fake/calls", params=params).json()

    def delivered_texts(self) -> Counter:
        """How often each text reached someone (message/send, appchat/send, webhook/send)."""
        return Counter(c["json"]["text"]["content"] for c in self.calls() if c["json"] and "text" in c["json"])

    def reset(self) -> None:
        self.http.post("/_fake/reset").raise_for_status()


def client_for(url: str, timeout: float = 2.0, **options) -> WeComClient:
    return WeComClient(url, CORP_ID, SECRET, AGENT_ID, timeout=timeout, **options)


def sender_for(factory: sessionmaker[Session], url: str, policy: SendPolicy = FAST, **options) -> OutboxSender:
    return OutboxSender(factory, client_for(url, **options), policy)


def queue(factory: sessionmaker[Session], count: int, prefix: str, channel: str = "user",
          recipient: str | None = None) -> list[str]:
    """Queue `count` notices with distinct texts; the texts."""
    texts = [f"{prefix} notice {i}" for i in range(count)]
    with factory.begin() as session:
        for i, text in enumerate(texts):
            queue_notice(session, channel=channel, recipient=recipient or f"{prefix}-user-{i}", text=text,
                         dedupe_key=f"{prefix}:{i}")
    return texts


def rows(factory: sessionmaker[Session], prefix: str) -> list[OutboxMessage]:
    with factory() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like(f"{prefix}:%"))
                                    .order_by(OutboxMessage.id)))


def clear_outbox(factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        session.execute(delete(OutboxMessage))


def later(seconds: float, now: datetime | None = None) -> datetime:
    return (now or utcnow()) + timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def factory(database_url: str):
    """A session factory on a freshly migrated database (SQLite, or PostgreSQL when configured)."""
    upgrade(database_url)
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture(scope="module")
def fake_url() -> str:
    with serve_in_thread(create_fake_wecom(corp_id=CORP_ID, secret=SECRET, strict_chats=True)) as url:
        yield url


@pytest.fixture
def fake(fake_url: str, factory) -> FakeControl:
    """The fake WeCom with no calls and no faults, and an empty outbox."""
    control = FakeControl(fake_url)
    control.reset()
    clear_outbox(factory)
    return control
