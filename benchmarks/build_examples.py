"""Build the shipped model examples `config/examples/{citizen-letters,chat-dev}.csv` (issue 14).

    .venv/bin/python benchmarks/build_examples.py

- citizen-letters.csv: the training part of ../shared/data/citizen-messages-labelled.csv (every row
  not in tests/data/labelled-test.csv), cut to its first 250 characters (title and opening, what
  the labels were read from). Rows labelled 非网格事项 take the department category the rules give
  them; rows the rules cannot place in a department are left out.
- chat-dev.csv: tests/data/messages-dev.csv as it is (the team's chat-style dev messages).
`chat-own.csv` is written by hand and not touched here, nor is `chat-fresh-retired.csv` (`build_retired.py`).
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from handlers.classify import Classifier, Example, read_config, read_example_files, read_examples  # noqa: E402
from handlers.classify._evaluate import DEPARTMENT_LABEL  # noqa: E402
from handlers.classify._examples import write_example_files  # noqa: E402
from tests.splits import split_examples  # noqa: E402

RETIRED = "chat-fresh-retired"  # benchmarks/build_retired.py's file

CUT = 250


def letter_example(example: Example, by_rules: Classifier) -> dict | None:
    """The model example a labelled letter gives: its opening, its label (非网格事项: the department
    category the rules give it), or None when the rules place it in no department."""
    label = example.label
    if label == DEPARTMENT_LABEL:
        decision = by_rules.classify(example.text)
        if decision.category is None or decision.grid_matter:
            return None
        label = decision.category
    return {"text": example.text[:CUT], "label": label, "source": "citizen-letters"}


def department_examples(unplaced: list[Example], model: Classifier) -> list[dict]:
    """Model examples of 非网格事项 letters the rules placed in no department: each takes the department
    category `model` ranks first (any department is right for them; the likeliest routes best)."""
    departments = {category.name for category in model.catalogue if not category.grid_matter}
    examples = []
    for example in unplaced:
        label = next((c.category for c in model.rank(example.text) if c.category in departments), None)
        if label is not None:
            examples.append({"text": example.text[:CUT], "label": label, "source": "citizen-letters"})
    return examples


def main() -> None:
    catalogue, rules, _ = read_config(REPO / "config")
    by_rules = Classifier.from_data(catalogue, rules)  # rules only: no examples yet
    training = split_examples("labelled", "train")
    built = [letter_example(example, by_rules) for example in training]
    letters = [example for example in built if example is not None]
    chat = [{"text": e.text, "label": e.label, "source": "chat-dev"}
            for e in read_examples(REPO / "tests" / "data" / "messages-dev.csv")]
    # the hand-written chat files (not the retired fresh sets: `build_retired.py` dedupes them against these files)
    others = [e for e in read_example_files(REPO / "config")
              if e["source"] not in ("citizen-letters", "chat-dev", RETIRED)]
    model = Classifier.from_data(catalogue, rules, examples=letters + chat + others)
    unplaced = department_examples([e for e, built_one in zip(training, built) if built_one is None], model)
    write_example_files(REPO / "config", letters + unplaced + chat)
    print(f"citizen-letters: {len(letters) + len(unplaced)} rows ({len(unplaced)} department rows placed by the "
          f"model); chat-dev: {len(chat)} rows")


if __name__ == "__main__":
    main()
