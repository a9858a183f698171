"""Letters written for training as model examples (issue 14, eighth round): `benchmarks/build_written_letters.py`."""

from __future__ import annotations

from benchmarks.build_examples import CUT
from benchmarks.build_retired import text_key
from benchmarks.build_written_letters import (
    SOURCE,
    WRITERS,
    built_rows,
    real_runs,
    runs,
    written_rows,
    written_sets,
)
from config.settings import SHIPPED_CONFIG_DIR
from handlers.classify import Example, read_example_files

CATEGORIES = {"噪音扰民", "物业管理", "教育"}
OTHER_FILE = [{"text": "楼下广场舞太吵了", "label": "噪音扰民", "source": "chat-own"}]
# a "real letter" written for this test; the second writer's letter copies 20 of its characters
A_REAL_LETTER = "关于金桂园小区地下车库长期积水无人处理的问题。车库积水已经三个月了，物业一直推说在等维修基金审批"
LONG = "请求解决A2区星河湾夜间施工噪音问题。" + "工地每晚十一点后还在打桩，" * 30


def test_a_letter_is_cut_and_a_bad_label_a_copy_or_a_text_seen_before_is_left_out():
    sets = {
        "writer-1": [Example(LONG, "噪音扰民"), Example("咨询A市小学划片的政策。孩子明年上学，想问学区怎么划。", "教育"),
                     Example("投诉某小区物业乱收停车费。每月多收一百元。", "物业费")],
        "writer-2": [Example("楼下广场舞太吵了！", "噪音扰民"),  # another file's text, punctuation aside
                     Example("咨询A市小学划片的政策。孩子明年上学，想问学区怎么划", "教育"),  # writer 1's
                     Example("投诉物业。" + A_REAL_LETTER[10:34] + "，请领导过问。", "物业管理"),  # 24 characters of a real letter
                     Example("投诉物业不修电梯。三号楼电梯停了两周，老人上不了楼。", "物业管理")],
    }
    rows, dropped = written_rows(sets, OTHER_FILE, CATEGORIES, real_runs([A_REAL_LETTER]))
    assert [(row["label"], row["set"]) for row in rows] == [("噪音扰民", "writer-1"), ("教育", "writer-1"),
                                                            ("物业管理", "writer-2")]
    assert rows[0]["text"] == LONG[:CUT] and len(rows[0]["text"]) == CUT < len(LONG)
    assert rows[2]["text"].startswith("投诉物业不修电梯")
    assert dropped == {"label": 1, "duplicate": 2, "copied": 1}
    assert {row["source"] for row in rows} == {SOURCE}


def test_a_copy_is_found_after_normalising_too_and_a_short_shared_run_is_no_copy():
    spaced = "投诉物业。" + " ".join(A_REAL_LETTER[10:34]) + "。"  # the copied run with spaces between its characters
    assert runs(spaced) & real_runs([A_REAL_LETTER])
    own = "投诉物业。车库积水已经三个月了，我们很着急。"  # shares 12 characters with the real letter
    assert not runs(own) & real_runs([A_REAL_LETTER])


def test_the_shipped_file_is_what_the_builder_makes_of_the_four_writers_files():
    shipped = read_example_files(SHIPPED_CONFIG_DIR)
    written = [(e["text"], e["label"]) for e in shipped if e["source"] == SOURCE]
    others = [e for e in shipped if e["source"] != SOURCE]
    sets = written_sets()
    assert list(sets) == list(WRITERS) and all(len(letters) == 200 for letters in sets.values())
    built, _ = built_rows(SHIPPED_CONFIG_DIR, sets)
    assert written == [(row["text"], row["label"]) for row in built]
    assert len(written) == 800 and max(len(text) for text, _ in written) == CUT
    keys = [text_key(text) for text, _ in written]
    assert len(set(keys)) == len(keys) and not set(keys) & {text_key(e["text"]) for e in others}
