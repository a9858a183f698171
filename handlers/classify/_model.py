"""The learned half of the classifier: a linear model over character n-grams.

Trained from labelled examples (`config/examples/*.csv`) in seconds: TF-IDF features
(sublinear tf, L2 norm, smooth idf as scikit-learn computes them) of the character 1-3-grams of
the normalised text (a long text's opening, its first `opening` characters, a second time as a
feature block of its own), a `LinearSVC` per class, and one softmax temperature fitted on the scores
of a held-out third so that its probabilities are calibrated (a probability of 0.8 is right
about 8 times in 10). Words (jieba) were dropped: in cross-validation on the training data they
added nothing over the n-grams and cost most of the retraining time. Scoring one message skips
scikit-learn: its n-grams are looked up in the vocabulary and their weight rows summed.

Examples labelled `无` (NO_CATEGORY) teach the model what is not a report (greetings, chit-chat).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import re
import tempfile
import threading
import warnings
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, count
from pathlib import Path
from typing import NamedTuple

import numpy as np

NONE_LABEL = "无"  # the class of texts that are no report at all (same as evaluate's NO_CATEGORY)


class Candidate(NamedTuple):
    """A category and its score (rule score, or the model's probability)."""

    category: str
    score: float


@dataclass(frozen=True)
class ModelOptions:
    """Training parameters (chosen by cross-validation on the training data only,
    `benchmarks/dev_hybrid.py`)."""

    ngrams: tuple[int, int] = (1, 3)
    # A text longer than this many characters also gets the n-grams of its first `opening` characters
    # as a separate feature block (long letters were labelled from their title and opening; a chat
    # message is shorter and keeps one block). 0: no opening block.
    opening: int = 50
    min_df: int = 2
    c: float = 2.0  # SVM regularisation (2 beat 0.5 and 1 in cross-validation)
    balanced: bool = False  # class weights inverse to class frequency (worse in cross-validation)
    folds: int = 3  # 1/folds of the examples held out to fit the temperature (0: no calibration)
    tol: float = 1e-3  # LinearSVC stopping tolerance
    max_iter: int = 15  # LinearSVC passes at most (the same dev figures as running to `tol`, which takes ~45)
    seed: int = 0


OPENING_MARK = "^"  # prefixes an opening n-gram (normalised text holds no punctuation, so no clash)

# The title model (`Classifier` with the catalogue's `long_title`): trained on a long example's title (`title`)
# and a short example's text, one n-gram block, uncalibrated (its weight in a letter's score is fitted instead).
TITLE_OPTIONS = ModelOptions(opening=0, c=1.0, folds=0)
# The letters model (`Classifier` with the catalogue's `long_letters`): trained on the long examples alone (letters
# have another vocabulary and label balance than chat), one n-gram block (an opening block as well trained twice as
# long for the same dev figure), uncalibrated (its weight in a letter's score is fitted instead).
LETTERS_OPTIONS = ModelOptions(opening=0, folds=0)
_TITLE_END = re.compile(r"[。！？!?\s]")
TITLE_MIN, TITLE_FALLBACK = 6, 40


def title(text: str) -> str:
    """A letter's title, from its raw text (punctuation kept): the text before its first sentence end or
    whitespace (the letters are "title。body" or "title body"); the first `TITLE_FALLBACK` characters when that
    is shorter than `TITLE_MIN` characters (no title)."""
    end = _TITLE_END.search(text)
    return text[:end.start()] if end is not None and end.start() >= TITLE_MIN else text[:TITLE_FALLBACK]


def features(normalised: str, options: ModelOptions = ModelOptions()) -> list[str]:
    """The character n-grams of a normalised text (every occurrence), then, for a text longer than
    `options.opening`, those of its opening marked with `OPENING_MARK`."""
    grams = _grams(normalised, options.ngrams)
    if options.opening and len(normalised) > options.opening:
        grams += [OPENING_MARK + gram for gram in _grams(normalised[:options.opening], options.ngrams)]
    return grams


def _grams(text: str, ngrams: tuple[int, int]) -> list[str]:
    low, high = ngrams
    size = len(text)
    return [text[i:i + n] for n in range(low, high + 1) for i in range(size - n + 1)]


def _known_rows(lookup, text: str, low: int, high: int) -> list[int]:
    """`lookup` of every n-gram of `text` in `_grams` order, the misses (None) left out."""
    size = len(text)
    return [row for n in range(low, high + 1) for i in range(size - n + 1)
            if (row := lookup(text[i:i + n])) is not None]


def _idf(document_counts: np.ndarray, documents: int) -> np.ndarray:
    """Smooth idf, as scikit-learn's TfidfTransformer: ln((1 + n) / (1 + df)) + 1."""
    return np.log((1.0 + documents) / (1.0 + document_counts)) + 1.0


def _tfidf(texts: Sequence[str], options: ModelOptions):
    """(vocabulary, idf, L2-normalised sublinear tf-idf CSR matrix) of normalised `texts`; the
    n-grams found in fewer than `min_df` texts are left out (the same matrix as scikit-learn's
    TfidfVectorizer, built with one dictionary lookup per distinct n-gram of a text)."""
    from scipy.sparse import csr_matrix

    documents = [Counter(features(text, options)) for text in texts]
    ids: defaultdict[str, int] = defaultdict(count().__next__)  # every n-gram, numbered as first seen
    columns = np.fromiter(chain.from_iterable(map(ids.__getitem__, document) for document in documents),
                          dtype=np.intp)
    counts = np.fromiter(chain.from_iterable(document.values() for document in documents), dtype=np.float64,
                         count=len(columns))
    rows = np.repeat(np.arange(len(documents)), [len(document) for document in documents])
    frequency = np.bincount(columns, minlength=len(ids)).astype(np.float64)
    kept = frequency >= options.min_df
    renumbered = np.full(len(ids), -1, dtype=np.intp)
    renumbered[kept] = np.arange(int(kept.sum()))
    columns = renumbered[columns]
    known = columns >= 0
    columns, counts, rows = columns[known], counts[known], rows[known]
    vocabulary = {gram: row for row, gram in enumerate(np.array(list(ids), dtype=object)[kept].tolist())}
    idf = _idf(frequency[kept], len(documents))
    values = (1.0 + np.log(counts)) * idf[columns]
    values /= np.sqrt(np.bincount(rows, weights=values * values, minlength=len(documents)))[rows]
    return vocabulary, idf, csr_matrix((values, (rows, columns)), shape=(len(documents), len(vocabulary)))


class TextModel:
    """A trained model: vocabulary, idf, weight matrix (features x classes), bias, temperature."""

    def __init__(self, classes: list[str], vocabulary: dict[str, int], idf: np.ndarray, weights: np.ndarray,
                 bias: np.ndarray, temperature: float, options: ModelOptions) -> None:
        self.classes = classes
        self._columns = {name: column for column, name in enumerate(classes)}
        self.vocabulary = vocabulary
        self.idf = idf
        # One row per feature: its weight for every class times its idf, then its idf squared, so that
        # a text's scores and its tf-idf norm come from one row gather and one sum.
        self._table = np.ascontiguousarray(np.hstack([weights * idf[:, None], (idf * idf)[:, None]]))
        self.bias = bias
        self.temperature = temperature
        self._bias_floats = (bias * temperature).tolist()
        self.options = options
        self._names: list[str] | None = None
        self._last_counts: tuple[str, tuple[list[int], np.ndarray | None]] | None = None
        self._opening_rows = {gram[len(OPENING_MARK):]: row for gram, row in vocabulary.items()
                              if gram.startswith(OPENING_MARK)}

    @property
    def weights(self) -> np.ndarray:
        """The weight matrix (features x classes)."""
        return self._table[:, :-1] / self.idf[:, None]

    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[str], options: ModelOptions = ModelOptions()) -> TextModel:
        """Fit on normalised `texts` with their `labels` (at least two distinct labels)."""
        vocabulary, idf, matrix = _tfidf(texts, options)
        labels = np.asarray(labels)
        svm = _fit(matrix, labels, options)
        temperature = _temperature(matrix, labels, options) if options.folds >= 2 else 1.0
        classes = [str(c) for c in svm.classes_]
        weights, bias = _weights(svm, len(classes))
        return cls(classes, vocabulary, idf, weights, bias, temperature, options)

    def _counts(self, normalised: str) -> tuple[list[int], np.ndarray | None]:
        """(feature rows, their sublinear tf 1 + ln(count), or None when every count is 1) of a text,
        the rows in the order `features` first gives them. The last text's are kept: a decision's
        explanation (`explain`) asks again for the text just ranked."""
        last = self._last_counts
        if last is not None and last[0] == normalised:
            return last[1]
        rows = self._rows(normalised)
        if len(set(rows)) == len(rows):  # the common case in a chat message: no n-gram twice
            counted = rows, None
        else:
            counts = Counter(rows)
            counted = list(counts), 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))
        self._last_counts = (normalised, counted)
        return counted

    def _rows(self, normalised: str) -> list[int]:
        """The vocabulary rows of `features(normalised)` in order, n-grams outside the vocabulary left out
        (each n-gram sliced and looked up in one pass: no list of n-grams, no Counter, no OPENING_MARK
        prepended: the opening block has its own lookup table)."""
        low, high = self.options.ngrams
        rows = _known_rows(self.vocabulary.get, normalised, low, high)
        opening = self.options.opening
        if opening and len(normalised) > opening:
            rows += _known_rows(self._opening_rows.get, normalised[:opening], low, high)
        return rows

    def logits(self, normalised: str) -> list[float]:
        """The decision score of every class (in `classes` order, over the L2-normalised tf-idf
        vector) times the temperature: their softmax is the calibrated probability. Plain floats: at
        this size they are faster than numpy for the per-message arithmetic after the row gather."""
        rows, tf = self._counts(normalised)
        if not rows:
            return list(self._bias_floats)
        table = self._table.take(rows, axis=0)  # the same rows as `self._table[rows]`, gathered at half its cost
        if tf is None:
            raw = table.sum(axis=0).tolist()
            square = raw.pop()
        else:
            raw, square = (tf @ table[:, :-1]).tolist(), float((tf * tf) @ table[:, -1])
        scale = self.temperature / math.sqrt(square)
        return [value * scale + bias for value, bias in zip(raw, self._bias_floats)]

    def probabilities(self, normalised: str) -> dict[str, float]:
        """Calibrated probability of every class, summing to 1."""
        return dict(zip(self.classes, _softmax(np.array(self.logits(normalised))).tolist()))

    def ranking(self, normalised: str, blocked: Iterable[str] = (), top: int | None = None,
                weighed: tuple[float, Sequence[float]] | None = None) -> list:
        """`Candidate`s of the `top` (default all) most probable classes, leaving out `blocked`
        classes (the other probabilities renormalised to sum to 1). `weighed` = (scale, offsets): the
        logits are scaled and each class's offset (in `classes` order) added first (a letter's rules and priors)."""
        logits = self.logits(normalised)
        if weighed is not None:
            scale, offsets = weighed
            logits = [logit * scale + offset for logit, offset in zip(logits, offsets)]
        highest = max(logits)
        exp = math.exp
        weights = [exp(logit - highest) for logit in logits]
        for name in blocked:
            column = self._columns.get(name)
            if column is not None:
                weights[column] = 0.0
        total = sum(weights) or 1.0
        order = sorted(range(len(weights)), key=weights.__getitem__, reverse=True)[:top]
        classes = self.classes
        return [Candidate(classes[i], weights[i] / total) for i in order if weights[i] > 0]

    def explain(self, normalised: str, label: str, top: int = 5) -> list[dict]:
        """The features that weighed most for `label` (the n-gram, its kind — `chars`, or `opening` for
        the opening block of a long text — and its contribution to the score)."""
        if label not in self.classes:
            return []
        column = self.classes.index(label)
        rows, tf = self._counts(normalised)
        if not len(rows):
            return []
        tf = np.ones(len(rows)) if tf is None else tf
        contributions = tf * self._table[rows, column] / math.sqrt((tf * tf) @ self._table[rows, -1])
        order = np.argsort(-contributions)[:top]
        names = self._feature_names()
        return [_feature(names[rows[i]], float(contributions[i])) for i in order if contributions[i] > 0]

    def _feature_names(self) -> list[str]:
        if self._names is None:
            names = [""] * len(self.vocabulary)
            for gram, row in self.vocabulary.items():
                names[row] = gram
            self._names = names
        return self._names


def _feature(name: str, weight: float) -> dict:
    if name.startswith(OPENING_MARK):
        return {"feature": name[len(OPENING_MARK):], "kind": "opening", "weight": round(weight, 3)}
    return {"feature": name, "kind": "chars", "weight": round(weight, 3)}


def _fit(matrix, labels: np.ndarray, options: ModelOptions):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import LinearSVC

    svm = LinearSVC(C=options.c, class_weight="balanced" if options.balanced else None, tol=options.tol,
                    max_iter=options.max_iter, random_state=options.seed)
    with warnings.catch_warnings():  # stopping at max_iter before tol is the intended trade-off
        warnings.simplefilter("ignore", ConvergenceWarning)
        return svm.fit(matrix, labels)


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
_CACHE_SIZE = 8  # a rule set with a title model and a letters model holds three
_FORMAT = 4  # bump when the features or the file layout change


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
