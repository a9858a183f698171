"""`gridbot clock run` (the 117 clock once, as of a moment) and `gridbot grid groups sync` (grid group chats)."""

from __future__ import annotations

import typer
from sqlalchemy import select

from bot.cli.context import echo_json, session_factory, settings
from bot.cli.jobs import parse_moment
from models import Grid, WorkerRole

clock_app = typer.Typer(no_args_is_help=True, help="The case clock (117: take, plan, close).")
groups_app = typer.Typer(no_args_is_help=True, help="The grids' WeCom group chats.")


@clock_app.command("run")
def clock_run(now: str = typer.Option(None, "--now", help="ISO-8601 moment to apply the clock at (UTC when "
                                                          "no zone is given); default: now.")) -> None:
    """Send due reminders, escalate missed deadlines, archive unrated cases, remind of due visits and send
    the morning digests, open reports whose question went unanswered; twice sends nothing twice."""
    from handlers.clocks import run_clocks
    from handlers.services import Services
    from handlers.visits.clock import run_visit_clock

    moment = parse_moment(now)
    services = Services(config_dir=settings().config_dir, rate_limit=0)
    factory = session_factory()
    with factory.begin() as session:
        counts = run_clocks(session, services, moment)
    with factory.begin() as session:  # its own transaction: no write lock held while it reads
        counts |= run_visit_clock(session, services, moment)
    echo_json({"now": moment.isoformat(), **counts})


def _members(grid: Grid) -> tuple[str, list[str]]:
    """(owner, members): the grid's leader owns the chat; every on-duty worker of the grid is in it."""
    members = [w.userid for w in sorted(grid.workers, key=lambda w: w.id) if w.on_duty]
    leaders = [w.userid for w in grid.workers if w.role == WorkerRole.LEADER and w.on_duty]
    return (leaders or members or [""])[0], members


@groups_app.command("sync")
def groups_sync(recreate: bool = typer.Option(False, "--recreate", help="Also grids that already have a chat."),
                dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be created.")) -> None:
    """Create a WeCom group chat (appchat) for each grid without one, with its workers; store its chatid."""
    from bot.wecom.api import WeComClient
    from bot.wecom.errors import WeComError

    config = settings()
    factory = session_factory()
    client = WeComClient(config.wecom_api_base, config.wecom_corp_id, config.wecom_secret, config.wecom_agent_id)
    with factory() as session:
        codes = list(session.scalars(select(Grid.code).order_by(Grid.code)))
    results = []
    try:
        for code in codes:
            with factory.begin() as session:  # one grid per commit: a chat created is never forgotten
                grid = session.scalars(select(Grid).where(Grid.code == code)).one()
                owner, members = _members(grid)
                row = {"grid": code, "chatid": grid.chat_id, "members": len(members), "created": False}
                if (recreate or not grid.chat_id) and len(members) >= 2 and not dry_run:
                    try:
                        grid.chat_id = row["chatid"] = client.create_appchat(grid.name, owner, members)
                        row["created"] = True
                    except WeComError as error:
                        row["error"] = str(error)
                results.append(row)
    finally:
        client.close()
    echo_json(results)
    if any("error" in row for row in results):
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    from bot.cli.registry import grid_app

    app.add_typer(clock_app, name="clock")
    grid_app.add_typer(groups_app, name="groups")
