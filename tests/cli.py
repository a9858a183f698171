"""Run `gridbot` commands in-process against a given database (typer's CliRunner)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from bot.cli import app
from config.settings import get_settings


def run_cli(args: list[str], database_url: str, **env: str):
    """The result of `gridbot ARGS` with GRIDBOT_DATABASE_URL=database_url."""
    get_settings.cache_clear()
    try:
        return CliRunner().invoke(app, args, env={"GRIDBOT_DATABASE_URL": database_url, **env},
                                  catch_exceptions=False)
    finally:
        get_settings.cache_clear()


def cli_json(args: list[str], database_url: str, **env: str):
    result = run_cli(args, database_url, **env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)
