"""The `gridbot` command line: one module per command group, each adding itself with `register(app)`.

Shared helpers (settings, sessions, JSON output) live in `bot.cli.context`.
"""

from __future__ import annotations

import typer

from bot.cli import admin, apikeys, cases, clock, jobs, media, outbox, qr, registry, rules, serve, visits

app = typer.Typer(no_args_is_help=True, add_completion=False,
                  help="gridbot: residents' messages → routed grid cases, over WeCom.")

for _group in (serve, cases, rules, registry, outbox, media, jobs, clock, apikeys, visits, qr, admin):
    _group.register(app)
