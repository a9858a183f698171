"""`gridbot classify` and `gridbot rules ...`: try, evaluate, learn and lint the rule set."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import typer
from tqdm import tqdm

from bot.cli.context import echo_json, session_factory, settings
from handlers.classify import (
    Classifier,
    Example,
    LearnOptions,
    RuleConfigError,
    evaluate,
    learn_rules,
    lint,
    load_classifier,
    read_examples,
    stored_texts,
    write_config,
    write_errors,
)

rules_app = typer.Typer(no_args_is_help=True, help="Evaluate, learn and lint classification rules.")
DATA_OPTION = typer.Option(None, "--data", help="A CSV with columns text,label.")
JSON_OPTION = typer.Option(False, "--json", help="Print one JSON object.")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"gridbot: {message}", err=True)
    return typer.Exit(2)


def _labelled(data: Path | None) -> list[Example]:
    """The rows of --data (columns text,label), or exit with one line saying what is wrong."""
    if data is None:
        raise _fail("--data FILE.csv is required (columns text,label)")
    try:
        return read_examples(data)
    except (OSError, ValueError, csv.Error) as error:
        raise _fail(f"cannot read {data}: {error}") from None


def _texts(data: Path) -> list[str]:
    """The `text` column of a CSV, or exit with one line saying what is wrong."""
    try:
        with data.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if "text" not in (reader.fieldnames or []):
                raise _fail(f"{data}: needs a column text (has {reader.fieldnames})")
            return [row["text"] or "" for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise _fail(f"cannot read {data}: {error}") from None


def _classifier() -> Classifier:
    try:
        return load_classifier(settings().config_dir)
    except RuleConfigError as error:
        typer.echo(f"gridbot: bad rules: {error}", err=True)
        raise typer.Exit(2) from None


def _progress(label: str):
    return lambda items: tqdm(items, desc=label, unit="msg", leave=False, mininterval=0.5)


def classify(text: str = typer.Argument(None, help="One message (or use --data)."), as_json: bool = JSON_OPTION,
             data: Path = typer.Option(None, "--data", help="A CSV with a column text: classify every row."),
             jsonl: bool = typer.Option(False, "--jsonl", help="With --data: one JSON object per row, in order.")) -> None:
    """The category of TEXT, its score, and the rules (and model features) that decided it."""
    if jsonl and data is None:
        raise _fail("--jsonl needs --data FILE.csv (a column text)")
    if data is not None:
        if not jsonl:
            raise _fail("--data prints JSON lines: add --jsonl")
        classifier = _classifier()
        for row in _texts(data):
            typer.echo(json.dumps(classifier.classify(row).to_json(), ensure_ascii=False))
        return
    if text is None:
        raise _fail("give a TEXT to classify, or --data FILE.csv --jsonl")
    decision = _classifier().classify(text)
    if as_json:
        echo_json(decision.to_json())
        return
    label = decision.category or "（无网格事项）"
    kind = "" if decision.category is None else (" [网格事项]" if decision.grid_matter else " [部门事项]")
    typer.echo(f"{label}{kind}  {decision.outcome}  score={decision.score:.2f}")
    typer.echo(f"normalised: {decision.normalised}")
    for candidate in decision.candidates:
        typer.echo(f"  runner-up {candidate.category}  {candidate.score:.2f}")
    for rule in decision.rules:
        start, end = rule["span"]
        typer.echo(f"  {rule['score']:+.2f}  {rule['category']}  {rule['id']} ({rule['kind']})  "
                   f"'{rule['match']}' @ {start}-{end}")
    if decision.ranking:
        typer.echo(f"decided by {decision.decided_by}; model: " + ", ".join(
            f"{c.category} {c.score:.2f}" for c in decision.ranking[:3]))
        typer.echo("  model features: " + ", ".join(f"{f['feature']} {f['weight']:+.2f}"
                                                   for f in decision.model_features()))


@rules_app.command("eval")
def rules_eval(data: Path = DATA_OPTION, as_json: bool = JSON_OPTION,
               errors: Path = typer.Option(None, "--errors", help="Write the misclassified rows to this CSV.")) -> None:
    """Accuracy, macro-F1, per-label precision/recall and confusions of the rules on FILE."""
    examples = _labelled(data)
    result, wrong = evaluate(_classifier(), examples, progress=_progress("eval"))
    if errors is not None:
        write_errors(errors, wrong)
    if as_json:
        echo_json(result)
        return
    typer.echo(f"rows {result['rows']}  accuracy {result['accuracy']:.3f}  macro-F1 {result['macro_f1']:.3f}")
    typer.echo(f"{'label':<12} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>7}")
    for label, row in result["labels"].items():
        typer.echo(f"{label:<12} {row['precision']:>9.3f} {row['recall']:>7.3f} {row['f1']:>6.3f} {row['support']:>7}")
    typer.echo("top confusions (label → predicted):")
    for pair in result["confusions"][:10]:
        typer.echo(f"  {pair['count']:>4}  {pair['label']} → {pair['predicted']}")


@rules_app.command("learn")
def rules_learn(data: Path = DATA_OPTION,
                out: Path = typer.Option(None, "--out", file_okay=False, help="The config dir to write."),
                per_label: int = typer.Option(LearnOptions.per_label, help="Terms kept per label."),
                min_df: int = typer.Option(LearnOptions.min_df, help="Documents of a label a term must be in.")) -> None:
    """Propose a rule set (and a catalogue of the labels) from FILE, in the config format, with FILE's
    rows as the model's labelled examples."""
    examples = _labelled(data)
    if out is None:
        raise _fail("--out DIR is required (the config dir to write)")
    if len({e.label for e in examples}) < 2:
        raise _fail(f"{data}: needs at least two different labels")
    catalogue, rules = learn_rules(examples, LearnOptions(per_label=per_label, min_df=min_df),
                                   progress=_progress("learn"))
    rows = [{"text": e.text, "label": e.label, "source": "learned"} for e in examples]
    Classifier.from_data(catalogue, rules, examples=rows)  # what we write must load
    written = write_config(out, catalogue, rules, rows)
    count = sum(len(items) for items in rules.values())
    typer.echo(f"{count} rules for {len(rules)} labels and a model of {len(rows)} examples from {len(examples)} rows "
               f"→ {len(written)} files in {out}")
    typer.echo(f"try it: GRIDBOT_CONFIG_DIR={out} gridbot rules eval --data {data}")


@rules_app.command("lint")
def rules_lint(data: Path = typer.Option(None, "--data", exists=True, dir_okay=False,
                                         help="Replay the `text` column of this CSV instead of stored messages."),
               messages: bool = typer.Option(True, "--messages/--no-messages",
                                             help="Report rules that matched no stored message."),
               as_json: bool = JSON_OPTION) -> None:
    """Duplicate keywords, shadowed rules, keywords of several categories, rules that never matched."""
    texts = None
    if data is not None:
        texts = _texts(data)
    elif messages:
        with session_factory()() as session:
            texts = stored_texts(session)
    findings = lint(_classifier(), texts, progress=_progress("replay"))
    if as_json:
        echo_json([finding.to_json() for finding in findings])
        return
    for finding in findings:
        typer.echo(f"{finding.kind:<9} {finding.rule}: {finding.message}")
    typer.echo(f"{len(findings)} findings" + ("" if texts is None else f" ({len(texts)} messages replayed)"))


def register(app: typer.Typer) -> None:
    """Add `classify` and the `rules` group to the main command line."""
    app.command("classify")(classify)
    app.add_typer(rules_app, name="rules")
