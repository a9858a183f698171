"""Build `config/examples/letters-tipdm.csv` (issue 14, tenth round): the training part of
`../shared/data/tipdm2020c-train.csv`, real letters to the same kind of message board, labelled into the grid
matters by three independent annotators, as model examples; and say how well such annotators agree with the
annotator of `citizen-messages-labelled.csv`.

    .venv/bin/python benchmarks/build_tipdm_letters.py

`tests/data/tipdm-relabelled.csv` (`source,row,labeller-1,labeller-2,labeller-3`) holds what each annotator (a
session of its own whose only inputs were `tests/data/tipdm-relabelled.brief.md` and the letters, shuffled
together and cut to 400 characters) gave every letter it was shown: the 202 tipdm training rows that share no
20-character run with a citizen message (`source` tipdm), and 120 training letters of the labelled file (`source`
labelled, drawn at random: the calibration rows, whose labels the annotators did not see). A label is one of the 11
grid matters or a department's name (a catalogue category, e.g. 教育).
- A tipdm letter's label is the majority of the three on the labelled file's scale (the grid matters, or
  非网格事项 for any department); a department's letter takes the department most of its annotators named. Its
  example is made as the written letters' are (`build_written_letters.written_rows`: cut, a copy of a citizen
  letter or a text seen in another example file left out). No tipdm test row (`tests/data/tipdm-test.csv`) is
  used: `bench_hybrid.py`'s tipdm figure stays held out.
- The calibration rows give each annotator's, and the majority's, agreement with the labelled file's annotator.
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.build_written_letters import built_rows  # noqa: E402
from handlers.classify import Example  # noqa: E402
from handlers.classify._evaluate import DEPARTMENT_LABEL  # noqa: E402
from handlers.classify._examples import write_example_files  # noqa: E402
from tests.splits import SOURCES, shared_rows  # noqa: E402

RELABELLED = REPO / "tests" / "data" / "tipdm-relabelled.csv"
SOURCE = "letters-tipdm"
GRID_MATTERS = frozenset({"噪音扰民", "矛盾纠纷", "环境卫生", "物业管理", "市政设施", "违章搭建", "市容秩序", "消防安全",
                          "治安隐患", "社会救助", "突发事件"})  # the labelled file's grid matters


def on_file_scale(label: str) -> str:
    """An annotator's label as the labelled file has it: a grid matter, or 非网格事项 for a department."""
    return label if label in GRID_MATTERS else DEPARTMENT_LABEL


def majority(votes: list[str]) -> str | None:
    """The label most annotators gave (a department's matter: the department most of them named, the first named
    on a tie), or None when no two agree on the file's scale."""
    scale, count = Counter(on_file_scale(vote) for vote in votes).most_common(1)[0]
    if count * 2 <= len(votes):
        return None
    if scale != DEPARTMENT_LABEL:
        return scale
    return Counter(vote for vote in votes if vote not in GRID_MATTERS).most_common(1)[0][0]


def relabelled(path: Path = RELABELLED) -> list[dict]:
    """The annotated rows: `{"source", "row", "votes"}`, in the order the annotators saw them."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [{"source": row["source"], "row": int(row["row"]),
                 "votes": [row[name] for name in row if name.startswith("labeller-")]}
                for row in csv.DictReader(handle)]


def tipdm_letters(rows: list[dict]) -> list[Example]:
    """The tipdm letters with their majority label (those with no majority left out)."""
    texts = shared_rows(SOURCES["tipdm"])
    letters = []
    for row in rows:
        label = majority(row["votes"]) if row["source"] == "tipdm" else None
        if label is not None:
            letters.append(Example(texts[row["row"]]["text"], label))
    return letters


def agreement(rows: list[dict]) -> dict[str, float]:
    """On the calibration rows: the share each annotator, and the majority, gave the labelled file's label."""
    gold = shared_rows(SOURCES["labelled"])
    calibration = [row for row in rows if row["source"] == "labelled"]
    truth = [gold[row["row"]]["label"] for row in calibration]
    readings = {f"labeller-{n + 1}": [row["votes"][n] for row in calibration]
                for n in range(len(calibration[0]["votes"]))}
    readings["majority"] = [majority(row["votes"]) for row in calibration]
    return {name: sum(map(_agrees, labels, truth)) / len(truth) for name, labels in readings.items()}


def _agrees(label: str | None, gold: str) -> bool:
    return label is not None and on_file_scale(label) == gold


def main() -> None:
    config = REPO / "config"
    rows = relabelled()
    letters = tipdm_letters(rows)
    built, dropped = built_rows(config, {"tipdm": letters}, source=SOURCE)
    write_example_files(config, built)
    print(f"{SOURCE}: {len(built)} rows of {sum(row['source'] == 'tipdm' for row in rows)} annotated "
          f"({len(letters)} with a majority); left out: {dict(dropped) or 'none'}")
    print("agreement with the labelled file's annotator on "
          f"{sum(row['source'] == 'labelled' for row in rows)} training letters: "
          + ", ".join(f"{name} {share:.3f}" for name, share in agreement(rows).items()))


if __name__ == "__main__":
    main()
