"""Emergency rules (突发事件) are authoritative, so they must not fire on incidental words: deep in a
long letter, in a hypothetical or a past incident, in an everyday sense. Real emergencies still match.
Every sentence here was written for this test."""

from __future__ import annotations

import pytest

from config.settings import SHIPPED_CONFIG_DIR
from handlers.classify import Classifier, lint, load_classifier, normalise

CATALOGUE = {
    "decision": {"threshold": 1.0, "ask_threshold": 0.5, "margin": 0.25, "urgent_length": 20, "urgent_opening": 8},
    "categories": [{"name": "物业管理", "priority": 4},
                   {"name": "突发事件", "priority": 9, "urgent": True, "clock": {"take": "15m"}}],
}
RULES = {
    "突发事件": [{"id": "trapped", "keywords": ["被困"], "weight": 2.0, "priority": 1},
             {"id": "fire", "fuzzy": ["楼道起火"], "weight": 2.0, "threshold": 80},
             {"id": "hypothetical", "exclude": ["容易着火"]}, {"id": "burning", "keywords": ["着火"], "weight": 2.0}],
    "物业管理": [{"id": "lift", "keywords": ["电梯"], "weight": 1.0}],
}


def build(**decision) -> Classifier:
    return Classifier.from_data({**CATALOGUE, "decision": {**CATALOGUE["decision"], **decision}}, RULES)


def category(classifier: Classifier, text: str) -> tuple[str | None, str]:
    decision = classifier.classify(text)
    return decision.category, decision.outcome


def test_an_emergency_word_counts_in_a_letters_opening_but_not_deep_inside():
    classifier = build()
    assert category(classifier, "有人被困电梯里了请马上来人救援我们小区的电梯一直有问题") == ("突发事件", "match")
    deep = classifier.classify("投诉物业电梯维修不及时上个月还有业主被困电梯里很久没有人来")
    assert (deep.category, deep.outcome) == ("物业管理", "match")
    assert "trapped" not in [rule["id"] for rule in deep.rules]


def test_a_message_no_longer_than_urgent_length_counts_everywhere():
    classifier = build()
    text = "你好我家楼上电梯有人被困"
    assert len(normalise(text)) <= 20 and normalise(text).index("被困") >= 8
    assert category(classifier, text) == ("突发事件", "match")


def test_the_opening_rule_is_off_without_urgent_length_and_spares_other_categories():
    letter = "投诉物业电梯维修不及时上个月还有业主被困电梯里很久没有人来"
    assert category(build(urgent_length=0), letter) == ("突发事件", "match")
    deep_lift = "这个月小区楼下的路灯和水管都坏了还有电梯"
    assert category(build(), deep_lift) == ("物业管理", "match")


def test_fuzzy_emergency_phrases_follow_the_opening_rule_too():
    assert category(build(), "楼道起火啦快来人啊我们在六楼下不去了") == ("突发事件", "match")
    assert category(build(), "物业的电梯总是坏而且去年冬天楼道起火时没人管") == ("物业管理", "match")


def test_a_hypothetical_exclusion_masks_only_the_word_it_covers():
    classifier = build()
    assert category(classifier, "电线很容易着火") == (None, "none")
    assert category(classifier, "厨房着火") == ("突发事件", "match")


def test_lint_calls_a_keyword_shadowed_only_when_an_exclusion_lies_inside_it():
    classifier = Classifier.from_data(CATALOGUE, {
        "突发事件": [{"id": "burning", "keywords": ["着火"]}, {"id": "hypothetical", "exclude": ["容易着火"]},
                 {"id": "old", "keywords": ["着火过"]}, {"id": "past", "exclude": ["火过"]}]})
    shadowed = {finding.rule for finding in lint(classifier) if finding.kind == "shadowed"}
    assert shadowed == {"old"}


# A chat message (not longer than the shipped urgent_length) whose emergency comes after the letters' opening.
RAMBLING = ("你好，我是三栋二单元的老李，跟你们说一下我们这边的情况，楼上那户平时就不太注意用电，刚才我闻到一股很大的焦味，"
            "出门一看，楼道里起火了，烟越来越大")


def test_the_rambling_message_is_chat_length_with_its_fire_past_the_opening(shipped):
    text = normalise(RAMBLING)
    assert shipped.catalogue.urgent_opening <= text.index("起火") and len(text) <= shipped.catalogue.urgent_length

VOICE_RUN_ON = ("喂你好我是五号楼的王阿姨我这个手机打字不方便是孙子教我用语音的我跟你讲一下啊我家住三楼今天一早起来买菜回来"
                "走到二楼楼梯口的时候就闻到一股很冲的煤气味道越来越重了我也不敢按门铃怕出事你们赶紧派人过来看看吧我现在站在楼下等着")


def test_a_long_voice_message_has_its_danger_past_the_rules_reach(shipped):
    """Beyond urgent_length the emergency rules see only the opening: the model must catch this one."""
    text = normalise(VOICE_RUN_ON)
    assert len(text) > shipped.catalogue.urgent_length and text.index("煤气") > shipped.catalogue.urgent_opening


@pytest.fixture(scope="module")
def shipped():
    return load_classifier(SHIPPED_CONFIG_DIR)


@pytest.mark.parametrize("text", [
    "楼下着火了，快来人",
    "我家厨房煤气味很重，是不是漏气了",
    "有个老人倒在地上起不来了",
    "电梯里有人被困，按铃没人应",
    "电线老化很容易着火，现在楼道里起火了，快来人",
    "暴雨导致围墙坍塌了，压到人了",
    "煤气罐漏气了，马上会爆炸，快来",
    "紧急求助：小区地下车库着火了，浓烟已经冒到一楼大厅，很多住户还在楼上，请马上派人来处理，我们已经打了119但还没到，"
    "物业的人说他们也没办法，大家都很害怕",
    RAMBLING,
    VOICE_RUN_ON,
])
def test_real_emergencies_still_match_at_once(shipped, text):
    decision = shipped.classify(text)
    assert (decision.category, decision.outcome) == ("突发事件", "match")


@pytest.mark.parametrize("text", [
    "电线乱拉，很容易着火",
    "那个煤气罐放在楼道里，迟早会爆炸",
    "楼道堆满杂物，万一起火人都跑不出去",
    "去年楼下着火过一次，现在消防通道还是堵着",
    "孩子早上上学起不来",
    "楼上装修，声音巨响",
    "物业不管，要是出了流血冲突谁负责",
    "关于我们小区电梯长期故障无人维修的投诉：尊敬的领导您好，我是幸福里小区5栋的业主，我们这栋楼的电梯从今年三月份开始"
    "就经常出故障，物业每次只是简单处理一下，上个月还发生过业主被困电梯的情况，物业至今没有彻底维修，希望有关部门督促物业尽快更换电梯",
    "反映小区楼道堆放杂物和电动车充电的问题：尊敬的领导您好，我们小区好几栋楼的楼道里长期堆满了纸箱旧家具，还有人把电动车推进"
    "楼道里充电，物业多次提醒也没有用，大家都很担心哪天真的起火了后果不堪设想，恳请相关部门尽快组织清理",
])
def test_past_hypothetical_and_incidental_mentions_are_no_emergency(shipped, text):
    assert shipped.classify(text).category != "突发事件"


@pytest.mark.parametrize("text", [
    "楼下有人触电了，快叫人",
    "我爸突然抽搐，叫也叫不醒",
    "有个小孩掉水里了",
    "一家三口关在电梯里了",
    "门口出车祸了，有人流了很多血",
    "楼道里有股很浓的液化气味",
])
def test_live_dangers_of_the_fourth_round_match_by_an_emergency_rule(shipped, text):
    """Dangers the rules used to miss (electrocution, seizure, drowning, stuck in a lift, a road accident, gas)."""
    decision = shipped.classify(text)
    assert (decision.category, decision.outcome, decision.decided_by) == ("突发事件", "match", "rules")
    assert any(rule["category"] == "突发事件" and rule["score"] >= 2.0 for rule in decision.rules)


@pytest.mark.parametrize("text", [
    "电梯困了个老人在里面",
    "电梯把人困住了，按警铃没人理",
    "我家孩子被关在里面出不来了",
    "地下车库电梯困了两个人",
    "電梯裡困住兩個人",
    "我们楼电梯又坏了，关人了",  # 关人了: merged into the lift's pending 物业管理 case as a likely duplicate
    "电梯卡在三楼，里面关着人",
])
def test_people_trapped_now_match_by_an_emergency_rule(shipped, text):
    """Someone trapped now, in the words people use (困了个老人, 困住, 被关在里面): only the lift's 物业管理 rule
    fired, so the case was 物业管理 or asked back wherever the model did not step in (not trained yet, unsure)."""
    decision = shipped.classify(text)
    assert (decision.category, decision.outcome, decision.decided_by) == ("突发事件", "match", "rules")
    assert any(rule["category"] == "突发事件" and rule["score"] >= 2.0 for rule in decision.rules)


@pytest.mark.parametrize("text", ["上周电梯还困了一个人，物业一直没修", "这电梯以前困过人，物业就是不修"])
def test_someone_trapped_told_as_the_past_is_no_emergency(shipped, text):
    assert shipped.classify(text).category != "突发事件"


@pytest.mark.parametrize("text", ["配电箱门开着，小孩容易触电", "小区里电线杆上挂着小心触电的牌子掉了"])
def test_electrocution_named_as_a_risk_is_no_emergency(shipped, text):
    assert shipped.classify(text).category != "突发事件"


@pytest.mark.parametrize("text", ["我老公又打我了，孩子吓得一直哭", "救救我，老公在打我", "隔壁天天家暴，女的一直在喊"])
def test_a_resident_beaten_at_home_is_an_emergency_not_a_neighbours_dispute(shipped, text):
    """我老公打我 was 矛盾纠纷 (and, short, joined the resident's earlier case as words)."""
    decision = shipped.classify(text)
    assert (decision.category, decision.outcome, decision.decided_by) == ("突发事件", "match", "rules")


def test_call_me_is_no_beating(shipped):
    assert shipped.classify("有问题可以打我电话，13800001234").category != "突发事件"


@pytest.mark.parametrize("text, category", [
    ("电动车停在楼梯口充电，要是着火了人都跑不出去", "消防安全"),
    ("楼道里堆满了纸箱子，如果起火了消防车都进不来", "消防安全"),
    ("楼下饭店的煤气罐就放在门口，一旦爆炸后果不堪设想", "安全生产"),
])
def test_a_fire_feared_on_a_condition_is_the_hazard_not_an_emergency(shipped, text, category):
    """要是着火了… / 一旦爆炸… told a feared fire as a live one: urgent, the leaders paged, for a blocked stairwell."""
    decision = shipped.classify(text)
    assert (decision.category, decision.outcome) == (category, "match")


@pytest.mark.parametrize("text", ["电表箱在冒烟，要是着火就完了", "插座开始冒烟了，要是着火怎么办", "煤气泄漏了，味道很大，要是爆炸怎么办"])
def test_a_live_danger_with_a_worse_one_feared_is_still_an_emergency(shipped, text):
    decision = shipped.classify(text)
    assert (decision.category, decision.outcome) == ("突发事件", "match")


@pytest.mark.parametrize("text", ["饭店油烟机冒烟了一整天，呛死人", "隔壁烟囱冒黑烟，臭得很"])
def test_a_kitchen_or_chimney_smoking_is_no_emergency(shipped, text):
    assert shipped.classify(text).category != "突发事件"
