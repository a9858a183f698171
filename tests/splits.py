"""Frozen evaluation splits of the shared labelled files (made once, before any tuning).

A split file holds `row,label,starts_with`: the row's index in the shared CSV, its label
and its first characters (a check that the shared file has not moved); the text itself
stays in ../shared/data. The training part of a file is every row not in its test split.

    .venv/bin/python -m tests.splits   # rewrites tests/data/{labelled,tipdm}-test.csv (seed 14)

Do not rerun it after tuning: the splits are frozen in git.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from pathlib import Path

from handlers.classify import Example
from tests.conftest import SHARED_DATA

DATA = Path(__file__).resolve().parent / "data"
SEED = 14
TEST_SHARE = 0.3
SOURCES = {"labelled": "citizen-messages-labelled.csv", "tipdm": "tipdm2020c-train.csv"}


def shared_rows(name: str) -> list[dict]:
    """The rows (`text`, maybe `label`) of a shared data file."""
    with (SHARED_DATA / name).open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def split_rows(split: str, part: str) -> list[int]:
    """Row indices of `split` ("labelled" | "tipdm") part "test" (or "train": the rest)."""
    with (DATA / f"{split}-test.csv").open(encoding="utf-8", newline="") as handle:
        test = [int(row["row"]) for row in csv.DictReader(handle)]
    if part == "test":
        return test
    held = set(test)
    return [i for i in range(len(shared_rows(SOURCES[split]))) if i not in held]


def split_examples(split: str, part: str) -> list[Example]:
    """Examples of a frozen split (text from the shared file, label from the split file for test rows)."""
    rows = shared_rows(SOURCES[split])
    examples = []
    for index in split_rows(split, part):
        examples.append(Example(rows[index]["text"], rows[index]["label"]))
    return examples


def _stratified(labels: list[str], forced_test: set[int], forced_train: set[int], rnd: random.Random) -> list[int]:
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        by_label[label].append(index)
    test = []
    for label in sorted(by_label):
        rows = by_label[label]
        quota = max(1, round(TEST_SHARE * len(rows))) if len(rows) > 1 else 0
        chosen = [i for i in rows if i in forced_test]
        free = [i for i in rows if i not in forced_test and i not in forced_train]
        rnd.shuffle(free)
        chosen += free[:max(0, quota - len(chosen))]
        test.extend(chosen)
    return sorted(test)


def _write(name: str, rows: list[dict], test: list[int]) -> None:
    with (DATA / f"{name}-test.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["row", "label", "starts_with"])
        for index in test:
            writer.writerow([index, rows[index]["label"], rows[index]["text"][:12]])


def _real_rows(split: str) -> set[str]:
    unlabelled = shared_rows("citizen-messages-unlabelled.csv")
    with (DATA / f"real-{split}.csv").open(encoding="utf-8") as handle:
        return {unlabelled[int(row["row"])]["text"] for row in csv.DictReader(handle)}


def main() -> None:
    """Write both test splits (the real-dev rows the shipped rules were tuned on stay in training,
    the real-test rows stay held out)."""
    rows = shared_rows(SOURCES["labelled"])
    dev_texts, test_texts = _real_rows("dev"), _real_rows("test")
    forced_test = {i for i, row in enumerate(rows) if row["text"] in test_texts}
    forced_train = {i for i, row in enumerate(rows) if row["text"] in dev_texts}
    _write("labelled", rows, _stratified([r["label"] for r in rows], forced_test, forced_train, random.Random(SEED)))
    rows = shared_rows(SOURCES["tipdm"])
    _write("tipdm", rows, _stratified([r["label"] for r in rows], set(), set(), random.Random(SEED)))


if __name__ == "__main__":
    main()
