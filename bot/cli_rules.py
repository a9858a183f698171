"""`gridbot classify` and `gridbot rules ...`: try, evaluate, learn and lint the rule set."""

from __future__ import annotations

import typer

from handlers.classify import RuleConfigError, load_classifier

rules_app = typer.Typer(no_args_is_help=True, help="Evaluate, learn and lint classification rules.")


def _classifier():
    from bot.cli import settings

    try:
        return load_classifier(settings().config_dir)
    except RuleConfigError as error:
        typer.echo(f"gridbot: bad rules: {error}", err=True)
        raise typer.Exit(2) from None


def classify(text: str, as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")) -> None:
    """The category of TEXT, its score, and the rules that decided it."""
    from bot.cli import echo_json

    decision = _classifier().classify(text)
    if as_json:
        echo_json(decision.to_json())
        return
    label = decision.category or "（无网格事项）"
    kind = "" if decision.grid_matter is None else (" [网格事项]" if decision.grid_matter else " [部门事项]")
    typer.echo(f"{label}{kind}  {decision.outcome}  score={decision.score:.2f}")
    typer.echo(f"normalised: {decision.normalised}")
    for candidate in decision.candidates:
        typer.echo(f"  runner-up {candidate.category}  {candidate.score:.2f}")
    for rule in decision.rules:
        start, end = rule["span"]
        typer.echo(f"  {rule['score']:+.2f}  {rule['category']}  {rule['id']} ({rule['kind']})  "
                   f"'{rule['match']}' @ {start}-{end}")


def register(app: typer.Typer) -> None:
    """Add `classify` and the `rules` group to the main command line."""
    app.command("classify")(classify)
    app.add_typer(rules_app, name="rules")
