"""Normalisation: what every rule is matched against."""

from __future__ import annotations

import pytest

from handlers.classify import normalise
from handlers.classify._normalise import chinese_number


@pytest.mark.parametrize(("text", "expected"), [
    ("路燈壞了", "路灯坏了"),  # traditional → simplified
    ("ＷＩＦＩ信號", "wifi信号"),  # full width → half width, case folded
    ("三栋二单元三零二室", "3栋2单元302室"),  # numerals before a counter
    ("十二号楼一百零二室", "12号楼102室"),
    ("一下子", "一下子"),  # numerals elsewhere stay
    ("垃圾，满了！！！😡😡 ", "垃圾满了"),  # punctuation, emoji, whitespace
    ("吵吵吵吵吵", "吵"),  # repeats collapsed
    ("1111号", "1111号"),  # digits are never collapsed
    ("wifi  5g 坏了", "wifi 5g坏了"),  # a space survives only between latin words
    ("隔籬成日好嘈，瞓唔着", "隔壁整天好吵睡不着"),  # Cantonese words
])
def test_normalise(text, expected):
    assert normalise(text) == expected


def test_chinese_numbers():
    assert [chinese_number(n) for n in ("十", "十五", "二十", "一百零二", "三零二", "两千")] == [10, 15, 20, 102, 302, 2000]
