"""The hybrid classifier: a learned model beside the rules (issue 14).

Every sentence here is written for this file; none comes from a held-out split.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from config.settings import SHIPPED_CONFIG_DIR
from handlers.classify import (Catalogue, Classifier, ModelOptions, RuleConfigError, TextModel, load_classifier,
                               normalise, read_config, write_config)
from handlers.classify._model import OPENING_MARK, features

CATALOGUE = {
    "decision": {"threshold": 1.0, "ask_threshold": 0.5, "margin": 0.25,
                 "model_match": 0.5, "model_none": 0.35, "model_overrule": 0.9},
    "categories": [{"name": "突发事件", "priority": 9}, {"name": "噪音扰民", "priority": 4},
                   {"name": "环境卫生", "priority": 3}],
}
RULES = {
    "突发事件": [{"id": "fire", "keywords": ["着火"], "weight": 2.0, "priority": 1}],
    "噪音扰民": [{"id": "noise", "keywords": ["噪音"], "weight": 1.2}],
    "环境卫生": [{"id": "rubbish", "keywords": ["垃圾"], "weight": 1.2},
             {"id": "not-rubbish", "exclude": ["垃圾短信"], "weight": 1.0}],
}
NOISE = ["楼上每晚蹦迪到一点", "隔壁唱卡拉到深夜", "工地打桩轰轰响", "楼下酒吧鼓点震天", "邻居半夜剁肉咚咚咚",
         "广场上跳舞音箱开到最大", "装修电钻嗡嗡一整天", "夜里飙车轰油门"]
MESS = ["楼道里臭烘烘的", "门口堆满了烂菜叶", "河沟里漂着死鱼", "绿化带里全是狗屎", "公厕脏得下不去脚",
        "泔水倒在路边发臭", "楼下全是烟头纸屑", "老鼠蟑螂到处爬"]
CHAT = ["你好", "谢谢你们", "早上好", "好的收到", "在吗", "辛苦了", "晚安", "哈哈"]


def examples(rows: list[str], label: str) -> list[dict]:
    return [{"text": text, "label": label, "source": "own"} for text in rows]


EXAMPLES = examples(NOISE, "噪音扰民") + examples(MESS, "环境卫生") + examples(CHAT, "无")


@pytest.fixture(scope="module")
def hybrid() -> Classifier:
    return Classifier.from_data(CATALOGUE, RULES, examples=EXAMPLES)


def test_model_decides_where_the_rules_are_silent(hybrid):
    rules_only = Classifier.from_data(CATALOGUE, RULES)
    text = "楼上天天蹦迪吵到半夜"
    assert rules_only.classify(text).outcome == "none"  # no rule fires
    decision = hybrid.classify(text)
    assert decision.category == "噪音扰民" and decision.decided_by == "model"
    assert decision.outcome in ("match", "ask")
    explained = decision.to_json()["model"]
    assert explained["ranking"][0]["category"] == "噪音扰民"
    features = explained["features"]
    assert features and all(f["feature"] in decision.normalised and f["weight"] > 0 for f in features)
    assert [f["weight"] for f in features] == sorted((f["weight"] for f in features), reverse=True)


def test_rules_decide_where_they_match(hybrid):
    decision = hybrid.classify("楼下噪音好大")
    assert decision.category == "噪音扰民" and decision.outcome == "match" and decision.decided_by == "rules"


def test_an_emergency_rule_wins_even_when_the_model_disagrees(hybrid):
    text = "楼下烂菜叶堆里着火"
    assert hybrid.rank(text)[0].category != "突发事件"  # the model never saw an emergency
    decision = hybrid.classify(text)
    assert decision.category == "突发事件" and decision.outcome == "match" and decision.decided_by == "rules"


def test_a_fired_exclusion_keeps_the_model_off_its_category(hybrid):
    text = "老收到垃圾短信，门口烂菜叶发臭"  # the model alone says 环境卫生
    assert hybrid.rank("门口烂菜叶发臭")[0].category == "环境卫生"
    decision = hybrid.classify(text)
    assert decision.category != "环境卫生"
    assert "环境卫生" not in {c.category for c in decision.ranking}


# A long message (a letter, not a chat line): a noise rule fires on one incidental word, the rest is rubbish.
LETTER = "楼道里臭烘烘的门口堆满了烂菜叶绿化带里全是狗屎泔水倒在路边发臭老鼠蟑螂到处爬还有点噪音"


def with_decision(**decision) -> Classifier:
    return Classifier.from_data({**CATALOGUE, "decision": {**CATALOGUE["decision"], **decision}}, RULES,
                                examples=EXAMPLES)


def test_on_a_long_text_the_model_overrules_the_rules_at_long_overrule():
    assert len(LETTER) >= 40
    strict = with_decision(model_overrule=1.0, long_text=40, long_overrule=1.0)
    assert strict.classify(LETTER).category == "噪音扰民"  # the rule decides: the model may not overrule
    assert strict.rank(LETTER)[0].category == "环境卫生"
    letters = with_decision(model_overrule=1.0, long_text=40, long_overrule=0.0)
    decision = letters.classify(LETTER)
    assert decision.category == "环境卫生" and decision.decided_by == "model" and decision.outcome == "match"
    short = "门口堆满了烂菜叶有噪音"  # the same conflict in a chat-length message: model_overrule holds
    assert letters.rank(short)[0].category == "环境卫生"
    assert letters.classify(short).category == "噪音扰民"


def test_long_match_decides_a_long_text_the_model_is_unsure_of():
    text = LETTER.replace("还有点噪音", "")  # no rule fires
    assert len(text) >= 30
    asking = with_decision(model_match=1.0, long_text=30, long_match=1.0)
    assert asking.classify(text).outcome == "ask"
    deciding = with_decision(model_match=1.0, long_text=30, long_match=0.0)
    assert deciding.classify(text).outcome == "match" and deciding.classify(text).category == "环境卫生"
    assert deciding.classify("门口烂菜叶发臭").outcome == "ask"  # short: model_match holds


def test_long_thresholds_apply_from_long_text_characters_and_are_off_by_default():
    catalogue = Catalogue.from_data({**CATALOGUE, "decision": {"model_match": 0.4, "model_overrule": 0.9,
                                                               "long_text": 5, "long_match": 0.1,
                                                               "long_overrule": 0.6}})
    assert catalogue.model_thresholds("四个字儿") == (0.4, 0.9)
    assert catalogue.model_thresholds("五个字儿啊") == (0.1, 0.6)
    assert Catalogue.from_data(CATALOGUE).model_thresholds("长" * 1000) == (0.5, 0.9)
    with pytest.raises(RuleConfigError, match="long_text"):
        Catalogue.from_data({**CATALOGUE, "decision": {"long_text": -1}})


def test_a_long_texts_opening_is_a_second_feature_block():
    options = ModelOptions(opening=4)
    assert features("楼上吵", options) == features("楼上吵", ModelOptions(opening=0))
    grams = features("楼上好吵啊真的", options)
    assert [g for g in grams if g.startswith(OPENING_MARK)] == [OPENING_MARK + g for g in features("楼上好吵", options)]
    assert len(grams) == len(features("楼上好吵啊真的", ModelOptions(opening=0))) + len(features("楼上好吵", options))


def test_explained_opening_features_name_their_kind():
    opening = ModelOptions(opening=6)
    long_noise = [text + "后来还是老样子" for text in NOISE]
    model = TextModel.train(long_noise + MESS, ["噪音扰民"] * len(long_noise) + ["环境卫生"] * len(MESS), opening)
    explained = model.explain("楼上每晚蹦迪到一点后来还是老样子", "噪音扰民", top=20)
    assert {f["kind"] for f in explained} == {"chars", "opening"}
    assert all(f["feature"] in "楼上每晚蹦迪" for f in explained if f["kind"] == "opening")


def test_greetings_are_not_turned_into_cases(hybrid):
    for text in ("你好呀", "谢谢"):
        decision = hybrid.classify(text)
        assert decision.outcome == "none" and decision.category is None, text


def test_ranking_is_calibrated_probabilities_over_every_class(hybrid):
    ranking = hybrid.rank("半夜楼上蹦迪")
    assert {c.category for c in ranking} == {"噪音扰民", "环境卫生", "无"}
    assert sum(c.score for c in ranking) == pytest.approx(1.0)
    assert ranking == sorted(ranking, key=lambda c: -c.score)
    assert Classifier.from_data(CATALOGUE, RULES).rank("半夜楼上蹦迪") == []


def test_added_examples_retrain_the_model(hybrid):
    text = "小区鸽子太多满地鸟粪"
    before = hybrid.rank(text)
    retrained = hybrid.with_examples(examples(["鸽子粪掉得满阳台", "鸟粪弄脏了车", "鸽子粪臭死了"], "噪音扰民"))
    assert retrained.rank(text)[0].category == "噪音扰民"
    assert dict(before)["噪音扰民"] < dict(retrained.rank(text))["噪音扰民"]
    assert len(retrained.examples()) == len(EXAMPLES) + 3 and len(hybrid.examples()) == len(EXAMPLES)


def test_examples_travel_with_the_rule_set(hybrid, tmp_path):
    stored = hybrid.to_dict()
    assert stored["examples"][0] == EXAMPLES[0]
    again = Classifier.from_dict(stored)
    assert again.rank("楼上天天蹦迪") == hybrid.rank("楼上天天蹦迪")
    write_config(tmp_path, stored["catalogue"], stored["rules"], stored["examples"])
    assert (tmp_path / "examples" / "own.csv").is_file()
    assert Classifier.from_dir(tmp_path).examples() == EXAMPLES


def test_an_example_with_an_unknown_label_names_itself():
    with pytest.raises(RuleConfigError) as raised:
        Classifier.from_data(CATALOGUE, RULES, examples=EXAMPLES + [{"text": "x", "label": "火星事务", "source": "own"}])
    assert "火星事务" in str(raised.value) and "examples/own.csv" in str(raised.value)


def test_the_shipped_config_loads_its_examples_and_the_model_fills_rule_gaps():
    classifier = load_classifier(SHIPPED_CONFIG_DIR)
    _, rules, _ = read_config(SHIPPED_CONFIG_DIR)
    rules_only = Classifier.from_data(classifier.to_data()[0], rules)
    assert classifier.model is not None and len(classifier.examples()) > 1000
    for text, label in (("工地的大机器一直轰到后半夜", "噪音扰民"), ("楼上那户每天深更半夜拖柜子", "噪音扰民"),
                        ("小区里有几个人天天聚在一起打牌赌钱", "治安隐患")):
        assert rules_only.classify(text).outcome == "none", text  # the rules alone would bounce it
        decision = classifier.classify(text)
        assert decision.category == label and decision.decided_by == "model", (text, decision.to_json())
    for text in ("你们好呀", "谢谢啦辛苦"):
        assert classifier.classify(text).outcome == "none", text


def test_department_letters_the_rules_cannot_place_take_the_models_top_department():
    from benchmarks.build_examples import department_examples
    from handlers.classify import Example

    catalogue = {"categories": [{"name": "噪音扰民"}, {"name": "教育", "grid_matter": False, "department": "教育局"},
                                {"name": "税务", "grid_matter": False, "department": "税务局"}]}
    school = ["孩子上学报名排不上号", "学校划片不合理", "幼儿园学位太少", "小学入学要什么材料", "转学手续怎么办"]
    tax = ["个税退税怎么申报", "发票开错了找谁", "交税的系统登不上", "房产税怎么交", "社保和个税扣了两次"]
    model = Classifier.from_data(catalogue, {}, examples=examples(school, "教育") + examples(tax, "税务")
                                 + examples(NOISE, "噪音扰民"))
    mixed = "楼上每晚蹦迪到一点，个税的事也想问"
    assert model.rank(mixed)[0].category == "噪音扰民"
    placed = department_examples([Example("想问问孩子入学报名的事" + "具体情况如下" * 60, "非网格事项"),
                                  Example(mixed, "非网格事项")], model)
    assert [e["label"] for e in placed] == ["教育", "税务"]  # the second: its top category is no department
    assert placed[0]["text"] == ("想问问孩子入学报名的事" + "具体情况如下" * 60)[:250]
    assert {e["source"] for e in placed} == {"citizen-letters"}


def _reference_logits(model: TextModel, normalised: str) -> np.ndarray:
    """The logits the slow, obvious way: the L2-normalised sublinear tf-idf vector of `features`, times
    the weights, plus the bias, times the temperature."""
    counts = Counter(g for g in features(normalised, model.options) if g in model.vocabulary)
    vector = np.zeros(len(model.vocabulary))
    for gram, count in counts.items():
        vector[model.vocabulary[gram]] = (1 + math.log(count)) * model.idf[model.vocabulary[gram]]
    norm = np.linalg.norm(vector)
    return ((vector / norm if norm else vector) @ model.weights + model.bias) * model.temperature


@pytest.mark.parametrize("text", ["楼上天天半夜拖椅子吵得睡不着", "吵吵吵楼上吵楼下也吵", "", "a", "zz",
                                  "隔壁装修从早到晚电钻响个不停我家老人心脏不好已经跟物业说了好几次都没人管麻烦你们来看看"
                                  "好吗谢谢隔壁装修又开始了", "𠮷野家门口的路灯坏了"])
def test_the_fast_feature_lookup_gives_the_tfidf_models_scores(text):
    """The per-message path (n-grams looked up in one pass, opening block in its own table, counts only
    when an n-gram repeats) scores a text exactly as its full tf-idf vector does: short, repeated, long
    (opening block), empty and non-BMP texts."""
    model = load_classifier(SHIPPED_CONFIG_DIR).model
    normalised = normalise(text)
    assert np.allclose(model.logits(normalised), _reference_logits(model, normalised), rtol=0, atol=1e-12)
    explained = model.explain(normalised, model.classes[0], top=len(model.vocabulary))
    assert {f["feature"] for f in explained} <= {g.removeprefix(OPENING_MARK) for g in features(normalised, model.options)}
