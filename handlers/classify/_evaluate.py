"""Scoring a classifier on labelled rows: accuracy, macro-F1, per-label P/R, confusions."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from handlers.classify._engine import Classifier, Decision

NO_CATEGORY = "无"  # the label of rows that are no matter at all


@dataclass(frozen=True)
class Example:
    text: str
    label: str


def read_examples(path: Path) -> list[Example]:
    """Rows of a `text,label` CSV (an empty label means no category)."""
    with Path(path).open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        if not reader.fieldnames or not {"text", "label"} <= set(reader.fieldnames):
            raise ValueError(f"{path}: needs the columns text,label (has {reader.fieldnames})")
        return [Example(row["text"], (row["label"] or "").strip() or NO_CATEGORY) for row in reader]


def predicted_label(decision: Decision) -> str:
    """The label a decision stands for: its top category (also when asking back), else 无."""
    return decision.category or NO_CATEGORY


def scores(gold: list[str], predicted: list[str]) -> dict:
    """Accuracy, macro-F1 (over every label seen), per-label P/R/F1 and confusion pairs."""
    labels = sorted(set(gold) | set(predicted))
    pairs = Counter(zip(gold, predicted))
    per_label = {}
    for label in labels:
        hit = pairs[(label, label)]
        as_label = sum(count for (_, p), count in pairs.items() if p == label)
        support = sum(count for (g, _), count in pairs.items() if g == label)
        precision = hit / as_label if as_label else 0.0
        recall = hit / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_label[label] = {"precision": precision, "recall": recall, "f1": f1, "support": support}
    confusions = [{"label": g, "predicted": p, "count": n}
                  for (g, p), n in pairs.most_common() if g != p]
    total = len(gold)
    return {
        "rows": total,
        "accuracy": sum(pairs[(label, label)] for label in labels) / total if total else 0.0,
        "macro_f1": sum(v["f1"] for v in per_label.values()) / len(labels) if labels else 0.0,
        "labels": per_label,
        "confusions": confusions,
    }


def evaluate(classifier: Classifier, examples: list[Example],
             progress: Callable[[Iterable], Iterable] = iter) -> tuple[dict, list[dict]]:
    """(the scores, the misclassified rows with what decided them)."""
    predicted, errors = [], []
    for example in progress(examples):
        decision = classifier.classify(example.text)
        label = predicted_label(decision)
        predicted.append(label)
        if label != example.label:
            errors.append({"text": example.text, "label": example.label, "predicted": label,
                           "outcome": decision.outcome, "score": round(decision.score, 3),
                           "rules": " ".join(f"{r['id']}:{r['match']}" for r in decision.rules)})
    return scores([e.label for e in examples], predicted), errors


def write_errors(path: Path, errors: list[dict]) -> None:
    fields = ["text", "label", "predicted", "outcome", "score", "rules"]
    with Path(path).open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(errors)
