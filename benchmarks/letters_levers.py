"""Levers for the letters model, scored fold by fold on the training letters (issue 14, eleventh and twelfth rounds).

    .venv/bin/python benchmarks/letters_levers.py cache --seeds 0,1,2,3,4,5       # ~60 s CPU a seed
    .venv/bin/python benchmarks/letters_levers.py levers --seeds 0,1,2,3,4,5 [--only NAME,…]
    .venv/bin/python benchmarks/letters_levers.py selftrain --seeds 0,1,2,3,4,5 --taus 0.9,0.7,0.5

`cache` keeps, per seed and fold of `dev_hybrid.fold_classifiers(4, seed)`, the fold's training examples, its held
letters and `fit_long_weights.letter_matrices` of them (in --folds-dir). A lever replaces the letters model's column
by a model trained on the fold's long examples (≥ LONG normalised characters) its way; `fit_long_weights.fit` is then
fitted on three folds' letters and scored (top guess) on the fourth: an honest dev estimate, no held-out row read.
`shipped` reproduces the shipped letters model's column (TF-IDF of `_model.features` + LinearSVC, C 2), so the
other rows differ only in what they name. `selftrain` is the transductive proxy: each fold's held letters,
pseudo-labelled by the weighed score fitted on the other three folds (no held label read), join that fold's letters
model when their top probability is τ or more. Never feed it ../shared/data/citizen-messages-unlabelled.csv: it
holds the labelled file's held-out test letters' texts.
"""

from __future__ import annotations

import argparse
import logging
import pickle
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.dev_hybrid import fold_classifiers  # noqa: E402
from benchmarks.fit_long_weights import DEPARTMENTS, fit, letter_matrices, right_at_top, scores  # noqa: E402
from handlers.classify._evaluate import DEPARTMENT_LABEL  # noqa: E402
from handlers.classify._model import LETTERS_OPTIONS, features  # noqa: E402
from handlers.classify._normalise import normalise  # noqa: E402

LONG = 60  # the letters model's examples: at least this many normalised characters
L2, CAP = 0.001, 3.0  # fit_long_weights' defaults
LETTERS_SOURCE = "citizen-letters"
Fold = dict


def cache(seed: int, folds_dir: Path) -> None:
    """Keep what the simulation needs of each fold of `seed` (one pickle a seed)."""
    shipped = yaml.safe_load((REPO / "config" / "catalogue.yaml").read_text(encoding="utf-8"))
    folds = []
    for held, classifier in fold_classifiers(4, seed, shipped):
        letters = [item.scored for item in held if item.kind == "letters"]
        folds.append({"letters": letters, "examples": classifier.examples(), "classes": classifier.model.classes,
                      "departments": classifier._departments, "matrices": letter_matrices(classifier, letters)})
    (folds_dir / f"seed{seed}.pkl").write_bytes(pickle.dumps(folds))


def _load(seed: int, folds_dir: Path) -> list[Fold]:
    return pickle.loads((folds_dir / f"seed{seed}.pkl").read_bytes())


def _groups(folds: list[Fold]) -> tuple[np.ndarray, int]:
    """fit_long_weights' bias groups: one per category labelling a letter, one shared by the departments."""
    labels = {letter.label for fold in folds for letter in fold["letters"]}
    names = [name for name in folds[0]["classes"] if name in labels] + [DEPARTMENTS]
    groups = [names.index(DEPARTMENTS) if department else names.index(name) if name in names else -1
              for name, department in zip(folds[0]["classes"], folds[0]["departments"])]
    return np.array(groups), len(names)


def estimate(folds: list[Fold], parts: list[tuple]) -> float:
    """Top-guess accuracy of the weighed score, each fold scored by the fit on the other three."""
    groups, count = _groups(folds)
    scored = [right_at_top(fit([p for j, p in enumerate(parts) if j != i], groups, count, L2, CAP), groups, part, CAP)
              for i, part in enumerate(parts)]
    return float(np.concatenate(scored).mean())


def _long_examples(fold: Fold) -> list[tuple[str, str, str]]:
    normalised = ((normalise(e["text"]), e["label"], e.get("source", "")) for e in fold["examples"])
    return [example for example in normalised if len(example[0]) >= LONG]


def _chars(text: str) -> list[str]:
    return features(text, LETTERS_OPTIONS)


def _words_and_chars(text: str) -> list[str]:
    import jieba
    jieba.setLogLevel(logging.WARNING)
    return _chars(text) + ["w:" + word for word in jieba.lcut(text)]


def _decisions(texts: list[str], labels: list[str], held: list[str], analyzer: Callable[[str], list[str]],
               weights: np.ndarray | None) -> tuple[list[str], np.ndarray]:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC
    vectorizer = TfidfVectorizer(analyzer=analyzer, min_df=2, sublinear_tf=True, lowercase=False)
    svm = LinearSVC(C=2.0, tol=1e-3, max_iter=15, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # max_iter as the shipped model's
        svm.fit(vectorizer.fit_transform(texts), labels, sample_weight=weights)
    return [str(c) for c in svm.classes_], svm.decision_function(vectorizer.transform(held))


def letters_column(fold: Fold, analyzer: Callable[[str], list[str]] = _chars, department_weight: float = 1.0,
                   merged: bool = False, real_weight: float = 1.0, extra: list[tuple[str, str, str]] = ()) -> np.ndarray:
    """The fold's held letters' letters-model logits (held × the classifier's classes), trained the lever's way."""
    examples = _long_examples(fold) + list(extra)
    departments = {name for name, department in zip(fold["classes"], fold["departments"]) if department}
    labels = [DEPARTMENT_LABEL if merged and label in departments else label for _, label, _ in examples]
    weights = np.array([(department_weight if label in departments else 1.0)
                        * (real_weight if source == LETTERS_SOURCE else 1.0) for _, label, source in examples])
    held = [normalise(letter.text) for letter in fold["letters"]]
    classes, logits = _decisions([text for text, _, _ in examples], labels, held, analyzer, weights)
    index = {name: i for i, name in enumerate(classes)}
    lowest = logits.min(axis=1)  # a class the model never saw
    merged_column = logits[:, index[DEPARTMENT_LABEL]] if merged else None
    columns = [merged_column if merged and department else logits[:, index[name]] if name in index else lowest
               for name, department in zip(fold["classes"], fold["departments"])]
    return np.stack(columns, axis=1)


def _with_column(part: tuple, column: np.ndarray) -> tuple:
    return tuple(part[:7]) + (column,)


LEVERS: dict[str, dict] = {
    "shipped": {},
    "jieba words + chars": {"analyzer": _words_and_chars},
    "department letters x2": {"department_weight": 2.0},
    "departments merged": {"merged": True},
    "real letters x2": {"real_weight": 2.0},
}


def _pseudo_labelled(folds: list[Fold], i: int, tau: float) -> list[tuple[str, str, str]]:
    """Fold i's held letters whose weighed score (fitted on the other folds) is at least `tau` sure, with its top."""
    groups, count = _groups(folds)
    parts = [fold["matrices"] for fold in folds]
    params = fit([p for j, p in enumerate(parts) if j != i], groups, count, L2, CAP)
    blocked, urgent = parts[i][2], parts[i][3]
    weighed = np.where(blocked, -1e9, scores(params, groups, parts[i], CAP))
    probabilities = np.exp(weighed - weighed.max(axis=1, keepdims=True))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    top = np.where(urgent >= 0, urgent, probabilities.argmax(axis=1))
    return [(normalise(letter.text[:250]), folds[i]["classes"][top[k]], "pseudo")
            for k, letter in enumerate(folds[i]["letters"]) if probabilities[k].max() >= tau]


def _row(name: str, figures: list[float], started: float) -> str:
    return (f"{name}: {' / '.join(f'{x:.4f}' for x in figures)}  mean {np.mean(figures):.4f}"
            f"  ({time.process_time() - started:.0f} s CPU)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("cache", "levers", "selftrain"))
    parser.add_argument("--seeds", default="0,1,2,3,4,5")
    parser.add_argument("--folds-dir", type=Path, default=Path("/tmp/gridbot-letters-folds"))
    parser.add_argument("--only", default=",".join(LEVERS), help="Levers to score, by name.")
    parser.add_argument("--taus", default="0.9,0.7,0.5")
    options = parser.parse_args()
    seeds = [int(seed) for seed in options.seeds.split(",")]
    options.folds_dir.mkdir(parents=True, exist_ok=True)
    started = time.process_time()
    if options.command == "cache":
        for seed in seeds:
            cache(seed, options.folds_dir)
        print(f"cached seeds {options.seeds} in {options.folds_dir} ({time.process_time() - started:.0f} s CPU)")
    elif options.command == "levers":
        for name in options.only.split(","):
            figures = [estimate(folds, [_with_column(f["matrices"], letters_column(f, **LEVERS[name])) for f in folds])
                       for folds in (_load(seed, options.folds_dir) for seed in seeds)]
            print(_row(name, figures, started), flush=True)
    else:
        for tau in (float(t) for t in options.taus.split(",")):
            figures = []
            for folds in (_load(seed, options.folds_dir) for seed in seeds):
                figures.append(estimate(folds, [_with_column(f["matrices"],
                                                             letters_column(f, extra=_pseudo_labelled(folds, i, tau)))
                                                for i, f in enumerate(folds)]))
            print(_row(f"self-training τ {tau}", figures, started), flush=True)


if __name__ == "__main__":
    main()
