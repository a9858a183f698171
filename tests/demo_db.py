"""Fixtures: the module's database, migrated, with the demo district loaded; a session on it."""

from __future__ import annotations

import pytest

from config.settings import SHIPPED_CONFIG_DIR
from demo.district import init_demo_database
from models.db import make_engine, make_session_factory


@pytest.fixture(scope="module")
def demo_factory(database_url):
    """A session factory on a fresh database holding the demo district."""
    init_demo_database(database_url, SHIPPED_CONFIG_DIR)
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def demo_session(demo_factory):
    """A session on the demo database whose changes are rolled back after the test."""
    with demo_factory() as session:
        session.begin()
        yield session
        session.rollback()
