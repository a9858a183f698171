"""Real letters labelled into the grid matters by three annotators (issue 14, tenth round):
`benchmarks/build_tipdm_letters.py`."""

from __future__ import annotations

import pytest

from benchmarks.build_examples import CUT
from benchmarks.build_retired import text_key
from benchmarks.build_tipdm_letters import SOURCE, agreement, built_rows, majority, relabelled, tipdm_letters
from config.settings import SHIPPED_CONFIG_DIR
from handlers.classify import read_config, read_example_files
from tests.conftest import SHARED_DATA
from tests.splits import SOURCES, shared_rows, split_rows

needs_shared = pytest.mark.skipif(not (SHARED_DATA / SOURCES["tipdm"]).is_file(), reason="shared data absent")


@pytest.mark.parametrize(("votes", "label"), [
    (["噪音扰民", "噪音扰民", "教育"], "噪音扰民"),
    (["教育", "交通运输", "噪音扰民"], "教育"),  # two say a department's matter: the first named of a tie
    (["交通运输", "教育", "交通运输"], "交通运输"),  # the department most of them named
    (["噪音扰民", "矛盾纠纷", "教育"], None),  # no two agree on the labelled file's scale
])
def test_a_letter_takes_the_majority_label_and_a_department_the_one_most_named(votes, label):
    assert majority(votes) == label


@needs_shared
def test_agreement_counts_a_letter_with_no_majority_as_a_disagreement():
    gold = shared_rows(SOURCES["labelled"])
    first, second = split_rows("labelled", "train")[:2]
    same = gold[first]["label"] if gold[first]["label"] != "非网格事项" else "教育"
    others = [label for label in ("噪音扰民", "矛盾纠纷", "环境卫生", "物业管理") if label != gold[second]["label"]][:3]
    rows = [{"source": "labelled", "row": first, "votes": [same, same, same]},
            {"source": "labelled", "row": second, "votes": others},
            {"source": "tipdm", "row": 0, "votes": [same, same, same]}]  # not a calibration row
    assert agreement(rows) == {"labeller-1": 0.5, "labeller-2": 0.5, "labeller-3": 0.5, "majority": 0.5}


@needs_shared
def test_the_shipped_file_is_what_the_builder_makes_of_the_annotations_and_holds_no_held_out_row():
    rows = relabelled()
    assert not {row["row"] for row in rows if row["source"] == "tipdm"} & set(split_rows("tipdm", "test"))
    assert not {row["row"] for row in rows if row["source"] == "labelled"} & set(split_rows("labelled", "test"))
    shipped = read_example_files(SHIPPED_CONFIG_DIR)
    tipdm = [(e["text"], e["label"]) for e in shipped if e["source"] == SOURCE]
    built, _ = built_rows(SHIPPED_CONFIG_DIR, {"tipdm": tipdm_letters(rows)}, source=SOURCE)
    assert tipdm == [(row["text"], row["label"]) for row in built] and len(tipdm) == 202
    catalogue, _, _ = read_config(SHIPPED_CONFIG_DIR)
    assert {label for _, label in tipdm} <= {category["name"] for category in catalogue["categories"]}
    assert max(len(text) for text, _ in tipdm) == CUT
    others = {text_key(e["text"]) for e in shipped if e["source"] != SOURCE}
    assert not {text_key(text) for text, _ in tipdm} & others
