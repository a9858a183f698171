"""Per-resident rate limit: a flood of texts gets one polite throttle reply, not a case per text."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from handlers.texts import render
from models import Case, InboundMessage, OutboxMessage, Resident, Unit
from tests.wecom_sim import text_xml

FLOOD = 100
REPORTS = ["小区门口的垃圾桶满了好几天没人清理", "楼上装修电钻声从早到晚不停", "路灯坏了好几盏晚上很黑",
           "楼道里堆满了杂物和纸箱很危险", "井盖丢了有人差点掉下去"]


@pytest.fixture(scope="module")
def flood(wecom, db, fake_wecom) -> dict:
    """A bound resident sends FLOOD distinct reports at concurrency 16: the replies in the answers
    by MsgId ("answers"), and those queued for the outbox once all were handled ("later"; their
    delivery is paced at 25 a minute per member, see tests/e2e/test_wecom_faults.py)."""
    with db.begin() as session:
        unit = session.scalars(select(Unit.id).order_by(Unit.id)).first()
        session.add(Resident(userid="flooder", unit_id=unit))
    bodies = {9_100_000 + i: text_xml("flooder", f"{REPORTS[i % len(REPORTS)]}（第{i}次）", 9_100_000 + i)
              for i in range(FLOOD)}
    with ThreadPoolExecutor(16) as pool:
        responses = dict(zip(bodies, pool.map(wecom.post_xml, bodies.values())))
    assert all(r.status_code == 200 for r in responses.values())
    answers = {msg_id: wecom.reply_text(r) for msg_id, r in responses.items()}
    fake_wecom.wait_for(lambda: _waiting(db, "flooder"), count=0, timeout=60, until_at_most=True)
    with db() as session:
        later = list(session.scalars(select(OutboxMessage.text).where(
            OutboxMessage.recipient == "flooder", OutboxMessage.dedupe_key.like("reply:%"))))
    return {"answers": answers, "later": later}


def _waiting(db, userid: str) -> list[int]:
    """The user's messages accepted and not yet handled."""
    with db() as session:
        return list(session.scalars(select(InboundMessage.id).where(
            InboundMessage.from_userid == userid, InboundMessage.status == "received")))


def test_flood_gets_exactly_one_throttle_reply(flood, app_settings):
    throttled = render("replies/throttled")
    replies = [reply for reply in flood["answers"].values() if reply is not None] + flood["later"]
    assert sum(reply == throttled for reply in replies) == 1
    assert len(replies) == app_settings.user_rate_limit + 1  # the rest are answered with nothing


def test_flood_opens_no_more_cases_than_the_limit_and_records_every_text(flood, db, app_settings):
    with db() as session:
        cases = session.scalar(select(func.count()).select_from(Case).where(Case.reporter_userid == "flooder"))
        recorded = session.scalar(select(func.count()).select_from(InboundMessage)
                                  .where(InboundMessage.from_userid == "flooder"))
    assert 0 < cases <= app_settings.user_rate_limit
    assert recorded == FLOOD


def test_other_residents_are_not_throttled_by_someone_elses_flood(flood, wecom):
    reply = wecom.send_text("bystander", "帮助")
    assert reply and reply != render("replies/throttled")


def test_redelivered_flood_message_gets_its_first_answer(flood, wecom):
    answers = flood["answers"]
    msg_id, first = next(((k, v) for k, v in answers.items() if v is not None), (next(iter(answers)), None))
    again = wecom.reply_text(wecom.post_xml(text_xml("flooder", "重发", msg_id)))
    assert again == first
