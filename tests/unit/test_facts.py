"""Facts reach listeners only when the outermost transaction commits; rolled-back savepoints forget theirs."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from handlers import facts


@pytest.fixture()
def heard():
    received: list[tuple[str, dict]] = []
    listener = lambda name, labels: received.append((name, labels))  # noqa: E731
    facts.subscribe(listener)
    yield received
    facts._listeners.remove(listener)


@pytest.fixture()
def factory():
    engine = create_engine("sqlite://")
    yield sessionmaker(engine)
    engine.dispose()


def test_facts_are_told_after_the_commit_not_before(factory, heard):
    with factory.begin() as session:
        session.execute(text("SELECT 1"))
        facts.note(session, "case_opened", category="环境卫生")
        assert heard == []
    assert heard == [("case_opened", {"category": "环境卫生"})]


def test_a_rolled_back_transaction_tells_nothing(factory, heard):
    with pytest.raises(RuntimeError), factory.begin() as session:
        facts.note(session, "case_opened", category="环境卫生")
        raise RuntimeError
    with factory.begin() as session:
        session.execute(text("SELECT 1"))
    assert heard == []


def test_only_the_facts_of_a_rolled_back_savepoint_are_forgotten(factory, heard):
    with factory.begin() as session:
        session.execute(text("SELECT 1"))
        facts.note(session, "outer")
        with session.begin_nested():
            facts.note(session, "released")
        with pytest.raises(RuntimeError), session.begin_nested():
            facts.note(session, "undone")
            raise RuntimeError
        assert heard == []  # a released savepoint is not a commit
    assert [name for name, _ in heard] == ["outer", "released"]
