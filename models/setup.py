"""Bringing a database to the current schema."""

from __future__ import annotations

from models.migrate import upgrade


def init_database(url: str) -> None:
    """What `gridbot db init` does: create or migrate the schema (demo data: `demo.district`)."""
    upgrade(url)
