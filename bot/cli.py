"""The `gridbot` command line: serve, database, cases, and the sub-commands of each area."""

from __future__ import annotations

import json

import typer

from bot import cli_clock, cli_jobs, cli_outbox, cli_registry, cli_rules
from config.settings import Settings, SettingsError, get_settings
from handlers.case_views import case_detail, case_summary, find_case, list_cases
from handlers.texts import wording
from models.db import make_engine, make_session_factory
from models.setup import init_database

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="gridbot: residents' messages → routed grid cases, over WeCom.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema and demo data.")
case_app = typer.Typer(no_args_is_help=True, help="Look cases up.")
app.add_typer(db_app, name="db")
app.add_typer(case_app, name="case")


def settings() -> Settings:
    """The settings, or exit with one line naming the bad variable."""
    try:
        return get_settings()
    except SettingsError as error:
        typer.echo(f"gridbot: bad setting: {error}", err=True)
        raise typer.Exit(2) from None


def session_factory():
    return make_session_factory(make_engine(settings().database_url))


def echo_json(value) -> None:
    typer.echo(json.dumps(value, ensure_ascii=False, indent=2))


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the app (uvicorn with uvloop and httptools)."""
    import uvicorn

    settings()
    uvicorn.run("bot.app:create_app", factory=True, host=host, port=port, workers=workers,
                loop="uvloop", http="httptools", access_log=False, log_level="warning")


@app.command()
def demo(host: str = "127.0.0.1", port: int = 8000, fake_port: int = 8001) -> None:
    """The local demo (`make run`): demo district, a fake WeCom, the app and its chat simulator."""
    import os
    import threading

    import uvicorn

    from bot.fake_wecom import create_fake_wecom

    os.environ.setdefault("GRIDBOT_DEMO", "true")
    os.environ.setdefault("GRIDBOT_WECOM_API_BASE", f"http://{host}:{fake_port}")
    os.environ.setdefault("GRIDBOT_ADMIN_PASSWORD", "gridbot-demo")
    get_settings.cache_clear()
    config = settings()
    init_database(config.database_url, config.config_dir, demo=True)
    fake = uvicorn.Server(uvicorn.Config(create_fake_wecom(), host=host, port=fake_port, log_level="warning"))
    threading.Thread(target=fake.run, daemon=True).start()
    typer.echo(f"gridbot demo: database {config.database_url}, fake WeCom at {config.wecom_api_base}")
    typer.echo(f"Open the chat simulator:  http://{host}:{port}/demo/")
    typer.echo(f"Admin console:            http://{host}:{port}/admin/  (admin / {config.admin_password})")
    uvicorn.run("bot.app:create_app", factory=True, host=host, port=port, loop="uvloop", http="httptools",
                access_log=False, log_level="warning")


@db_app.command("init")
def db_init(demo: bool = typer.Option(False, "--demo", help="Also load the demo district.")) -> None:
    """Create or migrate the schema; --demo also loads the demo district."""
    config = settings()
    init_database(config.database_url, config.config_dir, demo=demo)
    typer.echo(f"database ready: {config.database_url}" + (" (demo district loaded)" if demo else ""))


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


@case_app.command("list")
def case_list(state: str = typer.Option(None, "--state", help="A state code or its Chinese label."),
              as_json: bool = typer.Option(False, "--json")) -> None:
    """Cases, newest first."""
    labels = {name: code for code, name in wording()["states"].items()}
    with session_factory()() as session:
        rows = [case_summary(case) for case in list_cases(session, labels.get(state, state))]
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        typer.echo(f"{row['number']}  {row['state_label']}  {row['category']}  {row['grid']}  {row['assignee']}")


inbound_app = typer.Typer(no_args_is_help=True, help="Inbound messages that failed and their replay.")
app.add_typer(inbound_app, name="inbound")


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
    if as_json:
        echo_json(items)
        return
    for item in items:
        typer.echo(f"{item['id']}  {item['received_at']}  {item['from']}  {item['msg_key']}")


@inbound_app.command("replay")
def inbound_replay(ids: list[int]) -> None:
    """Handle failed messages again; their replies go to the senders through the outbox."""
    from bot.parsing import inbound_from_fields
    from handlers.dispatch import replay_failed
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
        reply = replay_failed(factory, services, record_id, inbound_from_fields(payload))
        typer.echo(f"{record_id}: {'handled' if reply is not None else 'not failed, skipped'}")


cli_rules.register(app)
cli_registry.register(app)
cli_outbox.register(app)
cli_jobs.register(app)
cli_clock.register(app)
