"""Scoring a classifier on labelled rows: accuracy, macro-F1, per-label P/R, confusions."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from handlers.cells import csv_cell
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
        writer.writerows({name: csv_cell(value) for name, value in row.items()} for row in errors)


DEPARTMENT_LABEL = "非网格事项"  # a gold label meaning "any department matter" (the labelled citizen file)


def same_matter(classifier: Classifier, label: str, category: str | None) -> bool:
    """Whether `category` is right for gold `label` (非网格事项 accepts any department category)."""
    if label == DEPARTMENT_LABEL:
        return category is not None and category in classifier.catalogue \
            and not classifier.catalogue.get(category).grid_matter
    return (category or NO_CATEGORY) == label


def outcome_figures(classifier: Classifier, examples: list[Example]) -> dict:
    """How residents would fare: right at once (match), right as the top guess, right after one
    ask-back (the label among the three choices), asked (the share of rows asked back: each costs the
    resident a reply), bounced (a report answered `none`), and chit-chat turned into a case."""
    counts = {"right_at_once": 0, "right_top1": 0, "right_after_ask": 0, "asked": 0, "bounced": 0, "chat_as_case": 0}
    reports = chats = 0
    for example in examples:
        decision = classifier.classify(example.text)
        choices = [decision.category, *[c.category for c in decision.candidates]][:3]
        is_report = example.label != NO_CATEGORY
        reports += is_report
        chats += not is_report
        right = same_matter(classifier, example.label, decision.category)
        counts["right_top1"] += right
        counts["right_at_once"] += right and decision.outcome in ("match", "none")
        counts["right_after_ask"] += (right and decision.outcome in ("match", "none")) or (
            decision.outcome == "ask" and any(same_matter(classifier, example.label, c) for c in choices))
        counts["asked"] += decision.outcome == "ask"
        counts["bounced"] += is_report and decision.outcome == "none"
        counts["chat_as_case"] += not is_report and decision.outcome != "none"
    total = len(examples) or 1
    return {"rows": len(examples), "reports": reports,
            **{key: counts[key] / total for key in ("right_at_once", "right_top1", "right_after_ask", "asked")},
            "bounced": counts["bounced"] / (reports or 1), "chat_as_case": counts["chat_as_case"] / (chats or 1)}
