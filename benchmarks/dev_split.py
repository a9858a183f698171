"""How many training chat messages the splitter (handlers/conversation/matters.py) parts into several matters.

    .venv/bin/python benchmarks/dev_split.py [--folds 4] [--model-sure 0.95 0.99] [--show]

Over the chat example files of config/examples (`chat-*.csv`, 4,020 messages; never a held-out file), each message
read by a classifier trained without it (k folds of the chat rows, every other example file in every fold: a
model's probability on a sentence it was trained on says nothing). For the shipped config/matters.yaml, and for each
`--model-sure` P (a part the model alone reads, with P or more for its category, counting as clear: matters.yaml's
`model_sure`), the number of messages split; `--show` lists each split message and its parts, to judge by eye.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from handlers.classify import Classifier, read_config, read_example_files  # noqa: E402
from handlers.conversation.matters import MatterRules, matter_rules, matters  # noqa: E402

CONFIG = REPO / "config"


def fold_classifiers(count: int, seed: int = 0):
    """(the chat rows of one fold, a classifier trained on every example but them), for each fold."""
    catalogue, rules, _ = read_config(CONFIG)
    every = read_example_files(CONFIG)
    chat = [e for e in every if e["source"].startswith("chat")]
    rest = [e for e in every if not e["source"].startswith("chat")]
    random.Random(seed).shuffle(chat)
    for index in range(count):
        held = chat[index::count]
        train = rest + [e for position, e in enumerate(chat) if position % count != index]
        yield held, Classifier.from_data(catalogue, rules, examples=train)


def splits(held: list[dict], classifier: Classifier, rules: MatterRules) -> list[tuple[dict, list]]:
    """The messages of `held` split into several matters, with their parts."""
    found = []
    for example in held:
        parts = matters(classifier, example["text"], classifier.classify(example["text"]), rules)
        if parts:
            found.append((example, [(part.text, part.decision.category) for part in parts]))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--model-sure", type=float, nargs="*", default=[])
    parser.add_argument("--show", action="store_true")
    args = parser.parse_args()
    shipped = matter_rules(CONFIG)
    variants = {"shipped": shipped} | {f"model_sure {p}": dataclasses.replace(shipped, model_sure=p)
                                       for p in args.model_sure}
    found: dict[str, list] = {name: [] for name in variants}
    total = 0
    for held, classifier in fold_classifiers(args.folds):
        total += len(held)
        for name, rules in variants.items():
            found[name] += splits(held, classifier, rules)
    for name, split in found.items():
        print(f"{name}: {len(split)} of {total} chat messages split")
        if args.show:
            for example, parts in split:
                print(f"  [{example['label']}] {example['text']}\n    -> {parts}")


if __name__ == "__main__":
    main()
