"""Alike words are not enough to follow another resident's case: nothing in the two reports may say they are
about different things (handlers.cases.duplicates.same_matter). Our own sentences."""

from __future__ import annotations

import pytest

from handlers.cases.duplicates import content, place_words, same_matter, similarity

LINK = 70  # the shipped config's duplicate_similarity.link

SAME = [
    ("小区北门的垃圾桶好几天没人倒，臭得不行", "小区北门垃圾桶几天没人倒了，太臭了"),
    ("楼下的路灯坏了好几天了，晚上黑乎乎的", "楼下的路灯坏了好几天，晚上很黑"),
    ("楼道里堆满了杂物，堵住了消防通道", "楼道里堆满了杂物，堵住了消防通道，太危险"),
    ("楼下垃圾桶满了没人清理", "垃圾桶满了好几天了没人清理"),
    ("北门那块井盖松了，车一过就响", "北门井盖松了，车压过去就响"),  # a wording, not another thing
    ("西门花坛边的垃圾桶满了没人收", "西门花坛边垃圾桶满了！！！！赶紧处理一下，谢谢👍👍"),  # pressed and thanked
    ("东门的垃圾桶满啦，好臭哦", "东门的垃圾桶满了，超臭"),  # sentence particles are fillers
    ("南门岗亭边的垃圾桶满了哦好臭", "南门岗亭边的垃圾桶满了超臭"),
    ("3栋电梯按钮按了没反应", "3栋电梯按键没反应"),  # one thing in two words (commands.yaml same_things)
    ("5栋电梯里的按钮失灵了", "5栋电梯里的按键不灵了"),
]
# Two matters pressed alike: pleas, thanks and emoji are no part of either.
PRESSED_APART = ("楼道灯坏了！！！麻烦尽快处理，谢谢🙏🙏", "楼道里堆满了杂物！！！麻烦尽快处理，谢谢🙏🙏")
# Alike enough to have been linked, each about another thing, day or home.
APART = [
    ("楼道灯坏了，晚上黑漆漆的", "路灯坏了，晚上黑漆漆的"),  # the stairwell's lamp is not the street's
    ("小区里有人遛狗不牵绳", "小区里有人遛狗不捡粪便"),  # another complaint about dogs
    ("昨天晚上有人在楼下打架", "今天早上有人在楼下打架"),  # another day, another fight
    ("楼上天天装修很吵", "楼下天天装修很吵"),  # the flat above is not the flat below
    ("楼上天天装修很吵", "楼上天天装修很吵"),  # each reporter's flat above: another home
    ("隔壁家的狗整夜叫个不停", "隔壁家的狗整夜叫个不停"),
]


@pytest.mark.parametrize(("first", "second"), SAME)
def test_a_report_that_only_says_more_or_less_is_the_same_matter(first, second):
    assert similarity(first, second) >= LINK and same_matter(first, second)


@pytest.mark.parametrize(("first", "second"), APART)
def test_alike_reports_about_another_thing_day_or_home_are_not_the_same_matter(first, second):
    assert similarity(first, second) >= LINK and not same_matter(first, second)


def test_the_same_pleas_do_not_make_two_matters_alike():
    assert similarity(*PRESSED_APART) < LINK


def test_an_estate_named_with_no_kind_of_place_is_a_place_word_of_its_buildings():
    """金桂园 of 金桂园3-4栋 (苑, 园, 华庭: no 小区 or 花园 to end it) is a place, not what a report says is wrong."""
    words = place_words("明湖区湖滨街道湖滨路126号金桂园3-4栋", "阳光社区第三网格")
    assert "金桂园" in words and "湖滨路" in words and "126号" in words
    assert content("金桂园3栋门口的井盖松了", words) == content("门口的井盖松了")
