"""Issue 14 figures: the hybrid classifier (rules + learned model) on frozen held-out splits.

    .venv/bin/python benchmarks/bench_hybrid.py [--skip-quality] [--skip-tipdm] [--skip-speed]
    .venv/bin/python benchmarks/bench_hybrid.py --only-fresh NEW-SET.csv
      (a fresh set not yet scored, once; with the set's `.tags.csv` beside it: the figures by kind of row and by
      voice too. Sets 1–6 in tests/data are retired into the model's examples: `dev_hybrid.py --by-set` scores
      them as dev)

Quality: every labelled set, scored with the shipped config (hybrid) and with its rules alone
(today's engine): right at once (outcome match, right category; or `none` for a 无 row), right as
the top guess, right after at most one ask-back (label among the three choices), bounced (a
report answered `none`), chit-chat turned into a case. 非网格事项 accepts any department category.
tipdm: `rules learn` (rules + the rows as model examples) vs TF-IDF character 1-3-grams +
LinearSVC(C=1), both trained on the training part of tipdm2020c-train.csv and scored with the
same macro-F1 on tests/data/tipdm-test.csv.
Speed (thread CPU time): median µs per chat message, rules alone and hybrid measured interleaved
(5 rounds, `--rounds N`); retraining time on 5,000 examples.
"""

from __future__ import annotations

import argparse
import csv
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from handlers.classify import (  # noqa: E402
    Classifier,
    Example,
    learn_rules,
    normalise,
    outcome_figures,
    read_config,
    read_example_files,
    read_examples,
    scores,
)
from handlers.classify._model import LETTERS_OPTIONS, TITLE_OPTIONS, ModelOptions, TextModel, title  # noqa: E402
from benchmarks.build_retired import NO_REPORT_LABELS  # noqa: E402
from tests.conftest import SHARED_DATA  # noqa: E402
from tests.splits import split_examples  # noqa: E402

DATA = REPO / "tests" / "data"
CONFIG = REPO / "config"


def real_rows(split: str) -> list[Example]:
    """Our grid labels for rows of the shared unlabelled file (tests/data/real-*.csv)."""
    with (SHARED_DATA / "citizen-messages-unlabelled.csv").open(encoding="utf-8") as handle:
        texts = [row["text"] for row in csv.DictReader(handle)]
    with (DATA / f"real-{split}.csv").open(encoding="utf-8") as handle:
        return [Example(texts[int(row["row"])], row["label"]) for row in csv.DictReader(handle)]


def classifiers() -> tuple[Classifier, Classifier]:
    """(the shipped hybrid, the shipped rules alone)."""
    catalogue, rules, _ = read_config(CONFIG)
    return Classifier.from_dir(CONFIG), Classifier.from_data(catalogue, rules)


def report(name: str, how: str, examples: list[Example], hybrid: Classifier, rules: Classifier) -> None:
    for label, classifier in (("hybrid", hybrid), ("rules alone", rules)):
        f = outcome_figures(classifier, examples)
        print(f"| {name} | {how} | {label} | {f['rows']} | {f['right_at_once']:.3f} | {f['right_top1']:.3f} | "
              f"{f['right_after_ask']:.3f} | {f['asked']:.3f} | {f['bounced']:.3f} | {f['chat_as_case']:.3f} |", flush=True)


def quality() -> None:
    hybrid, rules = classifiers()
    print("| set | how it was made | classifier | rows | right at once | right top guess | right after ≤1 ask "
          "| asked | bounced | chit-chat as case |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    sets = [
        ("labelled-test (real, held out)", "30 % stratified, seed 14, frozen before tuning",
         split_examples("labelled", "test")),
        ("real-test (real, held out)", "issue 6 half; also inside labelled-test", real_rows("test")),
        ("messages-test (chat)", "team-written; rules were written seeing it; audited", read_examples(DATA / "messages-test.csv")),
        ("labelled-train (dev, trained on)", "the other 70 %, the model's examples", split_examples("labelled", "train")),
        ("messages-dev (dev, trained on)", "team-written, rules tuned on it", read_examples(DATA / "messages-dev.csv")),
    ]
    for name, how, examples in sets:
        report(name, how, examples, hybrid, rules)


def tipdm() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline
    from sklearn.svm import LinearSVC

    train, test = split_examples("tipdm", "train"), split_examples("tipdm", "test")
    gold = [e.label for e in test]
    baseline = make_pipeline(TfidfVectorizer(analyzer="char", ngram_range=(1, 3), sublinear_tf=True), LinearSVC(C=1.0))
    baseline.fit([e.text for e in train], [e.label for e in train])
    base = scores(gold, list(baseline.predict([e.text for e in test])))
    start = time.perf_counter()
    catalogue, rules = learn_rules(train)
    learned = Classifier.from_data(catalogue, rules, examples=[{"text": e.text, "label": e.label} for e in train])
    seconds = time.perf_counter() - start
    hybrid = scores(gold, [learned.classify(e.text).category or "无" for e in test])
    rules_only = Classifier.from_data(catalogue, rules)
    alone = scores(gold, [rules_only.classify(e.text).category or "无" for e in test])
    print(f"tipdm ({len(train)} training rows, {len(test)} held out): TF-IDF+LinearSVC macro-F1 {base['macro_f1']:.3f} "
          f"(acc {base['accuracy']:.3f}) | rules learn (rules + model) {hybrid['macro_f1']:.3f} "
          f"(acc {hybrid['accuracy']:.3f}, learned in {seconds:.1f} s) | learned rules alone {alone['macro_f1']:.3f} "
          f"(acc {alone['accuracy']:.3f})")


def cpu_us(functions: dict, texts: list[str], rounds: int = 5) -> dict[str, tuple[float, float]]:
    """Thread-CPU µs per call of each function over `texts`, the functions interleaved message by
    message for `rounds` rounds after a warm-up pass (so that the machine's load hits them alike):
    (median over every call, median over the messages of each message's fastest round)."""
    for function in functions.values():
        for text in texts:
            function(text)
    times: dict[str, list[list[int]]] = {name: [[] for _ in texts] for name in functions}
    for _ in range(rounds):
        for index, text in enumerate(texts):
            for name, function in functions.items():
                start = time.thread_time_ns()
                function(text)
                times[name][index].append(time.thread_time_ns() - start)
    return {name: (statistics.median(t for per_text in runs for t in per_text) / 1000,
                   statistics.median(min(per_text) for per_text in runs) / 1000)
            for name, runs in times.items()}


def speed(rounds: int = 5) -> None:
    hybrid, rules = classifiers()
    chat = [e.text for e in read_examples(DATA / "messages-dev.csv")]
    print(f"chat messages: {len(chat)}, median {statistics.median(map(len, chat)):.0f} characters")
    measured = cpu_us({"rules alone (today's engine)": rules.classify, "hybrid": hybrid.classify}, chat, rounds)
    for name, (median, fastest) in measured.items():
        print(f"  {name}: median {median:.1f} µs CPU per message ({rounds} interleaved rounds; median of each message's "
              f"fastest round {fastest:.1f} µs)")
    examples = read_example_files(CONFIG)
    with (SHARED_DATA / "citizen-messages-unlabelled.csv").open(encoding="utf-8") as handle:
        extra = [row["text"][:250] for row in csv.DictReader(handle)]
    texts = [e["text"] for e in examples] + extra
    texts = (texts * 2)[:5000]
    labels = [e["label"] for e in examples] + [hybrid.classify(t).category or "无" for t in extra]
    labels = (labels * 2)[:5000]
    start = time.thread_time()
    wall = time.perf_counter()
    normalised = [normalise(t) for t in texts]
    TextModel.train(normalised, labels, ModelOptions())
    model_cpu = time.thread_time() - start
    is_long = hybrid.catalogue.is_long
    if hybrid.title_model is not None:  # the title model (catalogue long_title) is retrained with it
        TextModel.train([normalise(title(t)) if is_long(n) else n for t, n in zip(texts, normalised)], labels,
                        TITLE_OPTIONS)
    if hybrid.letters_model is not None:  # and the letters model (catalogue long_letters), on the long ones
        long = [(n, label) for n, label in zip(normalised, labels) if is_long(n)]
        TextModel.train([n for n, _ in long], [label for _, label in long], LETTERS_OPTIONS)
    print(f"  retraining on {len(texts)} examples (normalise + features + fit + calibration, then the title and "
          f"letters models): {time.thread_time() - start:.1f} s CPU (the model alone {model_cpu:.1f} s), "
          f"{time.perf_counter() - wall:.1f} s wall")


def fresh(path: Path) -> None:
    hybrid, rules = classifiers()
    print("| set | how it was made | classifier | rows | right at once | right top guess | right after ≤1 ask "
          "| asked | bounced | chit-chat as case |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    examples = [Example(e.text, NO_REPORT_LABELS.get(e.label, e.label)) for e in read_examples(path)]
    report(path.name, "independent author, never read the rules; scored once", examples, hybrid, rules)
    tags = path.with_name(f"{path.stem}.tags.csv")
    if tags.exists():
        by_group(hybrid, examples, tags)


def by_group(classifier: Classifier, examples: list[Example], tags: Path) -> None:
    """The hybrid's figures by kind of row (grid matter, department matter, chit-chat) and by the author's voice
    tags (`text,tags` in the same order as the set; a row counts under each of its tags)."""
    with tags.open(encoding="utf-8") as handle:
        voices = [row["tags"].split() for row in csv.DictReader(handle)]
    groups: dict[str, list[Example]] = {}
    for example, row_tags in zip(examples, voices, strict=True):
        category = classifier.catalogue.get(example.label) if example.label in classifier.catalogue else None
        kind = "chit-chat" if category is None else "grid matter" if category.grid_matter else "department matter"
        for group in (kind, *(f"voice {tag}" for tag in row_tags or ["(none)"])):
            groups.setdefault(group, []).append(example)
    print("\n| rows (hybrid) | n | right at once | right after ≤1 ask | asked |\n|---|---|---|---|---|")
    for group, members in sorted(groups.items()):
        f = outcome_figures(classifier, members)
        print(f"| {group} | {f['rows']} | {f['right_at_once']:.3f} | {f['right_after_ask']:.3f} | {f['asked']:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-tipdm", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--rounds", type=int, default=5, help="Interleaved rounds of the speed figures.")
    parser.add_argument("--only-fresh", type=Path, help="Score this chat-style set only (once, after freezing).")
    args = parser.parse_args()
    print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.processor() or platform.machine()}, "
          f"Python {platform.python_version()}, {' '.join(sys.argv)}")
    if args.only_fresh:
        fresh(args.only_fresh)
        return
    if not args.skip_quality:
        quality()
    if not args.skip_tipdm:
        tipdm()
    if not args.skip_speed:
        speed(args.rounds)


if __name__ == "__main__":
    main()
