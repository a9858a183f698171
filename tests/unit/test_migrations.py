"""The Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from models import Base
from models.db import make_engine
from models.migrate import upgrade
from tests.conftest import reset_database


def _differences(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def test_upgrade_creates_every_model_table(database_url):
    reset_database(database_url)
    upgrade(database_url)
    engine = make_engine(database_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(Base.metadata.tables) <= tables


def test_migrated_schema_matches_the_models(database_url):
    reset_database(database_url)
    upgrade(database_url)
    assert _differences(database_url) == []


def test_upgrade_twice_is_a_no_op(database_url):
    reset_database(database_url)
    upgrade(database_url)
    upgrade(database_url)
    assert _differences(database_url) == []
