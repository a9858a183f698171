"""Bringing a database to the current schema, optionally with the demo district."""

from __future__ import annotations

from pathlib import Path

from models.db import make_engine, make_session_factory
from models.migrate import upgrade


def init_database(url: str, config_dir: Path, *, demo: bool = False) -> None:
    """What `gridbot db init [--demo]` does: migrate, then load the demo district if asked."""
    from handlers.registry import load_demo_district

    upgrade(url)
    if demo:
        engine = make_engine(url)
        try:
            with make_session_factory(engine).begin() as session:
                load_demo_district(session, config_dir)
        finally:
            engine.dispose()
