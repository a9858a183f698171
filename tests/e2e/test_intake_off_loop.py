"""PostgreSQL: the intake's group commit runs off the event loop, so a slow commit stalls no other route."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from sqlalchemy import text

from models.db import make_engine
from tests.wecom_sim import text_xml


def test_healthz_answers_while_a_group_commit_is_held(app_url, app_settings, wecom):
    if not app_settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite commits on the loop by design (it never waits for a lock there)")
    engine = make_engine(app_settings.database_url)
    holder = engine.connect()
    held = holder.begin()
    holder.execute(text("LOCK TABLE inbound_messages IN ACCESS EXCLUSIVE MODE"))  # the commit waits on this
    answer: dict[str, int] = {}
    callback = threading.Thread(target=lambda: answer.update(
        status=wecom.post_xml(text_xml("held-commit-resident", "你好", 7_300_000_001)).status_code))
    try:
        callback.start()
        time.sleep(0.5)  # the callback's group commit is now waiting for the table
        start = time.perf_counter()
        health = httpx.get(f"{app_url}/healthz", timeout=5)
        seconds = time.perf_counter() - start
        assert health.status_code == 200 and seconds < 1.0, seconds
        assert callback.is_alive() and not answer  # the commit is still held
    finally:
        held.rollback()
        holder.close()
        engine.dispose()
    callback.join(timeout=15)
    assert answer.get("status") == 200  # recorded once the table was free
