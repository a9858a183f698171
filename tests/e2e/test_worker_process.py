"""`gridbot worker` as a real process: with `--no-jobs` it only handles messages (the outbox sender and the
clock run in other processes); by default it also sends what it queued.

A report is accepted into the database as the app's intake would, then handled by the worker's processor
(which looks for messages other processes accepted every half second). The resident's reply and the case's
notices are queued in the outbox; a worker with jobs sends them to the fake WeCom, one without leaves them.
"""

from __future__ import annotations

import time

from sqlalchemy import select

from bot.state import AppState
from bot.wecom.parsing import inbound_from_xml
from handlers.intake import inbox
from models import InboundMessage, OutboxMessage
from models.outbox import OutboxStatus
from tests.loadgen import AppProcess, process_env, wait_for_none_left
from tests.servers import free_port
from tests.wecom_sim import text_xml

REPORT = "阳光小区1期3栋门口的下水道堵了，污水冒出来"
SENDER_WOULD_HAVE_SENT = 1.5  # seconds: a sender (woken by the queued reply, polling every 0.05 s) sends in ms


def _accept(settings, userid: str, msg_id: int) -> str:
    state = AppState.build(settings)
    try:
        with state.factory.begin() as session:
            inbox.accept(session, [inbound_from_xml(text_xml(userid, REPORT, msg_id))], state.services.clock())
    finally:
        state.close()
    return f"app:{msg_id}"


def _handled_and_notices(db, msg_key: str, userid: str) -> list[str]:
    """Once the worker has handled `msg_key`: the statuses of the notices to `userid` (its reply among them)."""
    def waiting() -> int:
        with db() as session:
            return int(session.scalar(select(InboundMessage.status).where(InboundMessage.msg_key == msg_key))
                       == "received")

    wait_for_none_left(waiting, 60, "the message to be handled")
    with db() as session:
        return list(session.scalars(select(OutboxMessage.status).where(OutboxMessage.recipient == userid)))


def _run_worker(app_settings, fake_wecom, tmp_path, *options: str) -> AppProcess:
    env = {**process_env(app_settings, fake_wecom.url), "GRIDBOT_METRICS_PORT": str(free_port())}
    return AppProcess(env, command=["-m", "bot", "worker", *options], log=tmp_path / "worker.log", wait=False)


def test_a_worker_without_jobs_handles_messages_and_leaves_the_sending_to_others(app_settings, fake_wecom, db,
                                                                                 tmp_path):
    worker = _run_worker(app_settings, fake_wecom, tmp_path, "--no-jobs")
    try:
        _handled_and_notices(db, _accept(app_settings, "worker-nojobs", 71_001), "worker-nojobs")
        time.sleep(SENDER_WOULD_HAVE_SENT)
        with db() as session:
            statuses = list(session.scalars(select(OutboxMessage.status).where(OutboxMessage.recipient == "worker-nojobs")))
    finally:
        worker.stop()
    assert statuses and set(statuses) == {OutboxStatus.PENDING}
    assert not any(call["json"].get("touser") == "worker-nojobs" for call in fake_wecom.calls("/cgi-bin/message/send"))


def test_a_worker_with_jobs_sends_what_it_handled(app_settings, fake_wecom, db, tmp_path):
    worker = _run_worker(app_settings, fake_wecom, tmp_path)
    try:
        _handled_and_notices(db, _accept(app_settings, "worker-jobs", 71_002), "worker-jobs")

        def unsent() -> int:
            with db() as session:
                return len(session.scalars(select(OutboxMessage.id).where(
                    OutboxMessage.recipient == "worker-jobs", OutboxMessage.status != OutboxStatus.SENT)).all())

        wait_for_none_left(unsent, 60, "the worker's sender to send")
    finally:
        worker.stop()
    assert any(call["json"].get("touser") == "worker-jobs" for call in fake_wecom.calls("/cgi-bin/message/send"))
