"""A running gridbot (demo district) and a fake WeCom, both on loopback over real HTTP."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
import yaml

from bot.app import create_app
from config.settings import SHIPPED_CONFIG_DIR, Settings
from demo.district import init_demo_database
from demo.fake_wecom import create_fake_wecom
from handlers.classify import load_classifier
from handlers.texts import BEIJING
from models.db import make_engine, make_session_factory
from tests.cli import cli_json
from tests.deploy_secrets import TEST_SECRETS
from tests.servers import serve_in_thread
from tests.wecom_sim import CallbackClient, WeComSide


@pytest.fixture(scope="session", autouse=True)
def shipped_model_trained() -> None:
    """Train the shipped classifier's model once, before any app starts (apps in this process find it
    in memory, apps in subprocesses in the on-disk cache), so no start-up waits for training."""
    load_classifier(SHIPPED_CONFIG_DIR)


class FakeWeCom:
    """Reads what the fake WeCom API received."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=5)

    def calls(self, path: str | None = None) -> list[dict]:
        params = {"path": path} if path else {}
        return self.http.get("/_fake/calls", params=params).json()

    def messages_to(self, userid: str) -> list[str]:
        return [c["json"]["text"]["content"] for c in self.calls("/cgi-bin/message/send")
                if userid in c["json"].get("touser", "").split("|")]

    def chat_messages(self, chatid: str) -> list[str]:
        return [c["json"]["text"]["content"] for c in self.calls("/cgi-bin/appchat/send")
                if c["json"].get("chatid") == chatid]

    def wait_for(self, probe: Callable[[], list], count: int = 1, timeout: float = 10.0,
                 until_at_most: bool = False) -> list:
        """Poll `probe` until it returns at least `count` items (`until_at_most`: at most `count`)."""
        deadline = time.monotonic() + timeout
        while True:
            found = probe()
            done = len(found) <= count if until_at_most else len(found) >= count
            if done or time.monotonic() > deadline:
                return found
            time.sleep(0.05)


@pytest.fixture(scope="module")
def fake_wecom() -> FakeWeCom:
    with serve_in_thread(create_fake_wecom()) as url:
        yield FakeWeCom(url)


def demo_settings(database_url: str, fake_wecom: FakeWeCom, **extra) -> Settings:
    """A fresh demo district at `database_url` and the app's settings for it (`extra` on top)."""
    init_demo_database(database_url, SHIPPED_CONFIG_DIR)
    return Settings(_env_file=None, database_url=database_url, wecom_api_base=fake_wecom.url, **TEST_SECRETS,
                    outbox_interval=0.05, demo=True, admin_password="e2e-admin-pass", user_rate_limit=30,
                    **extra)


def config_with_quiet_hours(folder: Path, start: datetime | str, end: datetime | str) -> str:
    """A copy of the shipped config in `folder` whose quiet hours run from `start` to `end` (moments, or
    Beijing HH:MM)."""
    start, end = (_hhmm(value) if isinstance(value, datetime) else value for value in (start, end))
    target = folder / "config"
    shutil.copytree(SHIPPED_CONFIG_DIR, target, ignore=shutil.ignore_patterns("__pycache__"))
    lifecycle = yaml.safe_load((target / "lifecycle.yaml").read_text(encoding="utf-8"))
    lifecycle["quiet_hours"] = {"start": start, "end": end}
    (target / "lifecycle.yaml").write_text(yaml.safe_dump(lifecycle, allow_unicode=True), encoding="utf-8")
    return str(target)


def _hhmm(moment: datetime) -> str:
    return moment.astimezone(BEIJING).strftime("%H:%M")


@pytest.fixture(scope="module")
def app_settings(database_url: str, fake_wecom: FakeWeCom, tmp_path_factory) -> Settings:
    """The demo app without quiet hours, so that what it does not depend on the time of day
    (tests/e2e/test_night.py and test_busy_day.py set their own)."""
    config_dir = config_with_quiet_hours(tmp_path_factory.mktemp("app"), "00:00", "00:00")
    return demo_settings(database_url, fake_wecom, config_dir=config_dir)


@pytest.fixture(scope="module")
def app_url(app_settings: Settings) -> str:
    with serve_in_thread(create_app(app_settings)) as url:
        yield url


@pytest.fixture(scope="module")
def wecom(app_url: str, app_settings: Settings) -> CallbackClient:
    side = WeComSide(app_settings.wecom_token, app_settings.wecom_aes_key, app_settings.wecom_corp_id)
    return CallbackClient(app_url, side)


@pytest.fixture(scope="module")
def db(app_settings: Settings):
    """A session factory on the app's database, for looking at what it wrote."""
    engine = make_engine(app_settings.database_url)
    yield make_session_factory(engine)
    engine.dispose()


def clock_after(database_url: str, settings: Settings, minutes: int) -> dict:
    """One `gridbot clock run` pass `minutes` from now (the app's clock is the real one), on the app's config;
    what it did (its counts)."""
    moment = datetime.now(timezone.utc) + timedelta(minutes=minutes)
    return cli_json(["clock", "run", "--now", moment.isoformat()], database_url,
                    GRIDBOT_CONFIG_DIR=str(settings.config_dir))
