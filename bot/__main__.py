"""`python -m bot` runs the gridbot CLI."""

from bot.cli import app

app()
