"""Scale-out on PostgreSQL: two app processes and two `gridbot worker` processes (outbox + clock).

Every report reaches both apps at nearly the same moment (as when a load balancer sends WeCom's
redelivery to another host); both answer alike, one case exists per MsgId, both senders send,
and every notice, from the reports and from the clocks' escalations, is delivered exactly once.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from models import Case, CaseEvent, CaseState, InboundMessage, OutboxMessage, utcnow
from models.outbox import OutboxStatus
from tests.loadgen import (
    AppProcess,
    bind_residents,
    count_rows,
    deliver,
    encrypted_reports,
    process_env,
    wait_for_none_left,
)
from tests.servers import free_port
from tests.wecom_sim import CallbackClient, WeComSide

pytestmark = pytest.mark.skipif(not os.environ.get("GRIDBOT_DATABASE_URL", "").startswith("postgresql"),
                                reason="several processes on one database need PostgreSQL")
MESSAGES = int(os.environ.get("GRIDBOT_SCALE_MESSAGES", "600"))
OVERDUE = 60


@pytest.fixture(scope="module")
def cluster(app_settings, fake_wecom, tmp_path_factory):
    """Two apps without background jobs and two workers, all on the module's database."""
    env = {**process_env(app_settings, fake_wecom.url), "GRIDBOT_CLOCK_INTERVAL": "0.5"}
    log = tmp_path_factory.mktemp("scale") / "processes.log"
    workers = [AppProcess(env, command=["-m", "bot", "worker"], log=log, wait=False) for _ in range(2)]
    apps = [AppProcess({**env, "GRIDBOT_RUN_BACKGROUND_JOBS": "false"}, free_port(), log=log, wait=False)
            for _ in range(2)]
    processes = workers + apps
    try:
        for app in apps:
            app.wait_healthy()
        assert all(worker.process.poll() is None for worker in workers)
        yield [app.url for app in apps]
    finally:
        for process in processes:
            process.stop()


@pytest.fixture(scope="module")
def burst(cluster, app_settings, db) -> dict:
    """Each report sent to both apps at once (two senders at concurrency 8 each)."""
    side = WeComSide(app_settings.wecom_token, app_settings.wecom_aes_key, app_settings.wecom_corp_id)
    deliveries = encrypted_reports(side, bind_residents(db, "scale", 150), MESSAGES, 9_000_000_000)
    answers: dict[str, list] = {}
    threads = [threading.Thread(target=lambda url=url: answers.setdefault(url, deliver(url, deliveries, 8)))
               for url in cluster]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Messages are handled behind their answers: judge what the apps did once they are all handled.
    wait_for_none_left(lambda: count_rows(db, InboundMessage, InboundMessage.status == "received"), 90,
                       "messages to handle")
    return {"deliveries": deliveries, "answers": answers, "reader": CallbackClient("http://127.0.0.1:9", side)}


def _wait_for_outbox(db) -> None:
    wait_for_none_left(lambda: count_rows(db, OutboxMessage, OutboxMessage.status == OutboxStatus.PENDING), 90,
                       "notices to send")


def _deliveries_match_outbox(db, fake_wecom) -> None:
    with db() as session:
        rows = session.execute(select(OutboxMessage.recipient, OutboxMessage.text, OutboxMessage.status)).all()
    assert all(status == OutboxStatus.SENT for *_, status in rows)
    delivered = Counter()
    for path, target in (("/cgi-bin/message/send", "touser"), ("/cgi-bin/appchat/send", "chatid")):
        delivered.update((call["json"][target], call["json"]["text"]["content"]) for call in fake_wecom.calls(path))
    assert delivered == Counter((recipient, text) for recipient, text, _ in rows)


def test_both_apps_answer_every_delivery_and_give_each_reply_once(burst, db):
    """A reply rides on an answer only when that app's processor handled the message in time;
    any answer that carries one carries the stored reply, and such a reply is not also queued."""
    first, second = burst["answers"].values()
    assert all(a.status == 200 for a in first + second)
    reply = burst["reader"].reply_text
    given: dict[int, set[str]] = {}
    for answer in first + second:
        text = reply(httpx.Response(200, content=answer.body))
        if text is not None:
            given.setdefault(answer.delivery.msg_id, set()).add(text)
    with db() as session:
        records = {row.msg_key: row for row in session.execute(
            select(InboundMessage.msg_key, InboundMessage.id, InboundMessage.reply)
            .where(InboundMessage.msg_key.in_([f"app:{msg_id}" for msg_id in given])))}
        queued = set(session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.like("reply:%"))))
    for msg_id, texts in given.items():
        record = records[f"app:{msg_id}"]
        assert texts == {record.reply} and f"reply:{record.id}" not in queued


def test_one_record_and_at_most_one_case_per_msgid(burst, db):
    keys = [f"app:{d.msg_id}" for d in burst["deliveries"]]
    with db() as session:
        records = session.scalar(select(func.count()).select_from(InboundMessage)
                                 .where(InboundMessage.msg_key.in_(keys)))
        case_ids = session.scalars(select(InboundMessage.case_id).where(InboundMessage.case_id.is_not(None))).all()
        cases = session.scalar(select(func.count()).select_from(Case))
        unlinked = session.execute(select(Case.id, Case.reporter_userid, Case.source, Case.text, Case.created_at)
                                   .where(Case.id.not_in(case_ids))).all()
    assert records == MESSAGES
    assert cases == len(set(case_ids)) == len(case_ids) > 0, (unlinked, Counter(case_ids).most_common(3))


def test_both_workers_send_and_every_notice_is_delivered_once(burst, db, fake_wecom):
    _wait_for_outbox(db)
    _deliveries_match_outbox(db, fake_wecom)
    senders = Counter(call["query"].get("access_token") for call in fake_wecom.calls("/cgi-bin/message/send"))
    print(f"\nscale-out: {MESSAGES} reports x 2 apps; sends per worker (by access token): {sorted(senders.values())}")
    assert len(senders) >= 2 and min(senders.values()) > 0


def test_two_clocks_escalate_each_overdue_case_once(burst, db, fake_wecom):
    with db.begin() as session:
        overdue = session.scalars(select(Case.id).where(Case.state == CaseState.PENDING)
                                  .order_by(Case.id).limit(OVERDUE)).all()
        # Urgent: escalates at its deadline at any hour (a non-urgent case only after a reminder and
        # never in quiet hours), so what the two clocks do does not depend on the time of day.
        session.execute(update(Case).where(Case.id.in_(overdue))
                        .values(take_due=utcnow() - timedelta(minutes=30), urgent=True))

    def escalated() -> list:
        with db() as session:
            return session.execute(select(CaseEvent.case_id, func.count()).where(
                CaseEvent.case_id.in_(overdue), CaseEvent.action == "overdue").group_by(CaseEvent.case_id)).all()

    wait_for_none_left(lambda: len(overdue) - len(escalated()), 90, "overdue cases to escalate")
    time.sleep(2)  # several more clock passes of both workers: nothing may happen twice
    assert overdue and all(count == 1 for _, count in escalated())
    _wait_for_outbox(db)
    _deliveries_match_outbox(db, fake_wecom)
