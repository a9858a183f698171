"""`gridbot admin …`: console accounts from the shell (`gridbot admin unlock NAME`)."""

from __future__ import annotations

import typer

from bot.cli.context import session_factory
from models import utcnow

admin_app = typer.Typer(no_args_is_help=True, help="Console accounts.")


@admin_app.command("unlock")
def unlock(username: str) -> None:
    """Lift an account's login lockout and forget its failed attempts (audited)."""
    from handlers.console.accounts import unlock as unlock_account

    with session_factory()() as session:
        found = unlock_account(session, username, actor="cli", now=utcnow())
        session.commit()
    if not found:
        typer.echo(f"no console account {username}", err=True)
        raise typer.Exit(1)
    typer.echo(f"{username} unlocked")


def register(app: typer.Typer) -> None:
    app.add_typer(admin_app, name="admin")
