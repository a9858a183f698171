"""Build `config/examples/letters-written.csv` (issue 14, eighth round): letters written for training by four
independent writers, as model examples.

    .venv/bin/python benchmarks/build_written_letters.py

Each writer (a session of its own) read only a brief (`tests/data/letters-written.README.md` says which) and wrote
200 letters to a city's message board, `标题。正文`, labelled as the real letters are (a department's matter by the
department's name: a category of `config/catalogue.yaml`). The writers' files are kept as they were delivered in
`tests/data/letters-written-N.csv`. Their rows become examples the way `build_examples.py` makes the real training
letters' (cut to the same `CUT` characters: title and opening); a row is left out when
- its label is not a category of the catalogue (none mapped: the brief's labels are the catalogue's names);
- it shares a run of `COPY_RUN` or more characters (raw, or after the normaliser) with a real letter of
  `../shared/data/citizen-messages-{labelled,unlabelled}.csv` (a copied letter, not a written one; only the
  count is printed, no real text);
- its cut text equals, after normalising, a row of another example file or an earlier written row.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.build_examples import CUT  # noqa: E402
from benchmarks.build_retired import text_key  # noqa: E402
from handlers.classify import Example, normalise, read_config, read_example_files, read_examples  # noqa: E402
from handlers.classify._examples import write_example_files  # noqa: E402
from tests.splits import shared_rows  # noqa: E402

DATA = REPO / "tests" / "data"
SOURCE = "letters-written"
WRITERS = {f"writer-{n}": f"letters-written-{n}.csv" for n in range(1, 5)}  # in the order they are taken
REAL = ("citizen-messages-labelled.csv", "citizen-messages-unlabelled.csv")
COPY_RUN = 20


def written_sets(data: Path = DATA) -> dict[str, list[Example]]:
    """Every writer's letters as delivered."""
    return {name: read_examples(data / file) for name, file in WRITERS.items()}


def runs(text: str, length: int = COPY_RUN) -> set[int]:
    """Hashes of every run of `length` characters of `text`, raw and normalised (one process's hashes)."""
    return {hash(form[i:i + length]) for form in (text, normalise(text)) for i in range(len(form) - length + 1)}


def real_runs(texts: Iterable[str], length: int = COPY_RUN) -> set[int]:
    """`runs` of every real letter."""
    found: set[int] = set()
    for text in texts:
        found |= runs(text, length)
    return found


def written_rows(sets: dict[str, list[Example]], others: list[dict], categories: set[str], real: set[int],
                 cut: int = CUT, source: str = SOURCE) -> tuple[list[dict], Counter]:
    """(the model examples `sets` give — `{"text", "label", "source", "set"}`, each text cut to `cut` characters,
    in set then row order —, how many rows were left out and why: `label`, `copied`, `duplicate`)."""
    seen = {text_key(example["text"]) for example in others}
    rows, dropped = [], Counter()
    for name, letters in sets.items():
        for letter in letters:
            text = letter.text.strip()[:cut]
            key = text_key(text)
            if letter.label not in categories:
                dropped["label"] += 1
            elif runs(letter.text) & real:
                dropped["copied"] += 1
            elif key in seen:
                dropped["duplicate"] += 1
            else:
                seen.add(key)
                rows.append({"text": text, "label": letter.label, "source": source, "set": name})
    return rows, dropped


def built_rows(config: Path, sets: dict[str, list[Example]], source: str = SOURCE) -> tuple[list[dict], Counter]:
    """`written_rows` of `sets` against `config`'s catalogue and other example files and the shared real letters:
    what `config`'s example file `source` holds."""
    catalogue, _, _ = read_config(config)
    categories = {category["name"] for category in catalogue["categories"]}
    others = [e for e in read_example_files(config) if e["source"] != source]
    real = real_runs(row["text"] for name in REAL for row in shared_rows(name))
    return written_rows(sets, others, categories, real, source=source)


def main() -> None:
    config = REPO / "config"
    sets = written_sets()
    rows, dropped = built_rows(config, sets)
    write_example_files(config, rows)
    kept = {name: sum(row["set"] == name for row in rows) for name in sets}
    print(f"{SOURCE}: {len(rows)} rows of {sum(map(len, sets.values()))} "
          f"({', '.join(f'{name} {kept[name]}/{len(sets[name])}' for name in sets)}); left out: "
          f"{dict(dropped) or 'none'}")


if __name__ == "__main__":
    main()
