"""`rules learn`: propose keyword rules per label from labelled text.

Candidate terms are jieba words and character 2-3-grams of the normalised text; a term's
document frequency is counted the way the engine matches (as a substring), terms are
ranked per label by chi-square and kept when positively associated, weighted by their
smoothed log-odds. The result is a catalogue + rule set in the config format.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import ahocorasick

from handlers.classify._evaluate import NO_CATEGORY, Example
from handlers.classify._normalise import normalise

_STOPWORDS = frozenset(
    "我们 你们 他们 这个 那个 什么 怎么 没有 已经 可以 因为 所以 但是 就是 还是 一个 希望 您好 你好 谢谢 请问 "
    "现在 这样 如果 这些 那些 自己 进行 目前 还有 时候 能够 要求 问题 情况 相关 有关 领导".split())


@dataclass(frozen=True)
class LearnOptions:
    per_label: int = 250  # terms kept per label (best macro-F1 in benchmarks/bench_classify.py)
    min_chi2: float = 0.0  # association a term needs (3.84: p < 0.05)
    min_df: int = 2  # documents of the label a term must appear in
    smoothing: float = 0.5
    max_weight: float = 3.0


def candidate_terms(text: str) -> set[str]:
    """jieba words (2+ chars) and Chinese character 2-3-grams of one normalised text."""
    import jieba

    jieba.setLogLevel(logging.WARNING)
    terms = {w for w in jieba.lcut(text) if len(w) >= 2 and w not in _STOPWORDS and not w.isascii()}
    for n in (2, 3):
        for i in range(len(text) - n + 1):
            gram = text[i:i + n]
            if all("\u4e00" <= c <= "\u9fff" for c in gram) and gram not in _STOPWORDS:
                terms.add(gram)
    return terms


def learn_rules(examples: list[Example], options: LearnOptions = LearnOptions(),
                progress: Callable[[Iterable], Iterable] = iter) -> tuple[dict, dict[str, list]]:
    """(catalogue mapping, rules by label) learned from `examples` (rows labelled 无 are negatives only)."""
    texts = [normalise(e.text) for e in progress(examples)]
    vocabulary: set[str] = set()
    for text in texts:
        vocabulary |= candidate_terms(text)
    presence = _document_terms(texts, vocabulary)
    labels = sorted({e.label for e in examples} - {NO_CATEGORY})
    per_label_docs = Counter(e.label for e in examples)
    df_in: dict[str, Counter] = {label: Counter() for label in per_label_docs}
    for example, terms in zip(examples, presence):
        df_in[example.label].update(terms)
    df_all = Counter()
    for counts in df_in.values():
        df_all.update(counts)
    total = len(examples)
    rules: dict[str, list] = {}
    for label in labels:
        inside = per_label_docs[label]
        ranked = []
        for term, a in df_in[label].items():
            if a < options.min_df:
                continue
            b = df_all[term] - a
            log_odds = _log_odds(a, inside, b, total - inside, options.smoothing)
            chi = _chi_square(a, inside, b, total - inside)
            if log_odds > 0 and chi >= options.min_chi2:
                ranked.append((chi, term, a, b, log_odds))
        ranked.sort(key=lambda item: (-item[0], item[1]))
        rules[label] = [
            {"id": f"{label}-{rank:03d}", "keywords": [term],
             "weight": round(min(log_odds, options.max_weight), 2),
             "note": f"learned: in {a}/{inside} of {label}, {b}/{total - inside} elsewhere, chi2 {chi:.1f}"}
            for rank, (chi, term, a, b, log_odds) in enumerate(ranked[:options.per_label], start=1)
        ]
    catalogue = {
        "default_clock": {"take": "1h", "plan": "1d", "close": "7d"},
        "decision": {"threshold": 1.0, "ask_threshold": 0.01, "margin": 0.1, "model_overrule": 0.6},
        "categories": [{"name": label, "grid_matter": True, "priority": 0} for label in labels],
    }
    return catalogue, rules


def _document_terms(texts: list[str], vocabulary: set[str]) -> list[set[str]]:
    """Which vocabulary terms each text contains as a substring (how the engine will match)."""
    automaton = ahocorasick.Automaton()
    for term in vocabulary:
        automaton.add_word(term, term)
    automaton.make_automaton()
    return [{term for _, term in automaton.iter(text)} for text in texts]


def _log_odds(a: int, inside: int, b: int, outside: int, alpha: float) -> float:
    return math.log((a + alpha) / (inside - a + alpha)) - math.log((b + alpha) / (outside - b + alpha))


def _chi_square(a: int, inside: int, b: int, outside: int) -> float:
    c, d = inside - a, outside - b
    n = inside + outside
    denominator = (a + b) * (c + d) * inside * outside
    return n * (a * d - b * c) ** 2 / denominator if denominator else 0.0
