"""`gridbot case ...` and `gridbot inbound ...`: look cases up; replay failed messages."""

from __future__ import annotations

import typer

from bot.cli.context import echo_json, echo_rows, session_factory, settings
from handlers.cases.case_views import case_detail, case_summary, find_case, list_cases
from handlers.texts import wording

case_app = typer.Typer(no_args_is_help=True, help="Look cases up.")
inbound_app = typer.Typer(no_args_is_help=True, help="Inbound messages that failed and their replay.")


@case_app.command("show")
def case_show(number: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """One case with its timeline."""
    with session_factory()() as session:
        case = find_case(session, number)
        if case is None:
            typer.echo(f"no case {number}", err=True)
            raise typer.Exit(1)
        detail = case_detail(case)
    if as_json:
        echo_json(detail)
        return
    typer.echo(f"{detail['number']}  {detail['state_label']}  {detail['category']}  grid={detail['grid']} "
               f"unit={detail['unit']} assignee={detail['assignee']}")
    typer.echo(detail["text"])
    for event in detail["events"]:
        typer.echo(f"  {event['at']}  {event['actor']}  {event['action']} → {event['state']}  {event['note'] or ''}")


@case_app.command("link")
def case_link_command(number: str, revoke: bool = typer.Option(False, "--revoke", help="Revoke the live link(s).")) -> None:
    """The case's progress-page link; `--revoke` invalidates it (the next reply naming the case gets a new one)."""
    from bot.progress.links import attach_links
    from handlers.progress_links import link_for
    from handlers.progress_links import revoke as revoke_links
    from models import utcnow

    with attach_links(session_factory(), settings()).begin() as session:
        case = find_case(session, number)
        if case is None:
            typer.echo(f"no case {number}", err=True)
            raise typer.Exit(1)
        if revoke:
            typer.echo(f"{revoke_links(session, case.id, utcnow())} link(s) revoked")
        else:
            typer.echo(link_for(session, case.id))


@case_app.command("list")
def case_list(state: str = typer.Option(None, "--state", help="A state code or its Chinese label."),
              as_json: bool = typer.Option(False, "--json")) -> None:
    """Cases, newest first."""
    labels = {name: code for code, name in wording()["states"].items()}
    with session_factory()() as session:
        rows = [case_summary(case) for case in list_cases(session, labels.get(state, state))]
    echo_rows(rows, as_json,
              lambda row: f"{row['number']}  {row['state_label']}  {row['category']}  {row['grid']}  {row['assignee']}")




@inbound_app.command("failed")
def inbound_failed(as_json: bool = typer.Option(False, "--json")) -> None:
    """Messages whose handling failed (recorded, answered with an apology)."""
    from sqlalchemy import select

    from models import InboundMessage

    with session_factory()() as session:
        rows = session.execute(select(InboundMessage.id, InboundMessage.msg_key, InboundMessage.from_userid,
                                      InboundMessage.received_at)
                               .where(InboundMessage.status == "failed").order_by(InboundMessage.id)).all()
    items = [{"id": r.id, "msg_key": r.msg_key, "from": r.from_userid, "received_at": r.received_at.isoformat()}
             for r in rows]
    echo_rows(items, as_json, lambda item: f"{item['id']}  {item['received_at']}  {item['from']}  {item['msg_key']}")


@inbound_app.command("replay")
def inbound_replay(ids: list[int]) -> None:
    """Handle failed messages again; their replies go to the senders through the outbox."""
    from bot.state import rebuild_inbound
    from handlers.intake.dispatch import replay_failed
    from handlers.services import Services
    from models import InboundMessage

    config = settings()
    factory = session_factory()
    services = Services(config_dir=config.config_dir, rate_limit=0)
    for record_id in ids:
        with factory() as session:
            record = session.get(InboundMessage, record_id)
            payload = dict(record.payload) if record is not None else None
        if payload is None:
            typer.echo(f"{record_id}: no such message", err=True)
            continue
        reply = replay_failed(factory, services, record_id, rebuild_inbound(payload))
        typer.echo(f"{record_id}: {'handled' if reply is not None else 'not failed, skipped'}")


def register(app: typer.Typer) -> None:
    """Add the `case` and `inbound` groups to the main command line."""
    app.add_typer(case_app, name="case")
    app.add_typer(inbound_app, name="inbound")
