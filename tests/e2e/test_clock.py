"""The 117 clock run with `gridbot clock run --now`: reminders, escalation up the levels, archiving, never twice."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from models import PointsEntry
from tests.cli import cli_json
from tests.e2e.conftest import config_with_quiet_hours
from tests.e2e.worker_chat import report, show, taken

NOTHING = {"reminders": 0, "escalations": 0, "archived": 0}


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory) -> str:
    """The shipped config without quiet hours, so the test passes at any time of day."""
    return config_with_quiet_hours(tmp_path_factory.mktemp("clock"), "00:00", "00:00")


@pytest.fixture
def clock(database_url, config_dir):
    def run(at: datetime) -> dict:
        result = cli_json(["clock", "run", "--now", at.isoformat()], database_url, GRIDBOT_CONFIG_DIR=config_dir)
        return {key: result[key] for key in NOTHING}
    return run


def at(value: str, **delta) -> datetime:
    return datetime.fromisoformat(value) + timedelta(**delta)


def sent_to(fake_wecom, userid: str, number: str, marker: str, count: int = 1) -> list[str]:
    """Messages to `userid` about `number` containing `marker` (waits for `count`, then for strays)."""
    def probe():
        return [m for m in fake_wecom.messages_to(userid) if number in m and marker in m]
    fake_wecom.wait_for(probe, count)
    time.sleep(0.3)
    return probe()


def test_reminder_then_one_level_per_missed_window_and_nothing_twice(wecom, fake_wecom, clock, database_url, db):
    number = report(wecom)
    take_due = show(number, database_url)["take_due"]

    assert clock(at(take_due, minutes=-10))["reminders"] >= 1
    assert clock(at(take_due, minutes=-10)) == NOTHING
    assert len(sent_to(fake_wecom, "demo-worker", number, "【提醒】")) == 1

    ladder = [(1, 1, ["demo-leader"]), (61, 2, ["yg-community-1", "yg-community-2"]), (121, 3, ["hb-street-1"])]
    for minutes, level, people in ladder:
        assert clock(at(take_due, minutes=minutes))["escalations"] >= 1
        assert clock(at(take_due, minutes=minutes)) == NOTHING
        escalated = show(number, database_url)
        assert (escalated["state"], escalated["level"]) == ("escalated", level)
        for userid in people:
            assert len(sent_to(fake_wecom, userid, number, "超时提级")) == 1
    clock(at(take_due, minutes=181))
    assert show(number, database_url)["level"] == 3  # the street office is the top

    told = sent_to(fake_wecom, "demo-resident", number, "已提级", count=3)
    assert len(told) == 3 and "网格长" in told[0] and "社区" in told[1] and "街道" in told[2]
    with db() as session:
        assert session.scalars(select(PointsEntry.delta).where(
            PointsEntry.userid == "demo-worker", PointsEntry.reason == "missed_deadline",
            PointsEntry.case_id == int(number[3:]))).one() < 0


def test_suspended_case_waits_and_resume_restarts_the_clock(wecom, clock, database_url):
    number, n = taken(wecom)
    wecom.send_text("demo-worker", f"挂起 {n} 等待自来水公司停水检修")
    plan_due = show(number, database_url)["plan_due"]

    clock(at(plan_due, hours=2))
    paused = show(number, database_url)
    assert paused["state"] == "suspended" and paused["level"] == 0

    time.sleep(1.1)
    wecom.send_text("demo-worker", f"恢复 {n}")
    resumed = show(number, database_url)
    assert resumed["state"] == "in_progress" and resumed["plan_due"] > plan_due
    clock(at(resumed["plan_due"], minutes=-60))  # the reminder: an escalation always follows one
    clock(at(resumed["plan_due"], minutes=1))
    assert show(number, database_url)["level"] == 1


def test_unrated_closed_case_is_archived_after_the_rating_window(wecom, fake_wecom, clock, database_url):
    number, n = taken(wecom)
    wecom.send_text("demo-worker", f"办结 {n} 已清运")
    closed_at = show(number, database_url)["events"][-1]["at"]

    clock(at(closed_at, days=2))
    assert show(number, database_url)["state"] == "closed"
    assert clock(at(closed_at, days=3, minutes=1))["archived"] >= 1
    assert clock(at(closed_at, days=3, minutes=1)) == NOTHING
    archived = show(number, database_url)
    assert archived["state"] == "archived" and archived["events"][-1]["actor"] == "system"
    assert len(sent_to(fake_wecom, "demo-resident", number, "已归档")) == 1
