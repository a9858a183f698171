"""Per-recipient pacing: a burst for one worker is folded into digests and paced below WeCom's per-member
limit, so WeCom drops nothing; the count is shared by every sender through the database."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.outbox.claims import Claimed
from bot.outbox.pacing import digest_text, fold
from bot.outbox.sender import OutboxSender
from demo.fake_wecom import create_fake_wecom
from tests.servers import serve_in_thread
from tests.unit.outbox_support import (  # noqa: F401 (fixtures)
    CORP_ID,
    FAST,
    SECRET,
    FakeControl,
    client_for,
    factory,
    fake,
    fake_url,
    later,
    queue,
    rows,
    sender_for,
)

SEND = "/cgi-bin/message/send"


def paced(factory, url: str, per_minute: int) -> OutboxSender:
    return OutboxSender(factory, client_for(url), replace(FAST, pace_per_minute=per_minute))


def drain(sender: OutboxSender, now) -> int:
    total = 0
    while (sent := sender.run_once(now)) > 0:
        total += sent
    return total


def contents(fake, userid: str) -> list[str]:
    return [c["json"]["text"]["content"] for c in fake.calls(SEND) if c["json"]["touser"] == userid]


def test_a_burst_beyond_the_pace_waits_for_room_and_goes_as_one_digest(factory, fake):
    first = queue(factory, 3, "burst", recipient="busy-worker")
    start = later(0)
    sender = paced(factory, fake.url, 3)
    assert drain(sender, start) == 3
    more = queue(factory, 10, "burst2", recipient="busy-worker")
    assert drain(sender, later(5, start)) == 0  # no room for 55 more seconds
    waiting = rows(factory, "burst2")
    assert all(r.status == "pending" and r.attempts == 0 for r in waiting)
    assert min(r.next_attempt_at for r in waiting) >= later(59, start)

    assert drain(sender, later(61, start)) == 10
    messages = contents(fake, "busy-worker")
    assert messages[:3] == first and len(messages) == 4
    digest = messages[3]
    assert digest.startswith("【消息汇总】") and all(text in digest for text in more)
    head, *folded = rows(factory, "burst2")
    assert head.folded_into is None and {r.folded_into for r in folded} == {head.id}


@pytest.fixture(scope="module")
def strict_fake():
    """A fake WeCom that, like WeCom, drops app messages beyond 30 a minute to one member."""
    with serve_in_thread(create_fake_wecom(corp_id=CORP_ID, secret=SECRET, member_per_minute=30)) as url:
        yield FakeControl(url)


def test_without_pacing_wecom_would_drop_part_of_a_burst(factory, fake, strict_fake):
    strict_fake.reset()
    texts = queue(factory, 45, "flood", recipient="busy-worker")
    drain(paced(factory, strict_fake.url, 0), later(0))
    delivered = contents(strict_fake, "busy-worker")
    assert len(delivered) == 30 and set(texts) - set(delivered)  # accepted with errcode 0, yet lost


def test_with_pacing_a_burst_reaches_the_worker_whole(factory, fake, strict_fake):
    strict_fake.reset()
    texts = queue(factory, 100, "flood", recipient="busy-worker")
    sender = paced(factory, strict_fake.url, 25)
    assert drain(sender, later(0)) == 100
    delivered = contents(strict_fake, "busy-worker")
    assert len(delivered) <= 25 and not [c for c in strict_fake.calls(SEND, all=True) if c["dropped"]]
    for text in texts:
        assert sum(text + "\n" in message + "\n" for message in delivered) == 1, text
    print(f"\noutbox pacing: 100 notices to one worker in {len(delivered)} messages "
          f"({sender.stats.messages} sends, {sender.stats.deferred} waits), none dropped by WeCom")


def test_the_pace_is_shared_by_every_sender(factory, fake):
    queue(factory, 4, "shared", recipient="busy-worker")
    start = later(0)
    one, two = paced(factory, fake.url, 4), paced(factory, fake.url, 4)
    assert drain(one, start) == 4
    queue(factory, 2, "shared2", recipient="busy-worker")
    assert drain(two, later(1, start)) == 0  # the other sender's four count here too
    assert drain(two, later(61, start)) == 2


def test_other_recipients_are_not_held_back_by_a_busy_one(factory, fake):
    queue(factory, 6, "busy", recipient="busy-worker")
    queue(factory, 3, "calm")
    start = later(0)
    sender = paced(factory, fake.url, 2)
    drain(sender, start)
    assert [r.status for r in rows(factory, "calm")] == ["sent"] * 3
    digest, = contents(fake, "busy-worker")  # six notices beyond its room of two: one digest
    assert all(f"busy notice {i}" in digest for i in range(6))


def test_a_robots_rate_limit_holds_only_that_robot(factory, fake):
    queue(factory, 1, "robot", channel="webhook", recipient="robot-key-1")
    queue(factory, 2, "calm")
    fake.faults({"path": "/cgi-bin/webhook/send", "errcode": 45009})
    sender = sender_for(factory, fake.url)
    start = later(0)
    assert sender.run_once(start) == 2 and sender.paused_until is None
    robot, = rows(factory, "robot")
    assert robot.status == "pending" and robot.next_attempt_at >= later(59, start)
    assert sender.run_once(later(61, start)) == 1


def test_a_digest_is_in_the_order_notices_were_queued_and_compact():
    rows = [Claimed(id=i, channel="user", recipient="w", text=text, attempts=1) for i, text in
            [(7, "GB-000002 陈晓梅接单"), (3, "GB-000001 噪音扰民 阳光小区一期3号楼 半夜装修 → 陈晓梅"),
             (9, "【提醒】GB-000001 噪音扰民\n请在11月30日 08:00前接单")]]
    [digest] = fold(rows)
    text = digest_text(digest)
    assert [row.id for row in digest] == [3, 7, 9]
    assert text.index("GB-000001 噪音扰民 阳光") < text.index("GB-000002 陈晓梅接单") < text.index("【提醒】")
    assert "\n\n" not in text and "——" in text  # one-line notices stack; a card is set apart
