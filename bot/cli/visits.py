"""`gridbot visits due`: the special-group residents who must still be visited this period."""

from __future__ import annotations

import typer
from sqlalchemy import select

from bot.cli.context import echo_json, session_factory, settings
from bot.cli.jobs import parse_moment

visits_app = typer.Typer(no_args_is_help=True, help="Visits to the special groups (重点人群走访).")


@visits_app.command("due")
def due(as_json: bool = typer.Option(False, "--json", help="One JSON object per person (CONTRACT)."),
        grid: str = typer.Option(None, "--grid", help="Only this grid code."),
        worker: str = typer.Option(None, "--worker", help="Only the people this worker userid visits."),
        now: str = typer.Option(None, "--now", help="ISO-8601 moment (UTC when no zone is given); default: now.")
        ) -> None:
    """Name, groups, grid, worker, last visit and due date of everyone not yet visited this period."""
    from handlers.visits.due import due_list
    from handlers.visits.rules import visit_rules
    from models import Grid, Worker

    moment = parse_moment(now)
    rules = visit_rules(settings().config_dir)
    with session_factory()() as session:
        grid_ids = list(session.scalars(select(Grid.id).where(Grid.code == grid))) if grid else None
        who = session.scalars(select(Worker).where(Worker.userid == worker)).first() if worker else None
        for given, found, what in ((grid, grid_ids, "grid"), (worker, who, "worker")):
            if given and not found:
                typer.echo(f"gridbot: no {what} {given}", err=True)
                raise typer.Exit(1)
        rows = [row.as_json() for row in due_list(session, rules, moment, worker=who, grid_ids=grid_ids)]
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        late = "  上期未访" if row["overdue"] else ""
        typer.echo(f"{row['due']}  {row['grid'] or '-':<16} {row['worker'] or '-':<16} {row['name']}"
                   f"（{'、'.join(row['groups'])}）  上次走访 {row['last_visit'] or '无'}{late}")
    typer.echo(f"{len(rows)} 人待访")


def register(app: typer.Typer) -> None:
    app.add_typer(visits_app, name="visits")
