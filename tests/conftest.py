"""Shared fixtures: a database URL (SQLite, or PostgreSQL from GRIDBOT_DATABASE_URL)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import text

from models import Base
from models.db import make_engine

REPO = Path(__file__).resolve().parent.parent
# ../shared/data beside the checkout (a worktree under /work/wt/ looks two levels up)
SHARED_DATA = next((p / "shared" / "data" for p in (REPO.parent, REPO.parent.parent) if (p / "shared" / "data").is_dir()),
                   REPO.parent / "shared" / "data")


def reset_database(url: str) -> None:
    """Drop every table (and Alembic's marker) so a migration starts from nothing."""
    engine = make_engine(url)
    with engine.begin() as connection:
        Base.metadata.drop_all(connection)
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


@pytest.fixture(scope="module")
def database_url(tmp_path_factory) -> str:
    """A clean database for one test module: PostgreSQL when GRIDBOT_DATABASE_URL says so."""
    url = os.environ.get("GRIDBOT_DATABASE_URL")
    if not url or url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'gridbot.db'}"
    reset_database(url)
    return url
