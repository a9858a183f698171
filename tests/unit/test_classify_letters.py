"""A long text's rules and model weighed together (issue 14, fourth round): `long_rules`, `long_scale`,
`long_rule_cap` and each category's `long_bias` (`Classifier._weighed`); fifth round: `long_title` and
`department_signals` with `long_signal`; eleventh round: `long_letters`. Sentences written for this file."""

from __future__ import annotations

import pytest

from handlers.classify import Catalogue, Classifier, RuleConfigError
from handlers.classify._model import title

CATALOGUE = {
    "decision": {"threshold": 1.0, "ask_threshold": 0.5, "margin": 0.25, "model_match": 0.5, "model_none": 0.35,
                 "model_overrule": 0.9, "long_text": 40, "long_match": 0.0, "long_overrule": 0.7},
    "categories": [{"name": "突发事件", "priority": 9, "urgent": True}, {"name": "噪音扰民", "priority": 4},
                   {"name": "环境卫生", "priority": 3}, {"name": "税务", "grid_matter": False, "department": "税务局"}],
}
RULES = {
    "突发事件": [{"id": "smoke", "keywords": ["冒黑烟"], "weight": 2.0, "priority": 1}],
    "噪音扰民": [{"id": "noise", "keywords": ["吵闹"], "weight": 1.2}],
    "环境卫生": [{"id": "dirt", "keywords": ["臭水沟"], "weight": 1.2}],
}
NOISE = ["对门天天半夜打麻将哗啦啦", "楼上小孩跳绳咚咚响", "街口烧烤摊喇叭喊到两点", "隔壁琴房一练就是一晚上",
         "楼下汽修店砸钣金哐哐的", "小区门口天天放鞭炮"]
DIRT = ["花坛里扔满了外卖盒", "垃圾房门口污水横流", "楼梯间有人随地吐痰", "菜场后面鱼鳞堆着发酸",
        "单元门口狗粪没人管", "河边漂着一层白色泡沫"]
TAX = ["个税汇算退税怎么还没到", "开发票要交多少税", "个体户怎么报税", "房子过户契税怎么算"]
EXAMPLES = [{"text": text, "label": label, "source": "own"}
            for rows, label in ((NOISE, "噪音扰民"), (DIRT, "环境卫生"), (TAX, "税务")) for text in rows]
# A letter about rubbish in which the noise rule fires on one word: the model says 环境卫生, the rules 噪音扰民.
LETTER = "花坛里扔满了外卖盒垃圾房门口污水横流菜场后面鱼鳞堆着发酸单元门口狗粪没人管楼里有点吵闹"
SHORT = "垃圾房污水横流有点吵闹"


def classifier(biases: dict[str, float] | None = None, **decision) -> Classifier:
    categories = [{**entry, "long_bias": (biases or {}).get(entry["name"], 0.0)} for entry in CATALOGUE["categories"]]
    return Classifier.from_data({"decision": {**CATALOGUE["decision"], **decision}, "categories": categories},
                                RULES, examples=EXAMPLES)


def test_a_letters_rule_score_is_weighed_against_the_model_by_long_rules():
    assert len(LETTER) >= 40 and classifier().rank(LETTER)[0].category == "环境卫生"
    heavy = classifier(long_rules=5.0).classify(LETTER)
    assert (heavy.category, heavy.outcome, heavy.decided_by) == ("噪音扰民", "match", "rules")
    light = classifier(long_rules=0.01).classify(LETTER)
    assert (light.category, light.outcome, light.decided_by) == ("环境卫生", "match", "model")
    assert light.score == light.ranking[0].score and abs(sum(c.score for c in classifier(long_rules=0.01)
                                                             .classify(LETTER).ranking) - 1) < 0.05


def test_the_rule_score_counts_up_to_long_rule_cap():
    capped = classifier(long_rules=5.0, long_rule_cap=0.0).classify(LETTER)
    assert capped.category == "环境卫生"  # a cap of 0: the rule adds nothing


def test_long_bias_moves_a_letter_toward_its_category_and_leaves_chat_alone():
    text = LETTER.replace("楼里有点吵闹", "河边漂着一层白色泡沫")  # no rule fires
    assert len(text) >= 40
    assert classifier(long_rules=0.5).classify(text).category == "环境卫生"
    biased = classifier({"噪音扰民": 20.0}, long_rules=0.5)
    assert biased.classify(text).category == "噪音扰民"
    department = classifier({"税务": 20.0}, long_rules=0.5).classify(text)
    assert department.category == "税务" and department.grid_matter is False
    plain = classifier().classify(SHORT)
    for short in (biased.classify(SHORT), classifier(long_rules=5.0).classify(SHORT)):
        assert (short.category, short.outcome, short.score, short.decided_by) == \
            (plain.category, plain.outcome, plain.score, plain.decided_by)


def test_long_match_still_asks_when_the_weighed_top_is_unsure():
    decision = classifier(long_rules=0.5, long_scale=0.0, long_match=0.9).classify(LETTER)
    assert decision.outcome == "ask"  # scale 0: only the rule and the biases speak, too weakly for 0.9


def test_an_emergency_rule_in_a_weighed_letter_still_decides():
    text = "对面厂房顶上冒黑烟了" + LETTER
    decision = classifier({"突发事件": -50.0}, long_rules=0.5).classify(text)
    assert (decision.category, decision.outcome, decision.decided_by) == ("突发事件", "match", "rules")


def test_without_long_rules_a_letter_keeps_long_overrule():
    decision = classifier({"噪音扰民": 20.0}, long_overrule=1.0).classify(LETTER)
    assert decision.category == "噪音扰民" and decision.decided_by == "rules"  # the bias is not used
    assert classifier({"环境卫生": -20.0}, long_overrule=0.0).classify(LETTER).category == "环境卫生"


def test_long_bias_is_a_number_of_either_sign():
    entry = {"name": "噪音扰民", "long_bias": -0.5}
    assert Catalogue.from_data({"categories": [entry]}).get("噪音扰民").long_bias == -0.5
    assert Catalogue.from_data({"categories": [{"name": "噪音扰民"}]}).get("噪音扰民").long_bias == 0.0
    for wrong in ("高", True, float("nan")):
        with pytest.raises(RuleConfigError, match="long_bias"):
            Catalogue.from_data({"categories": [{**entry, "long_bias": wrong}]})
    with pytest.raises(RuleConfigError, match="long_rules"):
        Catalogue.from_data({"decision": {"long_rules": -1}, "categories": [entry]})


# Issue 14, fifth round: a title model's vote (`long_title`) and department signals (`long_signal`).
NOISY_TITLE = "隔壁琴房一练就是一晚上。" + LETTER.replace("楼里有点吵闹", "河边漂着一层白色泡沫")  # title: noise, body: rubbish


def test_title_is_the_text_before_the_first_sentence_end_else_the_opening():
    assert title("楼下烧烤店油烟太大。每天晚上都熏到三楼") == "楼下烧烤店油烟太大"
    assert title("反映菜场门口积水问题 下雨就淹到脚踝！") == "反映菜场门口积水问题"
    assert title("你好！楼下烧烤店油烟太大") == "你好！楼下烧烤店油烟太大"  # "你好" is too short to be a title
    assert title("没有标点的一长段话" * 10) == ("没有标点的一长段话" * 10)[:40]


def test_long_title_weighs_a_title_models_vote_and_leaves_chat_alone():
    assert classifier(long_rules=0.5).title_model is None  # long_title 0: no title model is trained
    assert classifier(long_rules=0.5).classify(NOISY_TITLE).category == "环境卫生"  # the body's four sentences win
    titled = classifier(long_rules=0.5, long_title=20.0)
    assert titled.title_model is not None and titled.classify(NOISY_TITLE).category == "噪音扰民"
    plain = classifier(long_rules=0.5).classify(SHORT)
    short = titled.classify(SHORT)
    assert (short.category, short.outcome, short.score) == (plain.category, plain.outcome, plain.score)


def test_department_signals_move_a_letter_toward_the_departments():
    text = "请问有没有政策规定如何办理" + LETTER.replace("楼里有点吵闹", "河边漂着一层白色泡沫")
    signals = {"department_signals": ["请问", "政策", "规定", "如何办理"]}
    for catalogue in ({}, signals):
        assert classifier(long_rules=0.5, **{"long_signal": 20.0} if catalogue else {}) \
            .classify(text).category == "环境卫生"
    weighed = {**CATALOGUE["decision"], "long_rules": 0.5, "long_signal": 20.0}
    pulled = Classifier.from_data({**CATALOGUE, **signals, "decision": weighed}, RULES, examples=EXAMPLES)
    assert pulled.classify(text).category == "税务" and pulled.classify(text).grid_matter is False
    assert pulled.classify(LETTER).category != "税务"  # no signal word: no department pull


def test_department_signals_are_a_list_of_words():
    entry = {"name": "噪音扰民"}
    assert Catalogue.from_data({"categories": [entry], "department_signals": [" 政策 "]}).department_signals == ("政策",)
    for wrong in ("政策", ["政策", ""], [3]):
        with pytest.raises(RuleConfigError, match="department_signals"):
            Catalogue.from_data({"categories": [entry], "department_signals": wrong})


# Issue 14, eleventh round: a letters model's vote (`long_letters`), trained on the long examples alone.
LONG_EXAMPLES = [{"text": text, "label": label, "source": "own-letters"} for text, label in (
    ("关于收取清运费的疑问。社区每户每月收清运费五块钱，问收费依据开不开发票，社区干部和物业谁也说不清楚", "税务"),
    ("物业代收的清运费开不出发票。我们想知道这笔收费算不算税，收费标准是哪里定的，请相关部门答复", "税务"),
    ("河道里死鱼发臭没人打捞。每到傍晚臭味飘进窗户，水面漂着油花和塑料瓶，请相关部门尽快派人清理一下", "环境卫生"),
    ("公厕好几天没人冲洗。蹲位堵住了苍蝇乱飞，旁边就是早餐摊，希望环卫部门安排人每天早晚各打扫一次", "环境卫生"),
)]
# Rubbish told as the short examples tell it, asked as the long 税务 letters ask: the letters model reads the ask.
FEE_LETTER = "花坛里扔满了外卖盒，垃圾房门口污水横流，菜场后面鱼鳞堆着发酸，单元门口狗粪没人管。收清运费开不开发票"


def letters_classifier(**decision) -> Classifier:
    weighed = {**CATALOGUE["decision"], "long_rules": 0.5, **decision}
    return Classifier.from_data({**CATALOGUE, "decision": weighed}, RULES, examples=EXAMPLES + LONG_EXAMPLES)


def test_long_letters_weighs_a_model_trained_on_the_long_examples_alone():
    assert len(FEE_LETTER) >= 40 and letters_classifier().letters_model is None  # long_letters 0: not trained
    assert letters_classifier().classify(FEE_LETTER).category == "环境卫生"  # the shared model: the rubbish words
    voted = letters_classifier(long_letters=20.0)
    assert voted.letters_model is not None and sorted(voted.letters_model.classes) == ["环境卫生", "税务"]
    decision = voted.classify(FEE_LETTER)
    assert (decision.category, decision.grid_matter) == ("税务", False)
    # a class no long example carries gets the letters model's lowest logit: 噪音扰民 is not pulled up
    assert [c.category for c in decision.ranking].index("噪音扰民") > 1


def test_long_letters_leaves_chat_alone_and_needs_two_labels_among_the_long_examples():
    plain, voted = letters_classifier().classify(SHORT), letters_classifier(long_letters=20.0).classify(SHORT)
    assert (voted.category, voted.outcome, voted.score) == (plain.category, plain.outcome, plain.score)
    one_label = [e for e in LONG_EXAMPLES if e["label"] == "税务"]
    weighed = {**CATALOGUE["decision"], "long_rules": 0.5, "long_letters": 20.0}
    lone = Classifier.from_data({**CATALOGUE, "decision": weighed}, RULES, examples=EXAMPLES + one_label)
    assert lone.letters_model is None and lone.classify(FEE_LETTER).category is not None
