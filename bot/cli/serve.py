"""`gridbot serve`, `gridbot demo`, `gridbot doctor` and `gridbot db init`: run the app, the demo, check
the settings, the schema."""

from __future__ import annotations

import socket

import typer

from bot.cli.context import settings
from config.settings import get_settings
from models.setup import init_database

db_app = typer.Typer(no_args_is_help=True, help="Database schema and demo data.")


def serve(host: str = "127.0.0.1", port: int = 8000, workers: int = 1) -> None:
    """Serve the app (uvicorn with uvloop and httptools); refuses the demo secrets outside the demo.

    Behind a TLS proxy, start uvicorn yourself with `--forwarded-allow-ips=<proxy>` or set
    GRIDBOT_SECURE_COOKIES (docs/operations.md).
    """
    import os

    import uvicorn

    from bot.safety import findings, refusals

    os.environ.setdefault("GRIDBOT_PUBLIC_URL", f"http://{host}:{port}")  # links name the serving address
    get_settings.cache_clear()
    config = settings()
    refused = refusals(config)
    for line in findings(config):
        typer.echo(f"gridbot: {'refused' if line in refused else 'unsafe'}: {line}", err=True)
    if refused:
        raise typer.Exit(2)
    uvicorn.run("bot.app:create_app", factory=True, host=host, port=port, workers=workers,
                loop="uvloop", http="httptools", access_log=False, log_level="warning")


def _require_free(host: str, port: int, what: str) -> None:
    """Exit with one line when `port` is taken, before anything is started or printed."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does: TIME_WAIT is free
        try:
            probe.bind((host, port))
        except OSError:
            typer.echo(f"gridbot demo: port {port} on {host} ({what}) is in use; stop what holds it, "
                       f"or choose another port: make run PORT={port + 10}", err=True)
            raise typer.Exit(1) from None


def demo(host: str = "127.0.0.1", port: int = 8000, fake_port: int = typer.Option(
        None, help="Port of the fake WeCom (default: the app's port + 1).")) -> None:
    """The local demo (`make run`): demo district, a fake WeCom, the app and its chat simulator."""
    import os
    import threading

    import uvicorn

    from demo.district import init_demo_database
    from demo.fake_wecom import create_fake_wecom

    fake_port = fake_port or port + 1
    _require_free(host, port, "the app")
    _require_free(host, fake_port, "the fake WeCom")
    os.environ.setdefault("GRIDBOT_DEMO", "true")
    os.environ.setdefault("GRIDBOT_WECOM_API_BASE", f"http://{host}:{fake_port}")
    os.environ.setdefault("GRIDBOT_ADMIN_PASSWORD", "gridbot-demo")
    os.environ.setdefault("GRIDBOT_PUBLIC_URL", f"http://{host}:{port}")
    get_settings.cache_clear()
    config = settings()
    init_demo_database(config.database_url, config.config_dir)
    fake = uvicorn.Server(uvicorn.Config(create_fake_wecom(), host=host, port=fake_port, log_level="warning"))
    threading.Thread(target=fake.run, daemon=True).start()
    typer.echo(f"gridbot demo: database {config.database_url}, fake WeCom at {config.wecom_api_base}")
    typer.echo(f"Open the chat simulator:  http://{host}:{port}/demo/")
    typer.echo(f"Admin console:            http://{host}:{port}/admin/  (admin / {config.admin_password})")
    typer.echo(f"Open311 GeoReport v2:     http://{host}:{port}/open311/v2/discovery.json  (keys: gridbot apikey add NAME)")
    uvicorn.run("bot.app:create_app", factory=True, host=host, port=port, loop="uvloop", http="httptools",
                access_log=False, log_level="warning")


def doctor() -> None:
    """List every setting that still leaves this deployment unsafe; exit 1 when there is any."""
    from bot.safety import findings

    found = findings(settings())
    for line in found:
        typer.echo(f"unsafe: {line}")
    if found:
        raise typer.Exit(1)
    typer.echo("nothing unsafe found")


def db_init(demo: bool = typer.Option(False, "--demo", help="Also load the demo district.")) -> None:
    """Create or migrate the schema; --demo also loads the demo district."""
    config = settings()
    if demo:
        from demo.district import init_demo_database

        init_demo_database(config.database_url, config.config_dir)
    else:
        init_database(config.database_url)
    typer.echo(f"database ready: {config.database_url}" + (" (demo district loaded)" if demo else ""))


def register(app: typer.Typer) -> None:
    """Add `serve`, `demo`, `doctor` and the `db` group to the main command line."""
    app.command()(serve)
    app.command()(demo)
    app.command()(doctor)
    db_app.command("init")(db_init)
    app.add_typer(db_app, name="db")
