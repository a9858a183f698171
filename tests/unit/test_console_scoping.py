"""handlers/console/scoping.py through its users: what-if replays only the viewer's messages, masked."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import select

from handlers.console.rule_replay import recent_texts, replay
from models import Grid, InboundMessage, Resident, Unit
from tests.demo_db import demo_factory  # noqa: F401 - the module's demo database


def test_what_if_replays_only_messages_from_the_viewers_grids(demo_factory):
    with demo_factory.begin() as session:
        home, away = session.scalars(select(Grid).order_by(Grid.id).limit(2)).all()
        for grid, who in ((home, "replay-home"), (away, "replay-away")):
            unit = session.scalars(select(Unit).where(Unit.grid_id == grid.id)).first()
            session.add(Resident(userid=who, unit_id=unit.id))
            session.add(InboundMessage(msg_key=f"k-{who}", from_userid=who, msg_type="text", content=f"话-{who}"))
        home_id = home.id
    with demo_factory() as session:
        scoped = recent_texts(session, 5000, frozenset({home_id}))
        everything = recent_texts(session, 5000)
    assert "话-replay-home" in scoped and "话-replay-away" not in scoped
    assert {"话-replay-home", "话-replay-away"} <= set(everything)
    assert recent_texts(demo_factory(), 10, frozenset()) == []


class _Fixed:
    """A stand-in rule set that puts every text in one category (the replay, not the classifier, is tested)."""

    def __init__(self, category: str) -> None:
        self.category = category

    def classify(self, _text: str) -> SimpleNamespace:
        return SimpleNamespace(category=self.category, outcome="case", candidates=[], confidence=1.0)


def test_what_if_shows_changed_texts_with_phone_numbers_masked():
    result = replay(["请回电13812345678"], _Fixed("环境卫生"), _Fixed("噪声扰民"))
    assert [change.text for change in result.changes] == ["请回电138****5678"]
