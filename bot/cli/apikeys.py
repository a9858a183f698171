"""`gridbot apikey add|list|revoke`: Open311 API keys of partner systems."""

from __future__ import annotations

import typer

from bot.cli.context import echo_rows, session_factory
from handlers import open311
from models import utcnow

apikey_app = typer.Typer(no_args_is_help=True, help="Open311 API keys (partner systems that file cases).")
CLI_ACTOR = "cli"


@apikey_app.command("add")
def add(name: str, rate: int = typer.Option(open311.DEFAULT_RATE, "--rate",
                                            help="Requests the key may file per minute.")) -> None:
    """Create a key for partner NAME; the key is printed once, on the last line (only its hash is kept)."""

    try:
        with session_factory().begin() as session:
            key = open311.create_key(session, name, actor=CLI_ACTOR, now=utcnow(), rate_per_minute=rate)
    except open311.ApiKeyError as error:
        typer.echo(f"gridbot: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"API key for {name} (shown only now; store it safely):")
    typer.echo(key)


@apikey_app.command("list")
def list_(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every key: name, prefix, rate, created, last used, revoked (never the key)."""

    with session_factory()() as session:
        keys = open311.list_keys(session)
    rows = [{"name": k.name, "prefix": k.prefix, "rate_per_minute": k.rate_per_minute, "active": k.active,
             "created_at": k.created_at.isoformat(),
             "last_used_at": k.last_used_at.isoformat() if k.last_used_at else None,
             "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None} for k in keys]
    echo_rows(rows, as_json, lambda row: f"{row['name']}  {row['prefix']}…  {'active' if row['active'] else 'revoked'}"
                                         f"  {row['rate_per_minute']}/min  last used {row['last_used_at'] or 'never'}")


@apikey_app.command("revoke")
def revoke(name: str) -> None:
    """Revoke key NAME: requests carrying it are refused (403) from now on."""

    try:
        with session_factory().begin() as session:
            open311.revoke_key(session, name, actor=CLI_ACTOR, now=utcnow())
    except open311.ApiKeyError as error:
        typer.echo(f"gridbot: {error}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"revoked {name}")


def register(app: typer.Typer) -> None:
    app.add_typer(apikey_app, name="apikey")
