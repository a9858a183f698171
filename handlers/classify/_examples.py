"""Labelled examples as data: `config/examples/*.csv` (`text,label`), versioned with the rules.

In a rule set (`Classifier.to_dict()`) they are a list of `{"text", "label", "source"}`, where
`source` is the CSV's file stem, so that writing the config back gives the same files. A label
is a catalogue category or `无` (not a report: greetings, chit-chat).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from handlers.classify._catalogue import Catalogue
from handlers.classify._errors import RuleConfigError
from handlers.classify._model import NONE_LABEL

EXAMPLES_DIR = "examples"
DEFAULT_SOURCE = "examples"


def example_files(config_dir: Path) -> list[Path]:
    """The example CSVs of a config dir, sorted."""
    folder = config_dir / EXAMPLES_DIR
    return sorted(folder.glob("*.csv")) if folder.is_dir() else []


def read_example_files(config_dir: Path) -> list[dict]:
    """Every example of a config dir, in file then row order."""
    examples = []
    for path in example_files(config_dir):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames or not {"text", "label"} <= set(reader.fieldnames):
                raise RuleConfigError(str(path), None, "text,label", "an example file needs the columns text,label")
            examples.extend({"text": row["text"], "label": (row["label"] or "").strip() or NONE_LABEL,
                             "source": path.stem} for row in reader)
    return examples


def write_example_files(config_dir: Path, examples: list[dict]) -> list[Path]:
    """Write examples back to `examples/<source>.csv`; returns the files written."""
    by_source: dict[str, list[dict]] = {}
    for example in examples:
        by_source.setdefault(example.get("source") or DEFAULT_SOURCE, []).append(example)
    folder = config_dir / EXAMPLES_DIR
    written = []
    for source, rows in by_source.items():
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{source}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["text", "label"])
            writer.writerows([row["text"], row["label"]] for row in rows)
        written.append(path)
    return written


def check_examples(catalogue: Catalogue, examples: Any) -> list[tuple[str, str]]:
    """(text, label) pairs of validated examples; a bad one raises RuleConfigError naming it."""
    if not isinstance(examples, list):
        raise RuleConfigError("<examples>", None, "examples", "must be a list")
    pairs = []
    for position, example in enumerate(examples, start=1):
        source = f"{EXAMPLES_DIR}/{example.get('source') or DEFAULT_SOURCE}.csv" \
            if isinstance(example, dict) else "<examples>"
        if not isinstance(example, dict) or not isinstance(example.get("text"), str) or not example["text"].strip():
            raise RuleConfigError(source, f"example {position}", "text", "needs a non-empty text")
        label = example.get("label")
        if label != NONE_LABEL and label not in catalogue:
            raise RuleConfigError(source, f"example {position}", "label",
                                  f"{label!r} is not in the catalogue (nor {NONE_LABEL})")
        pairs.append((example["text"], label))
    return pairs
