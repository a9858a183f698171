"""The outbox on a good day: queued once, sent once per row over each channel, token cached, secrets unlogged."""

from __future__ import annotations

import logging
import time

from bot.outbox.store import count_by_status
from bot.wecom.api import TEXT_LIMIT_BYTES
from models.outbox import queue_notice
from tests.unit.outbox_support import (  # noqa: F401 (fixtures)
    AGENT_ID,
    SECRET,
    client_for,
    factory,
    fake,
    fake_url,
    queue,
    rows,
    sender_for,
)


def test_queue_notice_keeps_one_row_per_dedupe_key(factory, fake):
    with factory.begin() as session:
        first = queue_notice(session, channel="user", recipient="u1", text="a", dedupe_key="dup:1")
        again = queue_notice(session, channel="user", recipient="u1", text="b", dedupe_key="dup:1")
    assert (first, again) == (True, False)
    assert [row.text for row in rows(factory, "dup")] == ["a"]


def test_each_channel_reaches_wecom_once_and_rows_are_marked_sent(factory, fake):
    client = client_for(fake.url)
    chatid = client.create_appchat("网格一群", "w1", ["w1", "w2"], "grid1chat")
    with factory.begin() as session:
        queue_notice(session, channel="user", recipient="demo-worker", text="新事项 GB-000001", dedupe_key="ch:1")
        queue_notice(session, channel="appchat", recipient=chatid, text="群通知 GB-000001", dedupe_key="ch:2")
        queue_notice(session, channel="webhook", text="机器人 GB-000001", dedupe_key="ch:3",
                     recipient="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=robot-key-1")
    sender = sender_for(factory, fake.url)
    assert sender.run_once() == 3
    assert sender.run_once() == 0
    user, = fake.calls("/cgi-bin/message/send")
    assert user["json"]["touser"] == "demo-worker" and user["json"]["agentid"] == AGENT_ID
    assert user["json"]["text"]["content"] == "新事项 GB-000001"
    group, = fake.calls("/cgi-bin/appchat/send")
    assert group["json"]["chatid"] == chatid and group["json"]["text"]["content"] == "群通知 GB-000001"
    robot, = fake.calls("/cgi-bin/webhook/send")
    assert robot["query"] == {"key": "robot-key-1"}
    assert [(row.status, row.attempts) for row in rows(factory, "ch")] == [("sent", 1)] * 3


def test_the_access_token_is_fetched_once_and_reused(factory, fake):
    queue(factory, 30, "tok")
    sender = sender_for(factory, fake.url)
    while sender.run_once():
        pass
    assert len(fake.calls("/cgi-bin/gettoken")) == 1
    tokens = {call["query"]["access_token"] for call in fake.calls("/cgi-bin/message/send")}
    assert len(tokens) == 1 and sender.client.token_fetches == 1


def test_a_text_over_wecoms_limit_is_cut_to_fit(factory, fake):
    with factory.begin() as session:
        queue_notice(session, channel="user", recipient="u1", text="长" * 1000, dedupe_key="long:1")
    assert sender_for(factory, fake.url).run_once() == 1
    content = fake.calls("/cgi-bin/message/send")[0]["json"]["text"]["content"]
    assert len(content.encode()) <= TEXT_LIMIT_BYTES and content.endswith("…")


def test_tokens_and_secrets_never_reach_the_logs(factory, fake, caplog):
    queue(factory, 2, "log")
    queue(factory, 1, "logrobot", channel="webhook", recipient="https://x/cgi-bin/webhook/send?key=robotsecret")
    # The app's log setup quiets httpx; turn it up here so the redaction itself is what is tested.
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="httpx"):
        sender = sender_for(factory, fake.url)
        sender.run_once()
        sender.client.token(refresh=True, stale=sender.client.token())
    token = fake.calls("/cgi-bin/message/send")[0]["query"]["access_token"]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "gettoken" in logged  # httpx did log the requests...
    for secret in (token, SECRET, "robotsecret"):
        assert secret not in logged  # ...without what would let someone send as gridbot


def test_sending_rate_over_loopback(factory, fake):
    queue(factory, 200, "rate")
    sender = sender_for(factory, fake.url)
    started = time.perf_counter()
    while sender.run_once():
        pass
    elapsed = time.perf_counter() - started
    assert count_by_status_of(factory)["sent"] == 200
    assert len(fake.calls("/cgi-bin/message/send")) == 200
    print(f"\noutbox: 200 notices sent in {elapsed:.2f} s = {200 / elapsed:.0f} sends/s "
          f"(one sender, {factory.kw['bind'].dialect.name}, fake WeCom on loopback)")


def count_by_status_of(factory) -> dict[str, int]:
    with factory() as session:
        return count_by_status(session)
