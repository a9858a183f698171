"""The running app's outbox against a misbehaving WeCom: notices get through faults exactly once, and a
configuration error is reported once and parks the notice in the dead letters for an admin."""

from __future__ import annotations

import logging
import re
import time

import pytest
from sqlalchemy import select

from config.settings import Settings
from models import OutboxMessage
from tests.cli import cli_json, run_cli

SEND, CHAT = "/cgi-bin/message/send", "/cgi-bin/appchat/send"


@pytest.fixture(scope="module")
def app_settings(app_settings: Settings) -> Settings:
    """The e2e app, retrying failed sends after 0.1 s instead of 5 s."""
    return app_settings.model_copy(update={"outbox_retry_base": 0.1})


def _case_number(reply: str) -> str:
    match = re.search(r"GB-\d{6}", reply or "")
    assert match, reply
    return match.group(0)


def _rows(db, number: str) -> list[OutboxMessage]:
    with db() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == int(number[3:]))))


def test_notices_get_through_token_expiry_busy_and_5xx_exactly_once(wecom, fake_wecom):
    fake_wecom.http.post("/_fake/faults", json=[
        {"path": SEND, "errcode": 42001}, {"path": SEND, "errcode": -1}, {"path": SEND, "http_status": 502},
        {"path": CHAT, "errcode": 40014}, {"path": CHAT, "http_status": 503},
    ]).raise_for_status()
    number = _case_number(wecom.send_text("demo-resident", "小区门口垃圾堆了三天没人清运，苍蝇很多"))

    to_worker = fake_wecom.wait_for(lambda: [m for m in fake_wecom.messages_to("demo-worker") if number in m])
    to_group = fake_wecom.wait_for(lambda: [c for c in fake_wecom.calls(CHAT) if number in c["json"]["text"]["content"]])
    time.sleep(0.5)  # let a wrongly repeated send show up
    assert len([m for m in fake_wecom.messages_to("demo-worker") if number in m]) == len(to_worker) == 1
    assert len([c for c in fake_wecom.calls(CHAT) if number in c["json"]["text"]["content"]]) == len(to_group) == 1
    refused = [c for c in fake_wecom.http.get("/_fake/calls", params={"all": "true"}).json() if c["errcode"] != 0]
    assert len(refused) >= 5  # every programmed fault was met on the way
    assert fake_wecom.http.get("/_fake/faults").json() == []


def test_a_configuration_error_parks_the_notice_reports_once_and_admins_retry_it(wecom, fake_wecom, db,
                                                                                 database_url, caplog):
    # Last in this module: the app's sender stays paused for minutes after a configuration error.
    fake_wecom.http.post("/_fake/faults", json=[
        {"path": SEND, "errcode": 60020, "errmsg": "not allow to access from your ip", "times": -1},
        {"path": CHAT, "errcode": 60020, "errmsg": "not allow to access from your ip", "times": -1},
    ]).raise_for_status()
    with caplog.at_level(logging.ERROR, "gridbot.outbox"):
        number = _case_number(wecom.send_text("demo-resident", "楼上半夜一直蹦迪音响震天响，吵得睡不着"))
        deadline = time.monotonic() + 10
        while not any(row.status == "dead" for row in _rows(db, number)) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)
    statuses = sorted(row.status for row in _rows(db, number))
    assert statuses.count("dead") == 1 and "pending" in statuses  # one reported, the rest held, none lost
    assert len([r for r in caplog.records if "configuration error" in r.getMessage()]) == 1

    dead = cli_json(["outbox", "list", "--status", "dead", "--json"], database_url)
    assert any("60020" in row["last_error"] and row["case_id"] == int(number[3:]) for row in dead)

    fake_wecom.http.delete("/_fake/faults").raise_for_status()  # the operator trusts the server's IP
    assert "queued again" in run_cli(["outbox", "retry", "--all-dead"], database_url).stdout
    assert run_cli(["outbox", "send-once"], database_url,
                   GRIDBOT_WECOM_API_BASE=fake_wecom.url).stdout.startswith(f"{len(statuses)} sent")
    assert {row.status for row in _rows(db, number)} == {"sent"}
    assert len([m for m in fake_wecom.messages_to("demo-worker") if number in m]) == 1
