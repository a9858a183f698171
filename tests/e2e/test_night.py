"""Quiet hours over the encrypted callback: a report in the night starts its take clock in the morning,
urgent matters escalate at any hour. Quiet hours are set around the test's own clock."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from config.settings import Settings
from tests.cli import cli_json
from tests.e2e.conftest import config_with_quiet_hours, demo_settings
from tests.e2e.worker_chat import queued, report, show

GAS = "阳光小区一期13栋地下室有股很重的煤气味，怕是燃气泄漏"


@pytest.fixture(scope="module")
def morning() -> datetime:
    """When tonight's quiet hours end (they began an hour ago)."""
    return (datetime.now().astimezone() + timedelta(hours=8)).replace(second=0, microsecond=0)


@pytest.fixture(scope="module")
def config_dir(tmp_path_factory, morning) -> str:
    return config_with_quiet_hours(tmp_path_factory.mktemp("night"), morning - timedelta(hours=9), morning)


@pytest.fixture(scope="module")
def app_settings(database_url, fake_wecom, config_dir) -> Settings:
    return demo_settings(database_url, fake_wecom, config_dir=config_dir)


@pytest.fixture
def clock(database_url, config_dir):
    def run(at: datetime) -> dict:
        return cli_json(["clock", "run", "--now", at.isoformat()], database_url, GRIDBOT_CONFIG_DIR=config_dir)
    return run


def test_a_night_report_waits_for_the_morning_and_an_urgent_one_does_not(wecom, db, clock, morning,
                                                                       database_url):
    calm = report(wecom)
    urgent = report(wecom, GAS, userid="night-neighbour")
    calm_case, urgent_case = show(calm, database_url), show(urgent, database_url)
    assert datetime.fromisoformat(calm_case["take_due"]) == morning + timedelta(hours=1)
    reported = datetime.fromisoformat(urgent_case["events"][0]["at"])
    assert datetime.fromisoformat(urgent_case["take_due"]) == reported + timedelta(minutes=15)

    now = datetime.now().astimezone()
    clock(now + timedelta(minutes=16))
    assert show(urgent, database_url)["level"] == 1  # urgent: escalated in the night
    assert queued(db, "demo-leader", urgent, "超时提级")
    for hours in range(1, 8):
        clock(now + timedelta(hours=hours))
    assert show(calm, database_url)["events"][-1]["action"] == "report"
    assert not queued(db, "demo-worker", calm, "【提醒】")
    clock(morning + timedelta(minutes=50))
    assert queued(db, "demo-worker", calm, "【提醒】", "还剩10分钟")
    assert show(calm, database_url)["level"] == 0
