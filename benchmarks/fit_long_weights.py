"""Fit how a letter's rules and models are weighed together (issue 14, fourth and fifth rounds): the
catalogue's `long_scale`, `long_rules`, `long_title`, `long_signal`, `long_letters` and each category's
`long_bias`, from the training letters only.

    .venv/bin/python benchmarks/fit_long_weights.py [--seed 0] [--l2 0.001] [--cap 3]

The out-of-fold model, title-model and letters-model logits, rule scores and department signals of the 1,037
training letters come from `dev_hybrid.fold_classifiers` (4-fold CV, no held-out row read; the shipped catalogue
with `long_title` and `long_letters` set, so that each fold trains its title and letters models). A category's
weighed score is scale x logit + rules x min(rule score, cap) + title x title logit + signal x ln(1 + department
signals found, departments only) + letters x letters-model logit + bias (the `Classifier._weighed` formula); the
parameters minimise the log-loss of the gold label (非网格事项: any department) with an L2 penalty on the biases. Biases: one per
grid category that labels training letters, one shared by every department; the categories no letter
can carry (the annotators had no 食品安全, 安全生产 or 居民诉求-其他) keep 0. Prints the top-guess accuracy of the fit scored fold by fold (fitted on the
other three folds' letters: an honest estimate), then the parameters fitted on all folds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.dev_hybrid import fold_classifiers  # noqa: E402
from handlers.classify._engine import _voted  # noqa: E402
from handlers.classify._evaluate import DEPARTMENT_LABEL  # noqa: E402
from handlers.classify._model import title  # noqa: E402
from handlers.classify._normalise import normalise  # noqa: E402

DEPARTMENTS = "departments"
FIXED = 5  # scale, rules, title, signal, letters; then the biases


def letter_matrices(classifier, letters) -> tuple[np.ndarray, ...]:
    """(logits, rule scores, blocked, urgent class or -1, right, title logits, signals, letters-model logits) of
    `letters`, classes in the model's order (signals: ln(1 + department signals found) in the department columns)."""
    classes, catalogue = classifier.model.classes, classifier.catalogue
    column = {name: i for i, name in enumerate(classes)}
    size = (len(letters), len(classes))
    logits, rules, blocked, right = np.zeros(size), np.zeros(size), np.zeros(size, bool), np.zeros(size, bool)
    titles, signals, voted = np.zeros(size), np.zeros(size), np.zeros(size)
    departments = np.array(classifier._departments, dtype=float)
    urgent = np.full(len(letters), -1)
    none = [0.0] * len(classes)
    for i, example in enumerate(letters):
        normalised = normalise(example.text)
        logits[i] = classifier.model.logits(normalised)
        if classifier.title_model is not None:
            titles[i] = _voted(none, 1.0, classifier.title_model, normalise(title(example.text)),
                               classifier._title_columns)
        if classifier.letters_model is not None:
            voted[i] = _voted(none, 1.0, classifier.letters_model, normalised, classifier._letters_columns)
        if classifier._signals is not None:
            signals[i] = departments * np.log1p(len(classifier._signals.findall(normalised)))
        tallies = classifier._score(normalised)
        ruled = classifier._rules_decision(normalised, tallies)
        if ruled.outcome == "match" and tallies[ruled.category].priority > 0:
            urgent[i] = column[ruled.category]
        for name, tally in tallies.items():
            if name in column:
                rules[i, column[name]] = max(tally.score, 0.0)
                blocked[i, column[name]] = any(f.rule.kind == "exclude" for f in tally.fired)
        blocked[i, column["无"]] = True
        for name, j in column.items():
            right[i, j] = (name in catalogue and not catalogue.get(name).grid_matter) \
                if example.label == DEPARTMENT_LABEL else name == example.label
    return logits, rules, blocked, urgent, right, titles, signals, voted


def scores(params: np.ndarray, groups: np.ndarray, part: tuple, cap: float) -> np.ndarray:
    logits, rules, _, _, _, titles, signals, voted = part
    biases = np.append(params[FIXED:], 0.0)[groups]  # group -1: no bias
    return (params[0] * logits + params[1] * np.minimum(rules, cap) + params[2] * titles + params[3] * signals
            + params[4] * voted + biases)


def fit(parts: list[tuple], groups: np.ndarray, count: int, l2: float, cap: float) -> np.ndarray:
    from scipy.optimize import minimize

    def loss(params: np.ndarray) -> float:
        total = rows = 0.0
        for part in parts:
            blocked, right = part[2], part[4]
            s = np.where(blocked, -1e9, scores(params, groups, part, cap))
            s -= s.max(axis=1, keepdims=True)
            total += float((np.log(np.exp(s).sum(1)) - np.log((np.exp(s) * right).sum(1) + 1e-12)).sum())
            rows += len(blocked)
        return total / rows + l2 * float((params[FIXED:] ** 2).sum())

    start = np.concatenate([[1.0, 0.5, 0.0, 0.0, 0.0], np.zeros(count)])
    return minimize(loss, start, method="L-BFGS-B").x


def right_at_top(params, groups, part, cap) -> np.ndarray:
    blocked, urgent, right = part[2], part[3], part[4]
    top = np.where(blocked, -1e9, scores(params, groups, part, cap)).argmax(1)
    top = np.where(urgent >= 0, urgent, top)  # an emergency rule's match stands
    return right[np.arange(len(top)), top]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--l2", type=float, default=0.001)
    parser.add_argument("--cap", type=float, default=3.0)
    args = parser.parse_args()
    parts, classes, catalogue, labels = [], None, None, set()
    shipped = yaml.safe_load((REPO / "config" / "catalogue.yaml").read_text(encoding="utf-8"))
    for key in ("long_title", "long_letters"):  # train the title and letters models
        shipped["decision"][key] = shipped["decision"].get(key) or 1.0
    for held, classifier in fold_classifiers(4, args.seed, shipped):
        letters = [item.scored for item in held if item.kind == "letters"]
        assert classes in (None, classifier.model.classes)
        classes, catalogue = classifier.model.classes, classifier.catalogue
        labels |= {example.label for example in letters}
        parts.append(letter_matrices(classifier, letters))
    names = [name for name in classes if name in labels] + [DEPARTMENTS]
    groups = np.array([names.index(DEPARTMENTS) if name in catalogue and not catalogue.get(name).grid_matter
                       else names.index(name) if name in names else -1 for name in classes])
    scored = [right_at_top(fit([p for j, p in enumerate(parts) if j != i], groups, len(names), args.l2, args.cap),
                           groups, part, args.cap) for i, part in enumerate(parts)]
    plain = np.zeros(FIXED + len(names))
    plain[0] = 1.0
    print(f"letters, top guess, fold by fold: weighed {np.concatenate(scored).mean():.4f}, model alone "
          f"{np.concatenate([right_at_top(plain, groups, p, args.cap) for p in parts]).mean():.4f}")
    params = fit(parts, groups, len(names), args.l2, args.cap)
    print(f"long_scale: {params[0]:.2f}, long_rules: {params[1]:.2f}, long_rule_cap: {args.cap:g}, "
          f"long_title: {params[2]:.2f}, long_signal: {params[3]:.2f}, long_letters: {params[4]:.2f}")
    for name, bias in zip(names, params[FIXED:]):
        print(f"  {name}: long_bias {bias:.2f}")


if __name__ == "__main__":
    main()
