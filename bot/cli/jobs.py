"""`gridbot worker` (message handling and the periodic jobs, without HTTP) and `gridbot retention purge`."""

from __future__ import annotations

import signal
import threading
from dataclasses import asdict
from datetime import datetime, timezone

import typer

from bot.cli.context import echo_json, session_factory, settings
from models import utcnow


def parse_moment(value: str | None) -> datetime:
    """An ISO-8601 moment (UTC when it names no zone); now when None."""
    if value is None:
        return utcnow()
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"not an ISO-8601 moment: {value}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def worker(jobs: bool = typer.Option(True, "--jobs/--no-jobs",
                                     help="also run the outbox sender and the case clock (--no-jobs: only "
                                          "handle messages, while other processes send and keep the clock)")) -> None:
    """Handle accepted messages and (unless --no-jobs) run the outbox sender and the case clock, without HTTP;
    any number may run."""
    from bot.jobs import BackgroundJobs
    from bot.logging_setup import configure_from_settings
    from bot.metrics import serve_metrics
    from bot.state import AppState

    config = settings()
    configure_from_settings(config)
    state = AppState.build(config)
    state.warm()  # before its metrics are served: a worker that answers is one ready to handle
    serve_metrics(config.metrics_port, state.factory)
    background = BackgroundJobs(state)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if jobs:
        background.start()
    state.intake.on_reply_queued = background.wake_outbox
    state.intake.start()
    typer.echo("gridbot worker: handling accepted messages"
               + (", running the outbox sender and the clock" if jobs else " (no outbox sender, no clock)"), err=True)
    while not stop.wait(1.0):
        pass
    background.stop()
    state.close()


def retention_purge(
    now: str = typer.Option(None, "--now", help="Purge as of this ISO-8601 moment (default: now)."),
    days: int = typer.Option(None, "--days", help="Override GRIDBOT_RETENTION_DAYS."),
) -> None:
    """Purge personal data of cases that ended more than the retention period ago, their kept media too."""
    from bot.media import store_from_settings
    from handlers.privacy.retention import purge

    days = settings().retention_days if days is None else days
    if days <= 0:
        typer.echo("gridbot: retention is off (GRIDBOT_RETENTION_DAYS=0); pass --days N", err=True)
        raise typer.Exit(2)
    media = store_from_settings(settings())
    echo_json(asdict(purge(session_factory(), now=parse_moment(now), days=days, forget_media=media.forget)))


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
    retention = typer.Typer(no_args_is_help=True, help="Retention of residents' personal data.")
    retention.command("purge")(retention_purge)
    app.add_typer(retention, name="retention")
