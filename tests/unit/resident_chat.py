"""Residents writing to the message handler on the demo district, with a clock the test moves: the helper of the
unit tests that hold whole conversations."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from config.settings import SHIPPED_CONFIG_DIR
from demo.district import load_demo_district
from handlers.cases.unplaced import MARK, placing_staff
from handlers.chat.inbound import Inbound
from handlers.clocks import run_clocks
from handlers.intake import dispatch
from handlers.services import Services
from models import Case, ClockMark, OutboxMessage


class Chat:
    """Residents writing, a clock the test moves (a day between tests: no report is another's duplicate)."""

    def __init__(self, factory) -> None:  # noqa: F811
        self.factory, self.keys = factory, itertools.count()
        self.now = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)
        self.services = Services(config_dir=SHIPPED_CONFIG_DIR, clock=lambda: self.now)

    def say(self, userid: str, text: str, after: timedelta = timedelta(minutes=4), kind: str = "text") -> str:
        """What `userid` is answered to `text` (or to media of `kind`), sent `after` their last (by default past
        pieces_window: each text is read on its own)."""
        self.now += after
        key = f"vague-{next(self.keys)}"
        inbound = Inbound(msg_key=key, userid=userid, kind="text", text=text) if kind == "text" else \
            Inbound(msg_key=key, userid=userid, kind=kind, media_id=f"{key}-media")
        return dispatch.process(self.factory, self.services, inbound)

    def wait(self, minutes: int) -> dict:
        self.now += timedelta(minutes=minutes)
        with self.factory.begin() as session:
            return run_clocks(session, self.services, self.now)

    def cases(self, userid: str) -> list[Case]:
        with self.factory() as session:
            found = session.scalars(select(Case).where(Case.reporter_userid == userid).order_by(Case.id)).all()
            for case in found:
                _ = case.unit, case.grid, [event.note for event in case.events]  # loaded for the test to read
            return found

    def sent(self, recipient: str, case: Case) -> list[str]:
        with self.factory() as session:
            return session.scalars(select(OutboxMessage.text).where(OutboxMessage.recipient == recipient,
                                                                    OutboxMessage.case_id == case.id)).all()

    def marked(self, case: Case) -> bool:
        with self.factory() as session:
            return session.scalar(select(ClockMark.id).where(ClockMark.case_id == case.id,
                                                             ClockMark.mark == MARK)) is not None

    def staff(self) -> list[str]:
        with self.factory() as session:
            return [person.userid for person in placing_staff(session)]

@pytest.fixture(scope="module")
def chat(factory) -> Chat:
    """The demo district and residents writing to it (`factory`: a migrated database, the test module's fixture)."""
    with factory.begin() as session:
        load_demo_district(session, SHIPPED_CONFIG_DIR)
    return Chat(factory)


@pytest.fixture(autouse=True)
def next_day(chat: Chat) -> None:
    """Three days between tests: no report is a likely duplicate of an earlier test's."""
    chat.now += timedelta(days=3)
