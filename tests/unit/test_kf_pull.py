"""The kf pull against the fake WeCom: pages recorded with their cursor, each message once, servicers'
messages and excluded accounts left alone, an expired event token replaced by a pull without one."""

from __future__ import annotations

import threading

from sqlalchemy import delete, func, select

from bot.wecom.kf import KfPuller
from models import InboundMessage, KfAccount, KfContact
from tests.unit.outbox_support import client_for, factory, fake, fake_url  # noqa: F401

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
