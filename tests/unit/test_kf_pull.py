"""The kf pull against the fake WeCom: pages recorded with their cursor, each message once, servicers'
messages and excluded accounts left alone, an expired event token replaced by a pull without one, an
unreachable WeCom waited out."""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import delete, func, select
from starlette.testclient import TestClient

from bot.wecom import kf
from bot.wecom.kf import KfPuller
from demo.fake_wecom import create_fake_wecom
from models import InboundMessage, KfAccount, KfContact
from tests.servers import free_port, serve_in_thread
from tests.unit.outbox_support import (  # noqa: F401
    CORP_ID,
    SECRET,
    client_for,
    factory,
    fake,
    fake_url,
)

ACCOUNT = "wkgridbotdemo0001"


def _inject(fake, user: str, **spec) -> dict:
    return fake.http.post("/_fake/kf/inject", json={"external_userid": user, **spec}).json()


def _records(factory) -> list[tuple[str, str]]:
    with factory() as session:
        return list(session.execute(select(InboundMessage.from_userid, InboundMessage.content)
                                    .where(InboundMessage.channel == "kf").order_by(InboundMessage.id)))


def _puller(factory, fake, **options) -> KfPuller:
    with factory.begin() as session:
        session.execute(delete(InboundMessage))
        session.execute(delete(KfAccount))
        session.execute(delete(KfContact))
    return KfPuller(factory, client_for(fake.url), excluded=options.pop("excluded", frozenset()),
                    on_recorded=options.pop("on_recorded", lambda: None))


def test_pages_are_recorded_with_their_cursor_and_each_message_once(fake, factory):
    puller = _puller(factory, fake)
    tokens = [_inject(fake, "wmPager", content=f"第{i}条")["token"] for i in range(3)]
    assert puller.pull(ACCOUNT, tokens[-1]) == 3
    assert [text for _, text in _records(factory)] == ["第0条", "第1条", "第2条"]
    with factory() as session:
        assert session.get(KfAccount, ACCOUNT).cursor == "c3"
        contact = session.scalars(select(KfContact)).one()
        assert (contact.userid, contact.external_userid, contact.open_kfid) == ("kf:wmPager", "wmPager", ACCOUNT)
    assert puller.pull(ACCOUNT, tokens[-1]) == 0  # a redelivered event: nothing new
    with factory.begin() as session:  # the same pages served again from the start
        session.get(KfAccount, ACCOUNT).cursor = None
    assert puller.pull(ACCOUNT, tokens[-1]) == 0 and len(_records(factory)) == 3


def test_servicer_messages_and_other_events_are_not_recorded(fake, factory):
    puller = _puller(factory, fake)
    _inject(fake, "wmMixed", content="人工客服的话", origin=5)
    _inject(fake, "wmMixed", msgtype="event", event_type="msg_send_fail")
    token = _inject(fake, "wmMixed", content="居民的话")["token"]
    assert puller.pull(ACCOUNT, token) == 1
    assert _records(factory) == [("kf:wmMixed", "居民的话")]


def test_an_excluded_account_is_not_pulled(fake, factory):
    puller = _puller(factory, fake, excluded=frozenset({ACCOUNT}))
    assert puller.notify(ACCOUNT, _inject(fake, "wmExcluded", content="你好")["token"]) is False
    assert fake.calls("/cgi-bin/kf/sync_msg") == []


def test_a_refused_token_is_retried_without_it_in_the_background(fake, factory):
    recorded = threading.Event()
    puller = _puller(factory, fake, on_recorded=recorded.set)
    _inject(fake, "wmExpired", content="token 过期了")
    puller.start()
    try:
        puller.notify(ACCOUNT, "ENCnot-a-valid-token")
        assert recorded.wait(10)
    finally:
        puller.stop()
    pulls = fake.calls("/cgi-bin/kf/sync_msg", all=True)
    assert [c["errcode"] for c in pulls][:2] == [95007, 0] and "token" not in pulls[1]["json"]
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 1


def test_a_pull_waits_out_an_unreachable_wecom_however_long_it_lasts(factory, monkeypatch, caplog):
    """With no connection to WeCom a pull is retried past MAX_ATTEMPTS (other failures give up there), the outage
    logged as a warning once; once WeCom answers, the waiting message is pulled without a new event."""
    monkeypatch.setattr(kf, "RETRY_BASE", 0.01)
    monkeypatch.setattr(kf, "RETRY_CAP", 0.02)
    port = free_port()  # nothing listens until the fake starts
    recorded = threading.Event()
    with factory.begin() as session:
        session.execute(delete(InboundMessage))
        session.execute(delete(KfAccount))
    puller = KfPuller(factory, client_for(f"http://127.0.0.1:{port}"), excluded=frozenset(),
                      on_recorded=recorded.set)
    puller.start()
    try:
        with caplog.at_level(logging.DEBUG, "gridbot.kf"):
            puller.notify(ACCOUNT, "ENCevent-token")
            deadline = time.monotonic() + 20
            while sum("kf pull failed" in r.getMessage() for r in caplog.records) < 2 * kf.MAX_ATTEMPTS:
                assert time.monotonic() < deadline and "gave up" not in caplog.text
                time.sleep(0.01)
        assert sum(r.levelno >= logging.WARNING for r in caplog.records) == 1
        back = create_fake_wecom(corp_id=CORP_ID, secret=SECRET)  # WeCom got a message during the outage
        TestClient(back).post("/_fake/kf/inject", json={"external_userid": "wmOutage", "content": "停电了"})
        with serve_in_thread(back, port):
            assert recorded.wait(10)
    finally:
        puller.stop()
    assert [text for _, text in _records(factory)] == ["停电了"]
