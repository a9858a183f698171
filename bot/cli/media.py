"""`gridbot media copy|check`: the kept photos, voice and video in the configured store
(GRIDBOT_MEDIA_STORE): copy them in from a media folder, check none is missing."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import typer

from bot.cli.context import echo_json, session_factory, settings

media_app = typer.Typer(no_args_is_help=True, help="Kept photos, voice and video: copy between stores, check.")


@media_app.command("copy")
def copy_command(from_dir: Path = typer.Option(
        ..., "--from-dir", exists=True, file_okay=False,
        help="The media folder to copy from (the old GRIDBOT_MEDIA_DIR).")) -> None:
    """Copy every kept medium the configured store lacks from a media folder (e.g. into a new bucket)."""
    from bot.media import FolderStore, store_from_settings
    from bot.media.transfer import copy_media

    done = copy_media(session_factory(), FolderStore(from_dir), store_from_settings(settings()).blobs)
    echo_json(asdict(done))
    if done.missing:
        raise typer.Exit(1)


@media_app.command("check")
def check_command() -> None:
    """List kept media whose bytes the configured store does not hold; exit 1 when any."""
    from bot.media import store_from_settings
    from bot.media.transfer import missing_media

    store = store_from_settings(settings()).blobs
    missing = missing_media(session_factory(), store)
    echo_json({"store": store.describe(), "missing": missing})
    if missing:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(media_app, name="media")
