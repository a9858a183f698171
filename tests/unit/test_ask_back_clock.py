"""A photo sent while the category is asked keeps the ask-back's clock: the report opens as 其他 when the question's
time runs out, as the question said. The photo's `expect` rewrote the same time, and the model's onupdate then stamped
the wall clock instead (a clock of its own: the test's, which is not the wall's), so the draft waited afresh."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from config.settings import SHIPPED_CONFIG_DIR
from demo.district import load_demo_district
from handlers.chat.inbound import Inbound
from handlers.clocks import run_clocks
from handlers.intake import dispatch
from handlers.services import Services
from models import Case
from tests.unit.outbox_support import factory  # noqa: F401 (fixture: a migrated database)


def test_a_photo_sent_while_the_category_is_asked_keeps_the_ask_backs_clock(factory):  # noqa: F811
    with factory.begin() as session:
        load_demo_district(session, SHIPPED_CONFIG_DIR)
    now = [datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)]
    services = Services(config_dir=SHIPPED_CONFIG_DIR, clock=lambda: now[0])
    asked = dispatch.process(factory, services, Inbound(msg_key="ask-1", userid="ask-clock", kind="text",
                                                        text="我家楼顶的太阳能热水器一直在漏水"))
    assert "哪一类" in asked, asked
    now[0] += timedelta(minutes=1)
    dispatch.process(factory, services, Inbound(msg_key="ask-2", userid="ask-clock", kind="image", media_id="photo"))
    now[0] += timedelta(minutes=30)
    with factory.begin() as session:
        run_clocks(session, services, now[0])
    with factory() as session:
        assert session.scalars(select(Case.text).where(Case.reporter_userid == "ask-clock")).all() == [
            "我家楼顶的太阳能热水器一直在漏水"]
