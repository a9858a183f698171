"""Classification of resident text into the matter catalogue, with an explanation.

Public surface:
- `normalise(text)` — the canonical text every rule sees (OpenCC t2s, NFKC, casefold,
  Cantonese words, numerals before 栋/单元/室 as digits, noise removed, repeats collapsed).
- `Catalogue` / `Category` / `Clock` / `Attribute` — `config/catalogue.yaml`.
- `Classifier.classify(text) -> Decision` (`.to_json()` is `gridbot classify --json`): rules
  beside a learned model (see `_engine` for who decides when); `decision.ranking` and
  `Classifier.rank(text)` give the model's calibrated probability of every category (`无` = not
  a report), `decision.model_features()` the character n-grams that weighed most (`kind` `opening`: from a long
  text's opening block).
  A chat message's model reads it with homophone typos corrected (`_spell`; `rank` reads the text as written),
  and a chat message telling two matters is asked with both among the choices (`two_matters`).
- `explain_decision(decision.to_json(), classifier) -> Explanation` — who won and why, for a person:
  the winner's rules first, the other categories' rules apart, the model's confidence.
- `Classifier.with_examples([{"text", "label"}])` — the same rules, the model retrained with
  more labelled examples (e.g. corrections); `classifier.examples()` lists the current ones.
- `load_classifier(config_dir)` — cached per directory, rebuilt when a file changes.

Rule sets as data (for the console's drafts and replays)::

    catalogue, rules = load_classifier(config_dir).to_data()  # plain dicts/lists
    rules["噪音扰民"].append({"id": "noise-drill", "keywords": ["电钻"], "weight": 1.5})
    draft = Classifier.from_data(catalogue, rules)             # validated, raises RuleConfigError
    draft.classify("楼上电钻响个不停").to_json()
    write_config(out_dir, catalogue, rules)                    # the same YAML files as config/
    stored = draft.to_dict()                                   # {"catalogue", "rules", "examples"}, JSON-able
    Classifier.from_dict(stored)                               # e.g. a RuleSetVersion.data row

Labelled examples are data too: `config/examples/*.csv` (`text,label`), in a rule set a list of
`{"text", "label", "source"}` (`Classifier.from_data(..., examples=...)`, `write_config(..., examples)`);
the model is trained from them when the classifier is built (memoised on the examples).

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
from handlers.classify._evaluate import (
                                        DEPARTMENT_LABEL,
                                        NO_CATEGORY,
                                        Example,
                                        evaluate,
                                        outcome_figures,
                                        predicted_label,
                                        read_examples,
                                        same_matter,
                                        scores,
                                        write_errors,
)
from handlers.classify._examples import read_example_files
from handlers.classify._explain import CategoryRules, Explanation, FiredRule, explain_decision
from handlers.classify._learn import LearnOptions, learn_rules
from handlers.classify._lint import Finding, lint, stored_texts
from handlers.classify._loader import load_classifier
from handlers.classify._model import ModelOptions, TextModel
from handlers.classify._normalise import CAPITAL_NUMERALS, chinese_number, normalise, to_simplified
from handlers.classify._rules import Rule, read_config, write_config

__all__ = [
    "CAPITAL_NUMERALS", "DEPARTMENT_LABEL", "NO_CATEGORY", "Attribute", "Candidate", "Catalogue", "Category", "CategoryRules", "Classifier",
    "Clock", "Decision", "Example", "Explanation", "Finding", "FiredRule", "LearnOptions", "ModelOptions", "Rule", "RuleConfigError", "TextModel",
    "chinese_number",
    "evaluate", "explain_decision", "learn_rules", "lint", "load_classifier", "normalise", "outcome_figures", "predicted_label",
    "read_config", "read_example_files", "read_examples", "same_matter", "scores", "stored_texts", "to_simplified",
    "write_config", "write_errors",
]
