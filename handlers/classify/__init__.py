"""Classification of resident text into the matter catalogue, with an explanation.

Public surface:
- `normalise(text)` — the canonical text every rule sees (OpenCC t2s, NFKC, casefold,
  Cantonese words, numerals before 栋/单元/室 as digits, noise removed, repeats collapsed).
- `Catalogue` / `Category` / `Clock` / `Attribute` — `config/catalogue.yaml`.
- `Classifier.classify(text) -> Decision` (`.to_json()` is `gridbot classify --json`).
- `load_classifier(config_dir)` — cached per directory, rebuilt when a file changes.

Rule sets as data (for the console's drafts and replays)::

    catalogue, rules = load_classifier(config_dir).to_data()  # plain dicts/lists
    rules["噪音扰民"].append({"id": "noise-drill", "keywords": ["电钻"], "weight": 1.5})
    draft = Classifier.from_data(catalogue, rules)             # validated, raises RuleConfigError
    draft.classify("楼上电钻响个不停").to_json()
    write_config(out_dir, catalogue, rules)                    # the same YAML files as config/
    stored = draft.to_dict()                                   # {"catalogue": ..., "rules": ...}, JSON-able
    Classifier.from_dict(stored)                               # e.g. a RuleSetVersion.data row

`rules` maps a category name to its list of rule mappings, exactly the `rules:` list of
`config/rules/<category>.yaml`. A rule has one of `keywords` (any term), `all`
(co-occurrence; an item may list alternatives as `a|b`), `fuzzy` (rapidfuzz partial ratio
≥ `threshold`, 0–100) or `exclude` (masks that category's hits it overlaps and subtracts
`weight`), plus optional `id`, `weight`, `priority` (a fired rule of higher priority ranks
its category first), `homophones` (keywords also match by toneless pinyin: 拉圾 for 垃圾)
and `note`. A bad rule raises `RuleConfigError` naming the file, the rule and the field.

Tools over a rule set: `evaluate` (accuracy, macro-F1, confusions), `learn_rules` (chi-square
ranked, log-odds weighted terms per label), `lint` (duplicate, shadowed, shared and unused
rules); the command line is `bot/cli/rules.py`.
"""

from handlers.classify._catalogue import Attribute, Catalogue, Category, Clock
from handlers.classify._engine import Candidate, Classifier, Decision
from handlers.classify._errors import RuleConfigError
from handlers.classify._evaluate import (NO_CATEGORY, Example, evaluate, predicted_label, read_examples, scores, write_errors)
from handlers.classify._learn import LearnOptions, learn_rules
from handlers.classify._lint import Finding, lint, stored_texts
from handlers.classify._loader import load_classifier
from handlers.classify._normalise import chinese_number, normalise, to_simplified
from handlers.classify._rules import Rule, read_config, write_config

__all__ = [
    "NO_CATEGORY", "Attribute", "Candidate", "Catalogue", "Category", "Classifier", "Clock", "Decision", "Example", "Finding",
    "LearnOptions", "Rule", "RuleConfigError", "chinese_number", "evaluate", "learn_rules", "lint", "load_classifier",
    "normalise", "predicted_label", "read_config", "read_examples", "scores", "stored_texts", "to_simplified",
    "write_config", "write_errors",
]
