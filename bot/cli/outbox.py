"""`gridbot outbox ...`: look at queued, sent and dead notices, retry dead ones, run the sender."""

from __future__ import annotations

import signal
import threading

import typer

from bot.cli.context import echo_json, echo_rows, session_factory, settings
from models.outbox import OutboxMessage, OutboxStatus

outbox_app = typer.Typer(no_args_is_help=True, help="Outgoing notices: backlog, dead letters, sending.")


def _row(row: OutboxMessage) -> dict:
    return {
        "id": row.id, "status": row.status, "channel": row.channel, "recipient": row.recipient,
        "case_id": row.case_id, "attempts": row.attempts, "next_attempt_at": row.next_attempt_at.isoformat(),
        "created_at": row.created_at.isoformat(), "sent_at": row.sent_at.isoformat() if row.sent_at else None,
        "last_error": row.last_error, "dedupe_key": row.dedupe_key, "text": row.text,
    }


def _sender():
    from bot.media import store_from_settings
    from bot.outbox.sender import OutboxSender, SendPolicy
    from bot.wecom.api import WeComClient

    s = settings()
    return OutboxSender(session_factory(), WeComClient.from_settings(s), SendPolicy.from_settings(s),
                        media=store_from_settings(s)), s


@outbox_app.command("list")
def list_command(status: str = typer.Option(None, "--status", help="pending, sent or dead."),
                 limit: int = typer.Option(200, "--limit"),
                 as_json: bool = typer.Option(False, "--json")) -> None:
    """Notices, newest first (with --status dead: the dead letters and why they died)."""
    from bot.outbox.store import list_notices

    if status is not None and status not in set(OutboxStatus):
        typer.echo(f"unknown status {status!r}; one of: {', '.join(OutboxStatus)}", err=True)
        raise typer.Exit(2)
    with session_factory()() as session:
        rows = [_row(row) for row in list_notices(session, status, limit)]
    echo_rows(rows, as_json, lambda row: f"{row['id']}  {row['status']:<7} {row['channel']:<7} "
                                         f"{row['recipient'][:40]:<40} attempts={row['attempts']}  "
                                         f"{row['last_error'] or ''}")


@outbox_app.command("stats")
def stats_command(as_json: bool = typer.Option(False, "--json")) -> None:
    """How many notices are pending, sent and dead, and how old the backlog is."""
    from bot.outbox.store import count_by_status, oldest_pending

    with session_factory()() as session:
        counts = count_by_status(session)
        oldest = oldest_pending(session)
    result = {**counts, "oldest_pending": oldest.isoformat() if oldest else None}
    if as_json:
        echo_json(result)
        return
    typer.echo("  ".join(f"{key}={value}" for key, value in result.items()))


@outbox_app.command("retry")
def retry_command(ids: list[int] = typer.Argument(None, help="Dead notice ids."),
                  all_dead: bool = typer.Option(False, "--all-dead", help="Every dead notice.")) -> None:
    """Queue dead notices again (after fixing what killed them)."""
    from bot.outbox.store import retry_notices

    if not ids and not all_dead:
        typer.echo("give notice ids or --all-dead", err=True)
        raise typer.Exit(2)
    with session_factory().begin() as session:
        count = retry_notices(session, ids or (), all_dead=all_dead)
    typer.echo(f"{count} notice(s) queued again")


@outbox_app.command("send-once")
def send_once_command() -> None:
    """Send one batch of due notices now and say how many went out."""
    sender, _ = _sender()
    try:
        sent = sender.run_once()
    finally:
        sender.client.close()
    typer.echo(f"{sent} sent, {sender.stats.retried} to retry, {sender.stats.dead} dead, "
               f"{sender.stats.deferred} deferred")


@outbox_app.command("run")
def run_command(interval: float = typer.Option(None, "--interval", help="Seconds between polls.")) -> None:
    """Run a sender until interrupted (beside the app's own, or instead of it with
    GRIDBOT_RUN_BACKGROUND_JOBS=false); any number may run against one PostgreSQL."""
    from bot.logging_setup import configure_from_settings
    from bot.metrics import serve_metrics

    sender, s = _sender()
    configure_from_settings(s)
    serve_metrics(s.metrics_port, sender.factory)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: (stop.set(), sender.wakeup.set()))
    typer.echo(f"outbox sender {sender.name} running; Ctrl-C stops it")
    try:
        sender.run_forever(stop, interval or s.outbox_interval)
    finally:
        sender.client.close()


def register(app: typer.Typer) -> None:
    """Add `gridbot outbox` to the command line."""
    app.add_typer(outbox_app, name="outbox")
