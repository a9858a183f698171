"""The learned half of the classifier: a linear model over character n-grams and jieba words.

Trained from labelled examples (`config/examples/*.csv`) in seconds: TF-IDF features
(sublinear tf, L2 norm) of the normalised text, a `LinearSVC` per class, and one softmax
temperature fitted on the scores of a held-out third so that its probabilities are
calibrated (a probability of 0.8 is right about 8 times in 10). Features are character
1-3-grams and words: the words jieba cuts from the training texts, found again in any text
by Aho-Corasick (segmenting every message with jieba would cost ~100 µs). Scoring one
message skips scikit-learn: one Aho-Corasick pass over the whole vocabulary finds its
features, whose weight rows are summed.

Examples labelled `无` (NO_CATEGORY) teach the model what is not a report (greetings, chit-chat).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import tempfile
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import ahocorasick
import numpy as np

NONE_LABEL = "无"  # the class of texts that are no report at all (same as evaluate's NO_CATEGORY)
_WORD = "w:"  # prefix that keeps jieba words apart from character n-grams


class Candidate(NamedTuple):
    """A category and its score (rule score, or the model's probability)."""

    category: str
    score: float


@dataclass(frozen=True)
class ModelOptions:
    """Training parameters (chosen by cross-validation on the training examples only)."""

    ngrams: tuple[int, int] = (1, 3)
    words: bool = True
    min_df: int = 2
    c: float = 1.0
    balanced: bool = False  # class weights inverse to class frequency (worse in cross-validation)
    folds: int = 3  # 1/folds of the examples held out to fit the temperature (0: no calibration)
    tol: float = 1e-3  # LinearSVC stopping tolerance (1e-4 costs ~35 % more time, same accuracy)
    seed: int = 0


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def jieba_words(texts: Iterable[str]) -> set[str]:
    """The words of 2+ characters jieba cuts from `texts`."""
    cut = _jieba().lcut
    return {word for text in texts for word in cut(text, HMM=False) if len(word) >= 2}


def word_finder(words: Iterable[str]) -> ahocorasick.Automaton | None:
    """An automaton that finds every occurrence of `words` in a text."""
    automaton = ahocorasick.Automaton()
    for word in words:
        automaton.add_word(word, _WORD + word)
    if len(automaton) == 0:
        return None
    automaton.make_automaton()
    return automaton


def features(normalised: str, options: ModelOptions, words: ahocorasick.Automaton | None) -> list[str]:
    """Character n-grams and the known words found in a normalised text."""
    low, high = options.ngrams
    grams = [normalised[i:i + n] for n in range(low, high + 1) for i in range(len(normalised) - n + 1)]
    if words is not None and options.words:
        grams.extend(word for _, word in words.iter(normalised))
    return grams


class TextModel:
    """A trained model: vocabulary, idf, weight matrix (features x classes), bias, temperature."""

    def __init__(self, classes: list[str], vocabulary: dict[str, int], idf: np.ndarray, weights: np.ndarray,
                 bias: np.ndarray, temperature: float, options: ModelOptions) -> None:
        self.classes = classes
        self._columns = {name: column for column, name in enumerate(classes)}
        self.vocabulary = vocabulary
        self._finder = _vocabulary_finder(vocabulary)
        self.idf = idf
        self.weights = weights
        self.bias = bias
        self.temperature = temperature
        self.options = options
        self._names: list[str] | None = None

    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[str], options: ModelOptions = ModelOptions()) -> TextModel:
        """Fit on normalised `texts` with their `labels` (at least two distinct labels)."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        finder = word_finder(jieba_words(texts)) if options.words else None
        analysed = [features(text, options, finder) for text in texts]
        vectorizer = TfidfVectorizer(analyzer=lambda grams: grams, sublinear_tf=True, min_df=options.min_df,
                                     dtype=np.float64)
        matrix = vectorizer.fit_transform(analysed)
        labels = np.asarray(labels)
        svm = _fit(matrix, labels, options)
        temperature = _temperature(matrix, labels, options) if options.folds >= 2 else 1.0
        classes = [str(c) for c in svm.classes_]
        weights, bias = _weights(svm, len(classes))
        return cls(classes, {str(k): int(v) for k, v in vectorizer.vocabulary_.items()}, vectorizer.idf_,
                   weights, bias, temperature, options)

    def _vector(self, normalised: str) -> tuple[np.ndarray, np.ndarray]:
        """(feature rows, L2-normalised sublinear tf-idf values) of a text: one Aho-Corasick pass
        over the vocabulary finds every n-gram and word occurrence (the same counts as `features`)."""
        counts = Counter(row for _, rows in self._finder.iter(normalised) for row in rows) \
            if self._finder is not None else Counter()
        if not counts:
            return np.zeros(0, dtype=np.intp), np.zeros(0)
        rows = np.fromiter(counts.keys(), dtype=np.intp, count=len(counts))
        values = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * self.idf[rows]
        return rows, values / math.sqrt(float(values @ values))

    def scores(self, normalised: str) -> np.ndarray:
        """The raw decision score of every class (in `classes` order)."""
        rows, values = self._vector(normalised)
        return values @ self.weights[rows] + self.bias if len(rows) else self.bias.copy()

    def probabilities(self, normalised: str) -> dict[str, float]:
        """Calibrated probability of every class, summing to 1."""
        return dict(zip(self.classes, _softmax(self.scores(normalised) * self.temperature).tolist()))

    def ranking(self, normalised: str, blocked: Iterable[str] = (), top: int | None = None) -> list:
        """`Candidate`s of the `top` (default all) most probable classes, leaving out `blocked`
        classes (the other probabilities renormalised to sum to 1)."""
        probabilities = _softmax(self.scores(normalised) * self.temperature)
        for name in blocked:
            column = self._columns.get(name)
            if column is not None:
                probabilities[column] = 0.0
        probabilities /= probabilities.sum() or 1.0
        order = np.argsort(-probabilities)[:top]
        classes = self.classes
        return [Candidate(classes[i], float(probabilities[i])) for i in order if probabilities[i] > 0]

    def explain(self, normalised: str, label: str, top: int = 5) -> list[dict]:
        """The features that weighed most for `label` (feature, contribution to its score)."""
        if label not in self.classes:
            return []
        column = self.classes.index(label)
        rows, values = self._vector(normalised)
        contributions = values * self.weights[rows, column] if len(rows) else np.zeros(0)
        order = np.argsort(-contributions)[:top]
        names = self._feature_names()
        return [{"feature": names[rows[i]].removeprefix(_WORD),
                 "kind": "word" if names[rows[i]].startswith(_WORD) else "chars",
                 "weight": round(float(contributions[i]), 3)}
                for i in order if contributions[i] > 0]

    def _feature_names(self) -> list[str]:
        if self._names is None:
            names = [""] * len(self.vocabulary)
            for gram, row in self.vocabulary.items():
                names[row] = gram
            self._names = names
        return self._names


def _vocabulary_finder(vocabulary: dict[str, int]) -> ahocorasick.Automaton | None:
    """An automaton from each vocabulary string (n-gram or word) to its feature rows."""
    rows: dict[str, list[int]] = {}
    for gram, row in vocabulary.items():
        rows.setdefault(gram.removeprefix(_WORD), []).append(row)
    automaton = ahocorasick.Automaton()
    for text, found in rows.items():
        automaton.add_word(text, tuple(found))
    if len(automaton) == 0:
        return None
    automaton.make_automaton()
    return automaton


def _fit(matrix, labels: np.ndarray, options: ModelOptions):
    from sklearn.svm import LinearSVC

    return LinearSVC(C=options.c, class_weight="balanced" if options.balanced else None, tol=options.tol,
                     random_state=options.seed).fit(matrix, labels)


def _weights(svm, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(features x classes weights, bias); a two-class SVM has one row, expanded to +/- columns."""
    coef = svm.coef_.toarray() if hasattr(svm.coef_, "toarray") else np.asarray(svm.coef_)
    bias = np.asarray(svm.intercept_, dtype=np.float64)
    if count == 2:
        coef = np.vstack([-coef[0], coef[0]]) / 2
        bias = np.array([-bias[0], bias[0]]) / 2
    return np.ascontiguousarray(coef.T), bias


def _temperature(matrix, labels: np.ndarray, options: ModelOptions) -> float:
    """The softmax temperature minimising the log-loss of SVM scores on a held-out third
    (stratified; one extra fit on the other two thirds)."""
    from sklearn.model_selection import StratifiedShuffleSplit

    counts = Counter(labels.tolist())
    if len(counts) < 2 or min(counts.values()) < 2 or len(labels) < 3 * len(counts):
        return 1.0
    classes = sorted(counts)
    index = {label: i for i, label in enumerate(classes)}
    splitter = StratifiedShuffleSplit(n_splits=1, test_size=max(1 / options.folds, len(classes) / len(labels)),
                                      random_state=options.seed)
    train, test = next(splitter.split(np.zeros(len(labels)), labels))
    svm = _fit(matrix[train], labels[train], options)
    if len(svm.classes_) < 2:
        return 1.0
    weights, bias = _weights(svm, len(svm.classes_))
    scores = np.full((len(test), len(classes)), -10.0)
    scores[:, [index[str(c)] for c in svm.classes_]] = matrix[test] @ weights + bias
    gold = np.array([index[label] for label in labels[test].tolist()])
    grid = np.exp(np.linspace(np.log(0.5), np.log(50.0), 60))
    losses = [_log_loss(scores * t, gold) for t in grid]
    return float(grid[int(np.argmin(losses))])


def _log_loss(scores: np.ndarray, gold: np.ndarray) -> float:
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    return float(np.mean(log_norm - shifted[np.arange(len(gold)), gold]))


def _softmax(scores: np.ndarray) -> np.ndarray:
    exp = np.exp(scores - scores.max())
    return exp / exp.sum()


_trained: OrderedDict[str, TextModel] = OrderedDict()
_train_lock = threading.Lock()
_CACHE_SIZE = 4
_FORMAT = 2  # bump when the features or the file layout change


def cache_dir() -> Path:
    """Where trained models are kept between processes (GRIDBOT_MODEL_CACHE, else the temp dir)."""
    return Path(os.environ.get("GRIDBOT_MODEL_CACHE") or Path(tempfile.gettempdir()) / "gridbot-models")


def _save(model: TextModel, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    with partial.open("wb") as handle:
        np.savez(handle, classes=np.array(model.classes), names=np.array(model._feature_names()), idf=model.idf,
                 weights=model.weights, bias=model.bias, temperature=np.array(model.temperature))
    partial.replace(path)


def _load(path: Path, options: ModelOptions) -> TextModel | None:
    try:
        with np.load(path, allow_pickle=False) as stored:
            names = stored["names"].tolist()
            return TextModel(stored["classes"].tolist(), {name: row for row, name in enumerate(names)},
                             stored["idf"], stored["weights"], stored["bias"], float(stored["temperature"]), options)
    except (OSError, ValueError, KeyError):
        return None


def cached_model(texts: Sequence[str], labels: Sequence[str], options: ModelOptions = ModelOptions()) -> TextModel:
    """`TextModel.train`, memoised on the examples and options: in memory (drafts and the live rule
    set share a model) and on disk under `cache_dir()` (a restart or another worker loads it in ~0.1 s)."""
    digest = hashlib.sha256(json.dumps([_FORMAT, list(texts), list(labels), repr(options)], ensure_ascii=False)
                            .encode("utf-8")).hexdigest()
    with _train_lock:
        model = _trained.get(digest)
        if model is None:
            path = cache_dir() / f"model-{digest[:32]}.npz"
            model = _load(path, options) if path.is_file() else None
            if model is None:
                model = TextModel.train(texts, labels, options)
                try:
                    _save(model, path)
                except OSError as error:
                    logging.getLogger(__name__).warning("model not cached at %s: %s", path, error)
            _trained[digest] = model
            while len(_trained) > _CACHE_SIZE:
                _trained.popitem(last=False)
        _trained.move_to_end(digest)
        return model
