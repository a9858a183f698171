"""The 微信客服 window in the outbox: never more than WeCom takes (5 messages within 48 h of the
resident's last message); the rest held, then folded into one message when the resident writes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from bot.outbox import claims
from bot.outbox.window import WINDOW_MESSAGES, budgets, hold, resident_wrote
from models import KfContact, OutboxMessage, utcnow
from tests.unit.outbox_support import factory, fake, fake_url, later, queue, sender_for  # noqa: F401

KF_SEND = "/cgi-bin/kf/send_msg"
ACCOUNT = "wkgridbotdemo0001"


def _writes(fake, factory, external: str, when: datetime | None = None) -> str:
    """The resident writes: the fake opens WeCom's window, gridbot records it as the pull would."""
    fake.http.post("/_fake/kf/inject", json={"external_userid": external, "content": "在吗"}).raise_for_status()
    userid = f"kf:{external}"
    with factory.begin() as session:
        resident_wrote(session, userid, external, ACCOUNT, when or utcnow(), utcnow())
    return userid


def _statuses(factory, userid: str) -> list[str]:
    with factory() as session:
        return list(session.scalars(select(OutboxMessage.status).where(OutboxMessage.recipient == userid)
                                    .order_by(OutboxMessage.id)))


def _delivered(fake, external: str) -> list[str]:
    return [c["json"]["text"]["content"] for c in fake.calls(KF_SEND) if c["json"]["touser"] == external]


def test_budget_is_five_messages_and_closes_48_hours_after_the_last_message(fake, factory):
    userid = _writes(fake, factory, "wmBudget", when=datetime(2026, 11, 1, 8, tzinfo=timezone.utc))
    within, after = datetime(2026, 11, 3, 7, 59, tzinfo=timezone.utc), datetime(2026, 11, 3, 8, tzinfo=timezone.utc)
    assert budgets(factory, {userid}, within)[userid].left == WINDOW_MESSAGES
    assert budgets(factory, {userid}, after)[userid].left == 0
    assert budgets(factory, {"kf:wmNeverWrote"}, within)["kf:wmNeverWrote"].left == 0


def test_the_sixth_notice_is_held_and_goes_out_folded_when_the_resident_writes_again(fake, factory):
    userid = _writes(fake, factory, "wmSixth")
    sender = sender_for(factory, fake.url)
    for index in range(WINDOW_MESSAGES):
        queue(factory, 1, f"sixth{index}", channel="kf", recipient=userid)
        assert sender.run_once() == 1
    delivered = _delivered(fake, "wmSixth")
    assert len(delivered) == WINDOW_MESSAGES and "再次留言" in delivered[-1]  # the last one says so

    texts = queue(factory, 2, "held", channel="kf", recipient=userid)
    assert sender.run_once() == 0
    assert _statuses(factory, userid)[-2:] == ["held", "held"]
    assert [c for c in fake.calls(KF_SEND, all=True) if c["errcode"]] == []  # nothing offered beyond the window

    _writes(fake, factory, "wmSixth")
    assert sender.run_once() == 2
    folded = _delivered(fake, "wmSixth")[WINDOW_MESSAGES:]
    assert len(folded) == 1 and all(text in folded[0] for text in texts)


def test_a_send_wecom_refuses_is_held_not_lost(fake, factory):
    userid = "kf:wmRefused"
    with factory.begin() as session:  # gridbot believes the window is open; WeCom never heard them
        session.add(KfContact(userid=userid, external_userid="wmRefused", open_kfid=ACCOUNT,
                              last_message_at=utcnow()))
    queue(factory, 1, "refused", channel="kf", recipient=userid)
    assert sender_for(factory, fake.url).run_once() == 0
    assert _statuses(factory, userid) == ["held"]


def test_no_notice_goes_out_after_48_hours(fake, factory):
    userid = _writes(fake, factory, "wmLate")
    queue(factory, 1, "late", channel="kf", recipient=userid)
    assert sender_for(factory, fake.url).run_once(now=later(48 * 3600 + 1)) == 0
    assert _statuses(factory, userid) == ["held"] and _delivered(fake, "wmLate") == []


def test_nothing_is_held_when_the_resident_writes_while_it_is_being_held(fake, factory):
    userid = _writes(fake, factory, "wmRace", when=later(-49 * 3600))  # a window long closed
    queue(factory, 1, "race", channel="kf", recipient=userid)
    claimed = claims.claim(factory, "race-claim", utcnow(), timedelta(seconds=30), 10)
    stale = budgets(factory, {userid}, utcnow())[userid]
    assert stale.left == 0
    _writes(fake, factory, "wmRace")  # the resident writes before the hold lands
    assert hold(factory, [row.id for row in claimed], "race-claim", stale, utcnow()) == 0
    assert _statuses(factory, userid) == ["pending"]


def test_a_resident_who_writes_within_the_second_of_a_burst_gets_the_whole_window(fake, factory):
    userid = _writes(fake, factory, "wmSameSecond", when=utcnow() - timedelta(minutes=1))
    sender = sender_for(factory, fake.url)
    for index in range(WINDOW_MESSAGES):
        queue(factory, 1, f"burst{index}", channel="kf", recipient=userid)
        assert sender.run_once() == 1
    with factory() as session:
        last_sent = max(session.scalars(select(OutboxMessage.sent_at).where(OutboxMessage.recipient == userid)))
    # They write in the second the last notice went out in (WeCom's send_time has whole seconds).
    with factory.begin() as session:
        resident_wrote(session, userid, "wmSameSecond", ACCOUNT, last_sent.replace(microsecond=0),
                       last_sent + timedelta(microseconds=1))
    assert budgets(factory, {userid}, utcnow())[userid].left == WINDOW_MESSAGES
