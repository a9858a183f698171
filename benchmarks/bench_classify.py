"""Classification benchmark: quality of learned rules vs a TF-IDF baseline, and engine speed.

    .venv/bin/python benchmarks/bench_classify.py [--folds 5] [--skip-quality] [--skip-speed]

Quality: stratified k-fold on ../shared/data/tipdm2020c-train.csv; per fold, a TF-IDF
(character 1-3-grams) + LinearSVC baseline and `rules learn` rules, both trained on the
same training folds and scored with the same macro-F1 on the held-out fold.
Speed (CPU time of this thread): µs per message for the shipped rules and for generated rule sets (1,000 / 2,000 /
10,000 rules, 3 keywords each) vs a naive loop over every keyword; time to load 10,000 rules.
"""

from __future__ import annotations

import argparse
import csv
import platform
import random
import statistics
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from handlers.classify import Classifier, learn_rules, load_classifier, normalise, read_examples  # noqa: E402
from handlers.classify._evaluate import scores  # noqa: E402

SHARED = REPO.parent / "shared" / "data"


def quality(folds: int) -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    examples = read_examples(SHARED / "tipdm2020c-train.csv")
    texts, labels = [e.text for e in examples], [e.label for e in examples]
    baseline_f1, rules_f1, rules_acc, baseline_acc = [], [], [], []
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=0)
    for fold, (train, test) in enumerate(splitter.split(texts, labels), start=1):
        model = make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True),
                              LinearSVC(C=1.0))
        model.fit([texts[i] for i in train], [labels[i] for i in train])
        gold = [labels[i] for i in test]
        base = scores(gold, list(model.predict([texts[i] for i in test])))
        catalogue, rules = learn_rules([examples[i] for i in train])
        classifier = Classifier.from_data(catalogue, rules)
        learned = scores(gold, [classifier.classify(texts[i]).category or "无" for i in test])
        baseline_f1.append(base["macro_f1"])
        baseline_acc.append(base["accuracy"])
        rules_f1.append(learned["macro_f1"])
        rules_acc.append(learned["accuracy"])
        print(f"  fold {fold}: baseline macro-F1 {base['macro_f1']:.3f}  learned rules {learned['macro_f1']:.3f}"
              f"  ({len(classifier.rules)} rules)")
    b, r = statistics.mean(baseline_f1), statistics.mean(rules_f1)
    print(f"quality ({folds}-fold, {len(examples)} rows): TF-IDF+LinearSVC macro-F1 {b:.3f} (acc "
          f"{statistics.mean(baseline_acc):.3f}) | rules learn macro-F1 {r:.3f} (acc {statistics.mean(rules_acc):.3f})"
          f" | gap {100 * (b - r):+.1f} points")


def generated_rules(count: int, corpus: list[str], seed: int = 0) -> dict:
    """`count` keyword rules (3 terms each) over 20 categories, terms drawn from real n-grams."""
    grams = Counter()
    for text in corpus[:600]:
        norm = normalise(text)
        grams.update(norm[i:i + n] for n in (2, 3, 4) for i in range(len(norm) - n + 1))
    vocabulary = [g for g, _ in grams.most_common(60_000) if not any(c.isdigit() for c in g)]
    rnd = random.Random(seed)
    pool = vocabulary[200:]  # skip the most common grams: they would fire on every message
    categories = [f"cat{i:02d}" for i in range(20)]
    rules: dict[str, list] = {c: [] for c in categories}
    for index in range(count):
        rules[categories[index % 20]].append({"id": f"r{index}", "keywords": rnd.sample(pool, 3),
                                              "weight": round(rnd.uniform(0.5, 1.5), 2)})
    catalogue = {"categories": [{"name": c} for c in categories]}
    return {"catalogue": catalogue, "rules": rules}


def naive_loop(rules: dict, text: str) -> str | None:
    """The baseline: normalise, then test every keyword of every rule with `in`."""
    norm = normalise(text)
    totals: dict[str, float] = {}
    for category, items in rules.items():
        for rule in items:
            if any(keyword in norm for keyword in rule["keywords"]):
                totals[category] = totals.get(category, 0.0) + rule["weight"]
    return max(totals, key=totals.get) if totals else None


def per_message(function, texts: list[str], repeat: int = 3) -> float:
    """Best-of-`repeat` CPU µs per message (thread CPU time: robust to a shared, busy machine)."""
    best = float("inf")
    for _ in range(repeat):
        start = time.thread_time()
        for text in texts:
            function(text)
        best = min(best, time.thread_time() - start)
    return best / len(texts) * 1e6


def speed() -> None:
    with (SHARED / "citizen-messages-unlabelled.csv").open(encoding="utf-8") as handle:
        real = [row["text"] for row in csv.DictReader(handle)]
    chat = [e.text for e in read_examples(REPO / "tests" / "data" / "messages-dev.csv")]
    shipped = load_classifier(REPO / "config")
    print(f"shipped rules ({len(shipped.rules)} rules): {per_message(shipped.classify, chat):.1f} µs/message on "
          f"chat-length texts (median {statistics.median(map(len, chat)):.0f} chars), "
          f"{per_message(shipped.classify, real):.1f} µs on real messages (median "
          f"{statistics.median(map(len, real)):.0f} chars)")
    print(f"normalise alone: {per_message(normalise, chat):.1f} µs chat, {per_message(normalise, real):.1f} µs real")
    for count in (1_000, 2_000, 10_000):
        data = generated_rules(count, real)
        start = time.thread_time()
        classifier = Classifier.from_dict(data)
        load = time.thread_time() - start
        engine_chat = per_message(classifier.classify, chat)
        engine_real = per_message(classifier.classify, real[:500])
        loop_chat = per_message(lambda t: naive_loop(data["rules"], t), chat, repeat=1)
        loop_real = per_message(lambda t: naive_loop(data["rules"], t), real[:500], repeat=1)
        print(f"{count:>6} rules: load {load * 1000:.0f} ms | engine {engine_chat:.1f} µs chat, {engine_real:.1f} µs "
              f"real | naive loop {loop_chat:.1f} µs chat, {loop_real:.1f} µs real | "
              f"speed-up {loop_chat / engine_chat:.1f}x / {loop_real / engine_real:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    args = parser.parse_args()
    print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}, {' '.join(sys.argv)}")
    if not args.skip_quality:
        quality(args.folds)
    if not args.skip_speed:
        speed()


if __name__ == "__main__":
    main()
