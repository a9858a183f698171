"""Operations surface of a running app: /metrics after a real encrypted report, /readyz and the outbox
backlog, and JSON log lines that carry the message's MsgId and case number with phones masked."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from datetime import timedelta

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import delete

from bot.app import create_app
from bot.logging_setup import JsonFormatter, Redactor
from models import Case, utcnow
from models.outbox import OutboxChannel, OutboxMessage, queue_notice
from tests.loadgen import AppProcess, bind_residents, deliver, encrypted_reports, process_env
from tests.servers import free_port, serve_in_thread
from tests.wecom_sim import WeComSide, text_xml

REPORT = "阳光小区3栋楼道里堆满了垃圾，好几天没人清理，味道很大"
PHONE = "13912345678"


def scrape(app_url: str) -> dict[tuple[str, tuple], float]:
    """Every sample of /metrics as {(name, sorted labels): value}."""
    response = httpx.get(f"{app_url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def case_number(reply: str) -> str:
    match = re.search(r"GB-\d{6}", reply)
    assert match, reply
    return match.group(0)


def test_report_moves_inbound_case_and_latency_metrics(wecom, app_url):
    before = scrape(app_url)
    reply = wecom.send_text("demo-resident", REPORT)
    assert "环境卫生" in reply
    after = scrape(app_url)

    inbound = dict(channel="app", kind="text", outcome="handled")
    assert value(after, "gridbot_inbound_messages_total", **inbound) == \
        value(before, "gridbot_inbound_messages_total", **inbound) + 1
    opened = dict(category="环境卫生", source="resident", channel="app")
    assert value(after, "gridbot_cases_opened_total", **opened) == \
        value(before, "gridbot_cases_opened_total", **opened) + 1
    route = dict(route="/wecom/callback", method="POST")
    assert value(after, "gridbot_http_request_duration_seconds_count", **route) >= \
        value(before, "gridbot_http_request_duration_seconds_count", **route) + 1
    assert value(after, "gridbot_http_responses_total", route="/wecom/callback", status="200") >= 1
    assert ("gridbot_outbox_oldest_pending_age_seconds", ()) in after


def test_redelivery_counts_as_redelivery_not_as_a_case(wecom, app_url):
    wecom.send_text("demo-resident", "小区东门的路灯坏了好几盏", msg_id=700000001)
    before = scrape(app_url)
    wecom.send_text("demo-resident", "小区东门的路灯坏了好几盏", msg_id=700000001)
    after = scrape(app_url)
    redelivery = dict(channel="app", kind="text", outcome="redelivery")
    assert value(after, "gridbot_inbound_messages_total", **redelivery) == \
        value(before, "gridbot_inbound_messages_total", **redelivery) + 1
    cases = [key for key in after if key[0] == "gridbot_cases_opened_total"]
    assert all(after[key] == before.get(key, 0.0) for key in cases)


def test_readyz_fails_while_a_pending_notice_is_older_than_the_bound(app_url, app_settings, db):
    assert httpx.get(f"{app_url}/readyz").status_code == 200
    stale = utcnow() - timedelta(seconds=app_settings.ready_max_backlog_age + 60)
    with db.begin() as session:
        queue_notice(session, channel=OutboxChannel.USER, recipient="nobody-registered", text="x",
                     dedupe_key="observability:stale")
        session.query(OutboxMessage).filter_by(dedupe_key="observability:stale").update(
            {"created_at": stale, "next_attempt_at": utcnow() + timedelta(days=1)})
    try:
        response = httpx.get(f"{app_url}/readyz")
        assert response.status_code == 503
        assert "outbox backlog" in response.json()["reason"]
        assert httpx.get(f"{app_url}/healthz").status_code == 200  # liveness is only the database
        assert value(scrape(app_url), "gridbot_outbox_oldest_pending_age_seconds") > app_settings.ready_max_backlog_age
    finally:
        with db.begin() as session:
            session.execute(delete(OutboxMessage).where(OutboxMessage.dedupe_key == "observability:stale"))
    response = httpx.get(f"{app_url}/readyz")
    assert response.status_code == 200 and response.json()["status"] == "ready"


def test_log_lines_of_a_message_carry_msg_key_and_case_with_phone_masked(wecom):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter(Redactor()))
    logger = logging.getLogger("gridbot")
    logger.addHandler(handler)
    try:
        response = wecom.post_xml(text_xml("demo-resident", f"幸福路菜市场门口垃圾成堆没人管，联系我{PHONE}",
                                           msg_id=700000002))
        number = case_number(wecom.reply_text(response))
    finally:
        logger.removeHandler(handler)
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    mine = [line for line in lines if line.get("msg_key") == "app:700000002"]
    assert any(line["message"] == "message handled" and line.get("case") == number for line in mine), lines
    assert PHONE not in stream.getvalue()


def test_a_failed_send_is_counted_by_its_error_class(app_url, fake_wecom, db):
    before = scrape(app_url)
    fake_wecom.http.post("/_fake/faults", json=[{"path": "/cgi-bin/message/send", "errcode": -1}])
    with db.begin() as session:
        queue_notice(session, channel=OutboxChannel.USER, recipient="observability-nobody", text="系统繁忙测试",
                     dedupe_key="observability:busy")
    failures = dict(channel="user", kind="transient")
    fake_wecom.wait_for(lambda: [1] if value(scrape(app_url), "gridbot_outbox_send_failures_total", **failures)
                        > value(before, "gridbot_outbox_send_failures_total", **failures) else [])
    after = scrape(app_url)
    assert value(after, "gridbot_outbox_send_failures_total", **failures) == \
        value(before, "gridbot_outbox_send_failures_total", **failures) + 1
    assert value(after, "gridbot_outbox_send_attempts_total", channel="user") > \
        value(before, "gridbot_outbox_send_attempts_total", channel="user")


def test_the_clock_of_an_app_counts_its_escalations(app_settings, app_url, wecom, db, fake_wecom):
    # An urgent matter escalates at its deadline at any hour (a non-urgent one only after a reminder).
    number = case_number(wecom.send_text("demo-resident", "幸福路7号楼道里冒烟了，好像着火了，快来人"))
    with db.begin() as session:
        session.get(Case, int(number.split("-")[1])).take_due = utcnow() - timedelta(minutes=5)
    before = value(scrape(app_url), "gridbot_clock_actions_total", action="escalation")  # one registry per process
    fast_clock = app_settings.model_copy(update={"clock_interval": 0.2})
    with serve_in_thread(create_app(fast_clock)) as url:
        escalated = fake_wecom.wait_for(lambda: [1] if value(scrape(url), "gridbot_clock_actions_total",
                                                             action="escalation") > before else [])
    assert escalated, "the clock pass that escalated the overdue case is counted"


def test_two_uvicorn_workers_report_the_sum_of_both(app_settings, fake_wecom, db, tmp_path):
    """PROMETHEUS_MULTIPROC_DIR: whichever worker answers a scrape, it counts every worker's messages."""
    metrics_dir = tmp_path / "prometheus"
    metrics_dir.mkdir()
    env = {**process_env(app_settings, fake_wecom.url), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
           "GRIDBOT_RUN_BACKGROUND_JOBS": "false"}
    port = free_port()
    app = AppProcess(env, command=["-m", "uvicorn", "--factory", "bot.app:create_app", "--workers", "2",
                                   "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                     port=port)
    try:
        side = WeComSide(app_settings.wecom_token, app_settings.wecom_aes_key, app_settings.wecom_corp_id)
        residents = bind_residents(db, "metrics", 8)
        sent = 0
        # The kernel hands each new connection to either worker; a busy machine may favour one
        # for a while, so deliver in batches until both have handled messages.
        while len(_writers(metrics_dir)) < 2 and sent < 480:
            reports = encrypted_reports(side, residents, 24, 7_100_000_000 + sent)
            assert all(answer.status == 200 for answer in deliver(app.url, reports, 8))
            sent += len(reports)
        assert len(_writers(metrics_dir)) >= 2, "both workers handled messages"
        # Answered requests: the app process of this test answers them all (the messages themselves
        # may be handled by any process on the database, this module's in-thread app included).
        answered = dict(route="/wecom/callback", status="200")
        for _ in range(4):  # new connections: the scrapes land on either worker
            assert value(scrape(app.url), "gridbot_http_responses_total", **answered) == sent
    finally:
        app.stop()


def _writers(metrics_dir) -> set[str]:
    """The process ids that have written a counter file in the multiprocess folder."""
    return {path.stem.rsplit("_", 1)[-1] for path in metrics_dir.glob("counter_*.db")}


def test_gridbot_worker_serves_metrics_on_its_own_port(app_settings, fake_wecom):
    port = free_port()
    env = {**process_env(app_settings, fake_wecom.url), "GRIDBOT_METRICS_PORT": str(port)}
    worker = AppProcess(env, command=["-m", "bot", "worker"], wait=False)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                samples = scrape(f"http://127.0.0.1:{port}")
                break
            except httpx.TransportError:
                assert worker.process.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert ("gridbot_outbox_notices", (("status", "dead"),)) in samples
    finally:
        worker.stop()
