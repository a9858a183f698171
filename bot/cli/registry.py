"""`gridbot units`, `gridbot departments` and `gridbot grid ...`: the registry's units and departments,
workbook import, export and template."""

from __future__ import annotations

from pathlib import Path

import typer
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from bot.cli.context import echo_rows, session_factory, settings
from handlers.texts import render
from models import Department, Unit

grid_app = typer.Typer(no_args_is_help=True, help="Grid registry: import, export, template workbook.")


def units(as_json: bool = typer.Option(False, "--json", help="Print a JSON list.")) -> None:
    """Every unit: code, grid code, full address and aliases."""
    with session_factory()() as session:
        rows = [{"code": unit.code, "grid": unit.grid.code, "address": unit.address, "aliases": list(unit.aliases or [])}
                for unit in session.scalars(select(Unit).options(joinedload(Unit.grid)).order_by(Unit.code))]
    echo_rows(rows, as_json, lambda row: f"{row['code']}  {row['grid']}  {row['address']}  {'、'.join(row['aliases'])}")


def departments(as_json: bool = typer.Option(False, "--json", help="Print a JSON list.")) -> None:
    """Every department (吹哨报到): code, name and its liaisons' WeCom userids."""
    with session_factory()() as session:
        rows = [{"code": d.code, "name": d.name, "liaisons": [liaison.userid for liaison in d.liaisons]}
                for d in session.scalars(select(Department).options(selectinload(Department.liaisons))
                                         .order_by(Department.code))]
    echo_rows(rows, as_json, lambda row: f"{row['code']}  {row['name']}  {'、'.join(row['liaisons'])}")


class _ProgressBars:
    """A tqdm bar per import stage (check, write) on stderr, closed together."""

    LABELS = {"check": "检查", "write": "写入"}

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bars: list = []

    def __call__(self, stage: str, total: int):
        from tqdm import tqdm

        bar = tqdm(total=total, desc=self.LABELS[stage], unit="行", disable=not self.enabled)
        self.bars.append(bar)
        return bar.update

    def close(self) -> None:
        for bar in self.bars:
            bar.close()


@grid_app.command("import")
def grid_import(file: Path = typer.Argument(..., exists=True, dir_okay=False, help="FILE.xlsx or FILE.csv"),
                dry_run: bool = typer.Option(False, "--dry-run", help="Check and count, write nothing."),
                progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar.")) -> None:
    """Import the registry workbook (or one sheet as CSV): all rows checked first, then upserted."""
    from handlers.classify import load_classifier
    from handlers.registry.importer import RegistryImportError, import_registry_file

    matters = load_classifier(settings().config_dir).catalogue.names()
    bars = _ProgressBars(progress)
    with session_factory()() as session:
        try:
            with session.begin():
                result = import_registry_file(session, file, dry_run=dry_run, known_matters=matters, progress=bars)
        except RegistryImportError as error:
            typer.echo(render("registry/import_problems", problems=error.problems), err=True)
            raise typer.Exit(1) from None
        finally:
            bars.close()
    typer.echo(render("registry/import_done", result=result))


@grid_app.command("export")
def grid_export(file: Path = typer.Argument(..., dir_okay=False, help="FILE.xlsx to write")) -> None:
    """Export the whole registry as the import workbook."""
    from handlers.registry.exporter import export_registry

    with session_factory()() as session:
        counts = export_registry(session, file)
    typer.echo(f"{file}: " + ", ".join(f"{kind} {count}" for kind, count in counts.items()))


@grid_app.command("template")
def grid_template(file: Path = typer.Argument(Path("grid_template.xlsx"), dir_okay=False)) -> None:
    """Write the empty registry workbook (with 填写说明) for communities to fill in."""
    from handlers.registry.exporter import write_template

    write_template(file)
    typer.echo(str(file))


def register(app: typer.Typer) -> None:
    app.command("units")(units)
    app.command("departments")(departments)
    app.add_typer(grid_app, name="grid")
