"""bot/admin/common/throttle.py: failed logins per client, kept in the database so that every app process
counts them, and the few password-check slots."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from bot.admin.common.throttle import Busy, LoginThrottle
from models import LoginFailure, utcnow
from models.db import make_engine, make_session_factory
from tests.unit.outbox_support import factory  # noqa: F401 (fixture: a migrated database)

WINDOW = timedelta(seconds=60)


@pytest.fixture
def session(factory):  # noqa: F811
    with factory() as session:
        session.execute(delete(LoginFailure))
        session.commit()
        yield session


def _fail(throttle: LoginThrottle, session, client: str, now) -> None:
    throttle.failed(session, client, now)
    session.commit()


def test_a_client_waits_after_its_limit_of_failures_until_the_oldest_expires(session):
    throttle, now = LoginThrottle(limit=3, window=WINDOW), utcnow()
    for _ in range(3):
        assert throttle.retry_after(session, "10.0.0.1", now) == 0
        _fail(throttle, session, "10.0.0.1", now)
        now += timedelta(seconds=1)
    assert throttle.retry_after(session, "10.0.0.1", now) == pytest.approx(57)
    assert throttle.retry_after(session, "10.0.0.2", now) == 0  # another client is not affected
    now += timedelta(seconds=57)
    assert throttle.retry_after(session, "10.0.0.1", now) == 0


def test_a_success_clears_the_clients_failures(session):
    throttle, now = LoginThrottle(limit=2, window=WINDOW), utcnow()
    _fail(throttle, session, "c", now)
    throttle.succeeded(session, "c")
    session.commit()
    _fail(throttle, session, "c", now)
    assert throttle.retry_after(session, "c", now) == 0


def test_failures_in_two_processes_count_together(session, database_url):
    """Two throttles on two engines (two app processes): neither alone saw the limit, together they did."""
    other_engine = make_engine(database_url)
    try:
        with make_session_factory(other_engine)() as elsewhere:
            here, there, now = LoginThrottle(limit=4, window=WINDOW), LoginThrottle(limit=4, window=WINDOW), utcnow()
            for index in range(4):
                _fail(*((here, session) if index % 2 else (there, elsewhere)), "10.9.0.1", now)
            assert here.retry_after(session, "10.9.0.1", now) == pytest.approx(60)
            session.rollback()  # a request's transaction ends with it (SQLite: one writer at a time)
            assert there.retry_after(elsewhere, "10.9.0.1", now) == pytest.approx(60)
            elsewhere.rollback()
    finally:
        other_engine.dispose()


def test_a_client_found_waiting_is_answered_without_the_database(session):
    throttle, now = LoginThrottle(limit=1, window=WINDOW), utcnow()
    _fail(throttle, session, "10.8.0.1", now)
    assert throttle.retry_after(session, "10.8.0.1", now) == pytest.approx(60)
    session.execute(delete(LoginFailure))
    session.commit()
    assert throttle.retry_after(session, "10.8.0.1", now + timedelta(seconds=10)) == pytest.approx(50)


def test_expired_failures_are_forgotten_when_the_next_one_is_recorded(session):
    throttle, now = LoginThrottle(limit=5, window=WINDOW), utcnow()
    for index in range(3):
        _fail(throttle, session, f"10.7.0.{index}", now)
    _fail(throttle, session, "10.7.1.1", now + WINDOW)
    assert session.scalar(select(func.count()).select_from(LoginFailure)) == 1


def test_password_checks_beyond_the_slots_wait_then_give_up():
    throttle = LoginThrottle(concurrent=1)
    inside, release = threading.Event(), threading.Event()

    def hold() -> None:
        with throttle.checking():
            inside.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    inside.wait(5)
    with pytest.raises(Busy), throttle.checking(wait=0.05):
        pass
    release.set()
    holder.join()
    with throttle.checking(wait=0.05):
        pass
