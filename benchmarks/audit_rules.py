"""Audit the rule set for terms seen only in held-out test sentences (issue 14).

    .venv/bin/python benchmarks/audit_rules.py [--config config] [--apply]

A term (keyword, exclusion, an alternative of an `all` slot, a fuzzy phrase) is suspect when it
occurs in some test sentence (`tests/data/messages-test.csv`, the rows of `real-test.csv`) and in
no other text the team had: `messages-dev.csv` and every other message of
`../shared/data/citizen-messages-unlabelled.csv`. Such a term can only have come from reading the
test sentences. `--apply` removes suspect terms (and rules left without terms) from the YAML files.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from rapidfuzz import fuzz

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from handlers.classify import normalise, read_examples  # noqa: E402
from handlers.classify._pinyin import to_pinyin  # noqa: E402
from handlers.classify._rules import KINDS, RULES_DIR, _dump  # noqa: E402
from tests.conftest import SHARED_DATA  # noqa: E402

DATA = REPO / "tests" / "data"


def corpora() -> tuple[list[str], list[str]]:
    """(normalised test sentences, normalised texts the rule writers could see)."""
    with (SHARED_DATA / "citizen-messages-unlabelled.csv").open(encoding="utf-8") as handle:
        real = [row["text"] for row in csv.DictReader(handle)]
    with (DATA / "real-test.csv").open(encoding="utf-8") as handle:
        real_test = {int(row["row"]) for row in csv.DictReader(handle)}
    test = [e.text for e in read_examples(DATA / "messages-test.csv")] + [real[i] for i in sorted(real_test)]
    seen = [e.text for e in read_examples(DATA / "messages-dev.csv")] + \
        [text for i, text in enumerate(real) if i not in real_test]
    return [normalise(t) for t in test], [normalise(t) for t in seen]


class Occurs:
    """Whether a term occurs in a corpus the way the engine would match it."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.joined = "\n".join(texts)
        self.sounds = "\n".join(to_pinyin(t) for t in texts)

    def __call__(self, term: str, kind: str, homophones: bool) -> bool:
        if kind == "fuzzy":
            return any(fuzz.partial_ratio(term, t) >= 85 for t in self.texts)
        return term in self.joined or (homophones and to_pinyin(term) in self.sounds)


def audit(config: Path, apply: bool) -> int:
    import yaml

    test, seen = (Occurs(c) for c in corpora())
    removed = 0
    for path in sorted((config / RULES_DIR).glob("*.yaml")):
        content = yaml.safe_load(path.read_text(encoding="utf-8"))
        kept_rules = []
        for rule in content.get("rules") or []:
            kind = next(k for k in KINDS if k in rule)
            items = [rule[kind]] if isinstance(rule[kind], str) else list(rule[kind])
            homophones = bool(rule.get("homophones"))
            new_items = []
            for item in items:
                alternatives = item.split("|") if kind == "all" else [item]
                kept = []
                for alternative in alternatives:
                    term = normalise(alternative)
                    if test(term, kind, homophones) and not seen(term, kind, homophones):
                        print(f"{path.stem}\t{rule.get('id')}\t{kind}\t{alternative}")
                        removed += 1
                    else:
                        kept.append(alternative)
                if kept:
                    new_items.append("|".join(kept))
            complete = len(new_items) == len(items) if kind == "all" else bool(new_items)
            if complete:
                kept_rules.append({**rule, kind: new_items})
        if apply and kept_rules != content.get("rules"):
            _dump(path, {**content, "rules": kept_rules})
    return removed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", type=Path, default=REPO / "config")
    parser.add_argument("--apply", action="store_true")
    args = parser.parse_args()
    print(f"{audit(args.config, args.apply)} terms occur only in test sentences")


if __name__ == "__main__":
    main()
