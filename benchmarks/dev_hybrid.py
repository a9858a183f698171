"""Dev figures for the hybrid classifier (issue 14): K-fold cross-validation over the training data only, and the
retired fresh chat sets scored one author at a time.

    .venv/bin/python benchmarks/dev_hybrid.py [--folds 4] [--seed 0] [--by-set] [--without-retired]
                                              [--without-written] [--without-tipdm]

What is cross-validated (no held-out row is read):
- chat: every row of `config/examples/chat-*.csv` (the team's dev messages and the hand-written
  chat examples), scored as it stands; figures per file and for all of them;
- letters: every row of the *training part* of `../shared/data/citizen-messages-labelled.csv`
  (the rows not in `tests/data/labelled-test.csv`), scored on its whole text with its own label
  (非网格事项 accepts any department category, as on the held-out set); when in a training fold it
  contributes its model example (`benchmarks/build_examples.py`: cut, department from the rules,
  else the department ranked first by a model trained on the fold's other examples).
Folds are stratified by label within each kind, `random.Random(seed)`. The `TRAIN_ONLY` example files
are not scored: their rows are in every training fold (a new file scored here would move the fold of
every row of the kinds sorted after it, e.g. the letters' figure by up to 1.8 points at seed 0).
For each fold the shipped rules and decision thresholds are kept and the model is trained on the
examples of the other folds;
the figures are those of `bench_hybrid.py` (right at once, top guess, after ≤1 ask, asked, bounced,
chit-chat as case), summed over the folds.
By set (`--by-set`, `by_set`): each retired fresh chat set (`benchmarks/build_retired.py`: six independent authors)
is scored as held out of a model trained on every other example file and the other five sets (their rows as
`build_retired` keeps them), one set at a time; per set and pooled. It is the dev estimate of a new author's set:
no set's own rows (nor its author's voice) are in its model. `--without-retired`: the retired sets are in no
training fold and no model (what the figures were before they were added). The written letters
(`benchmarks/build_written_letters.py`: four writers' letters to the message board) are a `TRAIN_ONLY` file too:
never scored, so the letters' figure stays the real training letters'; `--without-written` leaves them out. So are
the tipdm letters labelled into the grid matters (`benchmarks/build_tipdm_letters.py`); `--without-tipdm` leaves
them out.
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.build_examples import department_examples, letter_example  # noqa: E402
from benchmarks.build_retired import SOURCE as RETIRED, retired_rows, retired_sets  # noqa: E402
from benchmarks.build_tipdm_letters import SOURCE as TIPDM  # noqa: E402
from benchmarks.build_written_letters import SOURCE as WRITTEN  # noqa: E402
from handlers.classify import Classifier, Example, outcome_figures, read_config, read_example_files  # noqa: E402
from tests.splits import split_examples  # noqa: E402

CONFIG = REPO / "config"
# files added after the dev folds were set (see the docstring); the retired sets are scored by `by_set`
TRAIN_ONLY = frozenset({"chat-round3", "chat-round4", RETIRED, WRITTEN, TIPDM})
FIGURES = ("right_at_once", "right_top1", "right_after_ask", "asked")


@dataclass(frozen=True)
class Item:
    kind: str  # the chat example file ("chat-dev", "chat-own", ...) or "letters"
    scored: Example  # what is classified and its gold label
    example: dict | None  # the model example it gives when in a training fold


def examples(leave_out: frozenset[str] = frozenset()) -> list[dict]:
    """The shipped example files' rows, but those of the `leave_out` files."""
    return [e for e in read_example_files(CONFIG) if e["source"] not in leave_out]


def items(rules_only: Classifier, train_only: frozenset[str] = frozenset(),
          leave_out: frozenset[str] = frozenset()) -> list[Item]:
    """Every chat example (but those of the `train_only` and `leave_out` files) and every training letter, as
    cross-validation items."""
    chat = [Item(e["source"], Example(e["text"], e["label"]), e)
            for e in examples(leave_out) if e["source"].startswith("chat") and e["source"] not in train_only]
    letters = [Item("letters", example, letter_example(example, rules_only))
               for example in split_examples("labelled", "train")]
    return chat + letters


def folds(all_items: list[Item], count: int, seed: int) -> list[list[Item]]:
    """`count` folds, stratified by (kind, label)."""
    groups: dict[tuple[str, str], list[Item]] = defaultdict(list)
    for item in all_items:
        groups[(item.kind, item.scored.label)].append(item)
    rnd = random.Random(seed)
    out: list[list[Item]] = [[] for _ in range(count)]
    offset = 0
    for key in sorted(groups):
        members = groups[key]
        rnd.shuffle(members)
        for position, item in enumerate(members):
            out[(offset + position) % count].append(item)
        offset += len(members)
    return out


def fold_classifiers(count: int = 4, seed: int = 0, catalogue: dict | None = None, extra: list[dict] | None = None,
                     train_only: frozenset[str] = TRAIN_ONLY,
                     leave_out: frozenset[str] = frozenset()) -> Iterator[tuple[list[Item], Classifier]]:
    """For each fold: (its items, the classifier trained on the other folds' examples), as `cross_validate`
    scores them (the `leave_out` example files in none of them)."""
    shipped, rules, _ = read_config(CONFIG)
    catalogue = catalogue or shipped
    rules_only = Classifier.from_data(catalogue, rules)
    parts = folds(items(rules_only, train_only, leave_out), count, seed)
    extra = (extra or []) + [e for e in examples(leave_out) if e["source"] in train_only]
    for index, held in enumerate(parts):
        training = [item for other, part in enumerate(parts) if other != index for item in part]
        train = [item.example for item in training if item.example is not None] + extra
        unplaced = [item.scored for item in training if item.kind == "letters" and item.example is None]
        if unplaced:  # as build_examples does: the department a model trained on the rest ranks first
            train += department_examples(unplaced, Classifier.from_data(catalogue, rules, examples=train))
        yield held, Classifier.from_data(catalogue, rules, examples=train)


def cross_validate(count: int = 4, seed: int = 0, catalogue: dict | None = None,
                   extra: list[dict] | None = None, train_only: frozenset[str] = TRAIN_ONLY,
                   leave_out: frozenset[str] = frozenset()) -> dict[str, dict]:
    """Figures per kind (chat file, all chat, letters), summed over the folds; `catalogue` overrides the shipped one (e.g. its
    decision thresholds), `extra` are further model examples in every training fold, and so are the rows of the
    `train_only` example files (e.g. `{"chat-round3"}`: what a new file adds, on the other files' usual folds);
    the `leave_out` files are in no fold."""
    totals: dict[str, dict] = {}
    for held, classifier in fold_classifiers(count, seed, catalogue, extra, train_only, leave_out):
        for kind in sorted({item.kind for item in held}):
            figures = outcome_figures(classifier, [item.scored for item in held if item.kind == kind])
            _add(totals.setdefault(kind, {}), figures)
            if kind != "letters":
                _add(totals.setdefault("chat (all)", {}), figures)
    return {kind: _mean(total) for kind, total in sorted(totals.items())}


def set_classifiers(catalogue: dict | None = None, extra: list[dict] | None = None, added: bool = True,
                    leave_out: frozenset[str] = frozenset()) -> Iterator[tuple[str, list[Example], Classifier]]:
    """For each retired fresh set: (its name, its rows, the classifier trained on every other example file but the
    `leave_out` ones, `extra` and, when `added`, the other five sets' rows as `build_retired` keeps them)."""
    shipped, rules, _ = read_config(CONFIG)
    catalogue = catalogue or shipped
    base = examples(leave_out | {RETIRED}) + (extra or [])
    sets = retired_sets()
    for name, held in sets.items():
        others = retired_rows({other: rows for other, rows in sets.items() if other != name}, base) if added else []
        yield name, held, Classifier.from_data(catalogue, rules, examples=base + others)


def by_set(catalogue: dict | None = None, extra: list[dict] | None = None, added: bool = True,
           leave_out: frozenset[str] = frozenset()) -> dict[str, dict]:
    """Figures per retired set held out (`set_classifiers`) and pooled over them ("fresh (all)")."""
    figures: dict[str, dict] = {}
    pooled: dict = {}
    for name, held, classifier in set_classifiers(catalogue, extra, added, leave_out):
        figures[name] = outcome_figures(classifier, held)
        _add(pooled, figures[name])
    return {**figures, "fresh (all)": _mean(pooled)}


def _add(total: dict, figures: dict) -> None:
    reports, rows = figures["reports"], figures["rows"]
    for key in FIGURES:
        total[key] = total.get(key, 0.0) + figures[key] * rows
    total["bounced"] = total.get("bounced", 0.0) + figures["bounced"] * reports
    total["chat_as_case"] = total.get("chat_as_case", 0.0) + figures["chat_as_case"] * (rows - reports)
    total["rows"] = total.get("rows", 0) + rows
    total["reports"] = total.get("reports", 0) + reports


def _mean(total: dict) -> dict:
    rows, reports = total["rows"], total["reports"]
    return {"rows": rows, **{key: total[key] / rows for key in FIGURES},
            "bounced": total["bounced"] / (reports or 1),
            "chat_as_case": total["chat_as_case"] / ((rows - reports) or 1)}


def table(figures: dict[str, dict]) -> str:
    """The figures as Markdown rows."""
    lines = []
    for kind, f in figures.items():
        lines.append(f"| {kind} | {f['rows']} | {f['right_at_once']:.3f} | {f['right_top1']:.3f} | "
                     f"{f['right_after_ask']:.3f} | {f['asked']:.3f} | {f['bounced']:.3f} | {f['chat_as_case']:.3f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--by-set", action="store_true", help="Also score each retired fresh set held out.")
    parser.add_argument("--without-retired", action="store_true",
                        help="The retired fresh sets in no model (the figures before they were added).")
    parser.add_argument("--without-written", action="store_true",
                        help="The written letters in no model (the figures before they were added).")
    parser.add_argument("--without-tipdm", action="store_true",
                        help="The relabelled tipdm letters in no model (the figures before they were added).")
    args = parser.parse_args()
    left = {RETIRED: args.without_retired, WRITTEN: args.without_written, TIPDM: args.without_tipdm}
    leave_out = frozenset(name for name, out in left.items() if out)
    print("| dev (CV) | rows | right at once | right top guess | right after ≤1 ask | asked | bounced | chit-chat as case |")
    print("|---|---|---|---|---|---|---|---|")
    print(table(cross_validate(args.folds, args.seed, leave_out=leave_out)), flush=True)
    if args.by_set:
        print(table(by_set(added=not args.without_retired, leave_out=leave_out)))


if __name__ == "__main__":
    main()
