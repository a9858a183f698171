"""The retired fresh chat sets as model examples (issue 14, seventh round): `benchmarks/build_retired.py`."""

from __future__ import annotations

import csv
from pathlib import Path

from benchmarks.build_retired import RETIRED, SOURCE, retired_rows, retired_sets, text_key
from config.settings import SHIPPED_CONFIG_DIR
from handlers.classify import read_example_files

SETS_WRITTEN_FOR_THIS_TEST = {
    "fresh-1": [("电梯又卡在三楼了", "市政设施"), ("大家早上好", "闲聊"), ("楼下烧烤摊油烟熏死人", "市容秩序")],
    "fresh-2": [("電梯又卡喺三樓啦", "物业管理"), ("楼下烧烤摊油烟熏死人！！", "环境卫生"), ("谢谢你们", "闲聊")],
}


def _write_sets(folder: Path) -> None:
    for name, file in RETIRED.items():
        with (folder / file).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "label"])
            writer.writerows(SETS_WRITTEN_FOR_THIS_TEST.get(name, []))


def test_chit_chat_becomes_no_report_and_a_text_seen_before_is_left_out(tmp_path):
    _write_sets(tmp_path)
    sets = retired_sets(tmp_path)
    assert [e.label for e in sets["fresh-1"]] == ["市政设施", "无", "市容秩序"]
    rows = retired_rows(sets, [{"text": "谢谢你们~", "label": "无", "source": "chat-own"}])
    assert [(row["text"], row["label"], row["set"]) for row in rows] == [
        ("电梯又卡在三楼了", "市政设施", "fresh-1"), ("大家早上好", "无", "fresh-1"),
        ("楼下烧烤摊油烟熏死人", "市容秩序", "fresh-1"),
        # the Cantonese, traditional sentence normalises to another text than set 1's: kept
        ("電梯又卡喺三樓啦", "物业管理", "fresh-2"),
        # set 2's 烧烤摊 (punctuation aside, set 1's text) and its 谢谢你们 (another file's) are left out
    ]
    assert {row["source"] for row in rows} == {SOURCE}


def test_an_emoji_alone_is_its_own_text():
    assert text_key("👍") != text_key("🙏") and text_key("👍 ") == text_key("👍")


def test_the_shipped_file_is_what_the_builder_makes_of_the_six_sets():
    shipped = read_example_files(SHIPPED_CONFIG_DIR)
    retired = [(e["text"], e["label"]) for e in shipped if e["source"] == SOURCE]
    others = [e for e in shipped if e["source"] != SOURCE]
    built = retired_rows(retired_sets(), others)
    assert retired == [(row["text"], row["label"]) for row in built]
    assert len(retired) > 2000 and "闲聊" not in {label for _, label in retired}
    keys = [text_key(text) for text, _ in retired]
    assert len(set(keys)) == len(keys)  # no text twice in the file
    assert not set(keys) & {text_key(e["text"]) for e in others}  # nor in another example file
