"""`gridbot units` and `gridbot grid ...`: the registry's units, workbook import and export."""

from __future__ import annotations

import typer
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from models import Unit

grid_app = typer.Typer(no_args_is_help=True, help="Grid registry: import, export, template workbook.")


def units(as_json: bool = typer.Option(False, "--json", help="Print a JSON list.")) -> None:
    """Every unit: code, grid code, full address and aliases."""
    from bot.cli import echo_json, session_factory

    with session_factory()() as session:
        rows = [{"code": unit.code, "grid": unit.grid.code, "address": unit.address, "aliases": list(unit.aliases or [])}
                for unit in session.scalars(select(Unit).options(joinedload(Unit.grid)).order_by(Unit.code))]
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        typer.echo(f"{row['code']}  {row['grid']}  {row['address']}  {'、'.join(row['aliases'])}")


def register(app: typer.Typer) -> None:
    app.command("units")(units)
    app.add_typer(grid_app, name="grid")
