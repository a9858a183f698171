"""Build `config/examples/chat-fresh-retired.csv` (issue 14, seventh round): the six retired fresh chat sets as
model examples.

    .venv/bin/python benchmarks/build_retired.py

The fresh chat sets 1–6 (`tests/data/fresh-chat-test.csv`, `-2` … `-6`: 335 + 5 × 420 messages by six independent
authors) were each scored as held out before being retired here; they stay in tests/data as the record of those
scorings. Their rows become examples: `闲聊` (the sets' "not a report") becomes `无`, and a row whose normalised
text equals a row of another example file, or of an earlier set, is left out (it would only weigh that text
twice, and would leak across `benchmarks/dev_hybrid.py`'s folds). `benchmarks/dev_hybrid.py --by-set` scores
each set as held out of a model trained on everything else (the other five sets included).
"""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from handlers.classify import Example, normalise, read_example_files, read_examples  # noqa: E402
from handlers.classify._examples import write_example_files  # noqa: E402

DATA = REPO / "tests" / "data"
SOURCE = "chat-fresh-retired"
# set name -> file, in the order they were written (an earlier set keeps a text two sets share)
RETIRED = {f"fresh-{n}": f"fresh-chat-test{'' if n == 1 else f'-{n}'}.csv" for n in range(1, 7)}
NO_REPORT_LABELS = {"闲聊": "无"}  # the fresh sets' label for "not a report"


def retired_sets(data: Path = DATA) -> dict[str, list[Example]]:
    """Every retired set's rows (`闲聊` read as `无`), as scored when they were held out."""
    return {name: [Example(e.text, NO_REPORT_LABELS.get(e.label, e.label)) for e in read_examples(data / file)]
            for name, file in RETIRED.items()}


def text_key(text: str) -> str:
    """What two example texts must share to be duplicates: the normalised text (the raw text stripped when
    normalising leaves nothing, e.g. an emoji alone)."""
    return normalise(text) or text.strip()


def retired_rows(sets: dict[str, list[Example]], others: list[dict]) -> list[dict]:
    """The model examples `sets` give (`{"text", "label", "source", "set"}`, in set then row order): every row but
    those whose `text_key` is a text of `others` (the other example files) or of a row already taken."""
    seen = {text_key(example["text"]) for example in others}
    rows = []
    for name, examples in sets.items():
        for example in examples:
            key = text_key(example.text)
            if key not in seen:
                seen.add(key)
                rows.append({"text": example.text, "label": example.label, "source": SOURCE, "set": name})
    return rows


def main() -> None:
    config = REPO / "config"
    others = [e for e in read_example_files(config) if e["source"] != SOURCE]
    sets = retired_sets()
    rows = retired_rows(sets, others)
    write_example_files(config, rows)
    kept = {name: sum(row["set"] == name for row in rows) for name in sets}
    print(f"{SOURCE}: {len(rows)} rows of {sum(map(len, sets.values()))} "
          f"({', '.join(f'{name} {kept[name]}/{len(sets[name])}' for name in sets)})")


if __name__ == "__main__":
    main()
