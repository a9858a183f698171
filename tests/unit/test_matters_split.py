"""A message that reports separate matters is split into them; one matter told in several clauses is not.

Every sentence here is written for this file; none comes from a held-out split, an example file or the labelled file.
"""

from __future__ import annotations

import pytest
import yaml

from config.settings import SHIPPED_CONFIG_DIR
from handlers.classify import load_classifier
from handlers.conversation.matters import clear_report, matter_rules, matters

TWO_MATTERS = [
    ("单元门口的路灯坏了，还有地下车库的垃圾桶好几天没人倒了",
     [("单元门口的路灯坏了", "市政设施"), ("还有地下车库的垃圾桶好几天没人倒了", "环境卫生")]),
    ("楼上天天半夜装修吵得睡不着。楼下有人私自搭了个棚子",
     [("楼上天天半夜装修吵得睡不着", "噪音扰民"), ("楼下有人私自搭了个棚子", "违章搭建")]),
    ("1. 路灯坏了 2. 垃圾没人收", [("路灯坏了", "市政设施"), ("垃圾没人收", "环境卫生")]),
    ("一是楼下井盖丢了，二是隔壁天天晚上唱歌很吵", [("楼下井盖丢了", "市政设施"), ("隔壁天天晚上唱歌很吵", "噪音扰民")]),
    ("电梯坏了三天了，另外停水了", [("电梯坏了三天了", "物业管理"), ("另外停水了", "市政设施")]),
    ("有个老人摔倒在楼道起不来了，还有门口的井盖松了",
     [("有个老人摔倒在楼道起不来了", "突发事件"), ("还有门口的井盖松了", "市政设施")]),
    # one category at two numbered spots: two matters, though only a comma parts them
    ("3栋门口的路灯坏了，5栋门口的路灯也坏了", [("3栋门口的路灯坏了", "市政设施"), ("5栋门口的路灯也坏了", "市政设施")]),
    # a comma, then another thing that is broken too (…也…): two matters when both are clear and of two categories
    ("楼下路灯坏了，垃圾桶也满了没人收", [("楼下路灯坏了", "市政设施"), ("垃圾桶也满了没人收", "环境卫生")]),
    ("单元门的门禁坏了，楼下的垃圾也好几天没人收", [("单元门的门禁坏了", "物业管理"), ("楼下的垃圾也好几天没人收", "环境卫生")]),
    # one category, said to be another matter (另外; 还有 with a thing “also” in trouble) about another thing
    ("滨江花园二期2栋旁边的井盖被车压坏了。另外小区的路灯也有好几盏不亮了",
     [("滨江花园二期2栋旁边的井盖被车压坏了", "市政设施"), ("另外小区的路灯也有好几盏不亮了", "市政设施")]),
    ("明湖新村5栋电梯坏了，还有门禁也刷不开", [("明湖新村5栋电梯坏了", "物业管理"), ("还有门禁也刷不开", "物业管理")]),
    # a part no rule reads, that the model is all but certain of (matters.yaml's model_sure)
    ("单元门口的路灯坏了，还有楼上天天弹钢琴到半夜", [("单元门口的路灯坏了", "市政设施"), ("还有楼上天天弹钢琴到半夜", "噪音扰民")]),
]

ONE_MATTER = [
    "垃圾桶满了，臭气熏天",
    "楼下的垃圾桶满了，好几天没人清理，臭得不行，苍蝇乱飞",
    "路灯坏了，晚上很黑，老人出门容易摔",
    "楼上漏水，把我家天花板泡坏了，物业也不管",  # what the matter lacks: not a 物业管理 matter of its own
    "楼道里堆满了纸箱，很危险，万一着火了怎么办",  # a fear, not a fire
    "小区里有人私搭乱建，搭了个铁皮棚子，还占了消防通道",  # what the shed does: one matter
    "我家门口的路灯坏了，楼下的垃圾桶好几天没人倒了",  # a comma alone, no other spot: kept whole (conservative)
    "马路上的红绿灯坏了。车很多很危险。",
    "电梯坏了好几天了。另外说一下，电梯里的按钮也掉了",  # the same matter's other detail
    "垃圾站旁边新搭了个棚子。里面堆满了垃圾，臭气熏天",  # 里面: what the shed holds, the same matter
    "垃圾桶满了，旁边的地上也全是垃圾",  # …也… of the same category: one matter
    "楼下路灯坏了，晚上也黑得看不见路",  # …也… that is no clear report of its own
    "电梯坏了，物业也不管",  # what the matter lacks, not a matter of its own
    "楼道的声控灯坏了，晚上啥也看不见",  # 啥也: "at all", not "also"
    "井盖缺了一块，差点崴脚！在公交站牌旁边",  # 在…: where the matter is, not another matter
    "湖景苑3栋楼道的灯坏了。还有楼道的灯开关也坏了",  # another matter said, but of the same thing (楼道的灯)
    "金桂园门口垃圾桶满了。另外垃圾桶旁边的垃圾也没人收",  # the same thing: one matter
    "小区河沟里的水又黑又臭，还有好多蚊子",  # 还有 saying what else is there, no thing “also” in trouble
]


@pytest.fixture(scope="module")
def classifier():
    return load_classifier(SHIPPED_CONFIG_DIR)


def split(classifier, text: str, rules=None) -> list[tuple[str, str]] | None:
    parts = matters(classifier, text, classifier.classify(text), rules or matter_rules())
    return None if parts is None else [(part.text, part.decision.category) for part in parts]


@pytest.mark.parametrize(("text", "expected"), TWO_MATTERS, ids=[text for text, _ in TWO_MATTERS])
def test_two_matters_are_split_into_the_words_of_each(classifier, text, expected):
    assert split(classifier, text) == expected


@pytest.mark.parametrize("text", ONE_MATTER)
def test_one_matter_told_in_several_clauses_stays_whole(classifier, text):
    assert split(classifier, text) is None


def test_words_before_the_first_matter_place_the_later_ones_too(classifier):
    """湖景苑3栋，路灯…，还有垃圾…: the place written first belongs to both matters."""
    parts = matters(classifier, text := "湖景苑3栋，路灯不亮了，还有垃圾桶满了没人清", classifier.classify(text), matter_rules())
    assert [(part.text, part.lead) for part in parts] == [("湖景苑3栋，路灯不亮了", ""), ("还有垃圾桶满了没人清", "湖景苑3栋，")]


def test_a_message_without_a_split_mark_is_not_classified_again(classifier):
    """The ordinary message costs a regex search: its clauses are never classified."""
    class Counting:
        calls = 0

        def classify(self, text):
            Counting.calls += 1
            return classifier.classify(text)

    text = "小区门口的垃圾桶满了好几天没人清理臭气熏天"
    assert matters(Counting(), text, classifier.classify(text), matter_rules()) is None
    assert Counting.calls == 0


def test_a_fragment_the_model_alone_reads_as_a_category_is_no_clear_report(classifier):
    """好几天了 names no matter (no rule of the category fires), however sure the model; 电梯坏了 does."""
    sure = matter_rules().part_sure
    assert not clear_report(classifier.classify("好几天了"), sure)
    assert clear_report(classifier.classify("电梯坏了"), sure)


def test_a_part_only_the_model_reads_is_clear_only_when_it_is_all_but_certain(classifier):
    """楼上天天弹钢琴到半夜 fires no rule: clear with matters.yaml's model_sure, not without it."""
    decision = classifier.classify("楼上天天弹钢琴到半夜")
    assert not any(rule["category"] == decision.category for rule in decision.rules)
    rules = matter_rules()
    assert clear_report(decision, rules.part_sure, rules.model_sure)
    assert not clear_report(decision, rules.part_sure)
    assert not clear_report(decision, rules.part_sure, 0.99999999)


def test_the_split_words_come_from_the_config(classifier, tmp_path):
    """Without 还有 among the words that add a matter, the message stays whole."""
    data = yaml.safe_load((SHIPPED_CONFIG_DIR / "matters.yaml").read_text(encoding="utf-8"))
    data["words"] = [word for word in data["words"] if not word.startswith("还有")]
    (tmp_path / "matters.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert split(classifier, TWO_MATTERS[0][0], matter_rules(tmp_path)) is None
    assert split(classifier, TWO_MATTERS[0][0]) == TWO_MATTERS[0][1]
