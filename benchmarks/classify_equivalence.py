"""Check that a change to the classifier left every decision as it was.

    .venv/bin/python benchmarks/classify_equivalence.py --save REF.jsonl   # before the change
    .venv/bin/python benchmarks/classify_equivalence.py --check REF.jsonl  # after it

Classifies every row of config/examples/*.csv (the shipped training examples) with the shipped
config, the model trained afresh (a throw-away model cache), and writes one `classify --json`
object per row plus the unrounded score and model probabilities. `--check` compares with a saved
file: strings, outcomes and choices equal, every number equal to 1e-9.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

TOLERANCE = 1e-9


def decisions() -> list[dict]:
    """The decision of every shipped example, as JSON-able objects."""
    from handlers.classify import Classifier, read_example_files

    classifier = Classifier.from_dir(REPO / "config")
    out = []
    for example in read_example_files(REPO / "config"):
        decision = classifier.classify(example["text"])
        shown = decision.to_json()
        shown["raw"] = {"score": decision.score, "ranking": [[c.category, c.score] for c in decision.ranking],
                        "candidates": [[c.category, c.score] for c in decision.candidates]}
        out.append({"text": example["text"], "decision": shown})
    return out


def differences(saved, current, where: str = "") -> list[str]:
    """Where `current` differs from `saved` (numbers compared to TOLERANCE)."""
    if isinstance(saved, bool) or isinstance(current, bool) or not isinstance(saved, int | float) \
            or not isinstance(current, int | float):
        if type(saved) is not type(current):
            return [f"{where}: {saved!r} != {current!r}"]
        if isinstance(saved, dict):
            if saved.keys() != current.keys():
                return [f"{where}: keys {sorted(saved)} != {sorted(current)}"]
            return [d for key in saved for d in differences(saved[key], current[key], f"{where}.{key}")]
        if isinstance(saved, list):
            if len(saved) != len(current):
                return [f"{where}: {len(saved)} items != {len(current)}"]
            return [d for i, (a, b) in enumerate(zip(saved, current)) for d in differences(a, b, f"{where}[{i}]")]
        return [] if saved == current else [f"{where}: {saved!r} != {current!r}"]
    return [] if math.isclose(saved, current, rel_tol=0, abs_tol=TOLERANCE) else [f"{where}: {saved!r} != {current!r}"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", type=Path)
    group.add_argument("--check", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        os.environ["GRIDBOT_MODEL_CACHE"] = cache
        current = decisions()
    if args.save:
        args.save.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in current), encoding="utf-8")
        print(f"saved {len(current)} decisions to {args.save}")
        return 0
    saved = [json.loads(line) for line in args.check.read_text(encoding="utf-8").splitlines()]
    found = differences(saved, current)
    for line in found[:20]:
        print(line)
    print(f"{len(current)} decisions, {len(found)} differences")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
