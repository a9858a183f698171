"""What every `gridbot` command shares: settings, a session factory, JSON output."""

from __future__ import annotations

import json
from collections.abc import Callable

import typer

from config.settings import Settings, SettingsError, get_settings
from models.db import make_engine, make_session_factory


def settings() -> Settings:
    """The settings, or exit with one line naming the bad variable."""
    try:
        return get_settings()
    except SettingsError as error:
        typer.echo(f"gridbot: bad setting: {error}", err=True)
        raise typer.Exit(2) from None


def session_factory():
    """A session factory on the configured database."""
    return make_session_factory(make_engine(settings().database_url))


def echo_json(value) -> None:
    """Print `value` as indented JSON, Chinese as written."""
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2))


def echo_rows(rows: list[dict], as_json: bool, line: Callable[[dict], str]) -> None:
    """A listing: the rows as JSON with --json, else `line(row)` for each."""
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        typer.echo(line(row))
