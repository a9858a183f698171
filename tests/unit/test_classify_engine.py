"""The rule engine on small in-memory rule sets: each rule kind, the outcome, explanations, validation."""

from __future__ import annotations

import pytest

from handlers.classify import Classifier, RuleConfigError, load_classifier, read_config, write_config

CATALOGUE = {
    "decision": {"threshold": 1.0, "ask_threshold": 0.5, "margin": 0.25},
    "categories": [
        {"name": "环境卫生", "priority": 3},
        {"name": "噪音扰民", "priority": 4},
        {"name": "市政设施", "priority": 5},
        {"name": "突发事件", "priority": 9, "urgent": True, "clock": {"take": "15m"}},
        {"name": "税务", "grid_matter": False, "department": "税务局"},
    ],
}


def build(rules: dict) -> Classifier:
    return Classifier.from_data(CATALOGUE, rules)


def test_keyword_hit_is_explained_with_rule_span_and_score():
    decision = build({"环境卫生": [{"id": "garbage", "keywords": ["垃圾桶"], "weight": 1.5}]}).classify("门口的垃圾桶满了")
    assert (decision.category, decision.outcome) == ("环境卫生", "match")
    assert decision.rules == [{"id": "garbage", "category": "环境卫生", "kind": "keywords", "match": "垃圾桶",
                               "span": [3, 6], "score": 1.5}]
    assert decision.normalised[3:6] == "垃圾桶"


def test_exclusion_masks_the_hit_it_covers():
    classifier = build({"噪音扰民": [{"id": "noise", "keywords": ["噪音"]}, {"id": "not-noise", "exclude": ["不是噪音"]}]})
    assert classifier.classify("楼上噪音很大").category == "噪音扰民"
    negated = classifier.classify("这不是噪音的问题")
    assert negated.outcome == "none" and negated.category is None
    assert [r["id"] for r in negated.rules] == ["not-noise"]


def test_exclusion_weight_cancels_a_fixed_matter():
    classifier = build({"市政设施": [{"id": "lamp", "keywords": ["路灯"]},
                                  {"id": "fixed", "exclude": ["已经修好了"], "weight": 1.0}]})
    assert classifier.classify("路灯坏了").outcome == "match"
    assert classifier.classify("路灯已经修好了").outcome == "none"


def test_co_occurrence_needs_every_item_and_accepts_alternatives():
    classifier = build({"环境卫生": [{"id": "full", "all": ["垃圾", "满了|没人收"]}]})
    assert classifier.classify("垃圾桶满了").category == "环境卫生"
    assert classifier.classify("垃圾没人收").rules[0]["match"] == "垃圾+没人收"
    assert classifier.classify("垃圾分类").category is None


def test_fuzzy_phrase_respects_its_threshold():
    loose = build({"环境卫生": [{"id": "f", "fuzzy": ["垃圾没人清理"], "threshold": 80}]})
    strict = build({"环境卫生": [{"id": "f", "fuzzy": ["垃圾没人清理"], "threshold": 95}]})
    typo = "门口垃圾没有人清理"
    assert loose.classify(typo).category == "环境卫生"
    assert 0.8 <= loose.classify(typo).score < 1.0
    assert strict.classify(typo).category is None


def test_homophone_rule_catches_a_typo_only_when_asked():
    rules = {"环境卫生": [{"id": "g", "keywords": ["垃圾"], "homophones": True}]}
    assert build(rules).classify("门口拉圾桶满了").rules[0]["match"] == "拉圾≈垃圾"
    rules["环境卫生"][0]["homophones"] = False
    assert build(rules).classify("门口拉圾桶满了").category is None


def test_close_scores_ask_back_with_the_runners_up():
    decision = build({"环境卫生": [{"id": "g", "keywords": ["垃圾"]}],
                      "市政设施": [{"id": "m", "keywords": ["井盖"]}],
                      "噪音扰民": [{"id": "n", "keywords": ["吵"], "weight": 0.9}]}).classify("井盖旁边垃圾很多还很吵")
    assert decision.outcome == "ask"
    assert [decision.category, *[c.category for c in decision.candidates]] == ["市政设施", "环境卫生", "噪音扰民"]


def test_weak_evidence_is_no_matter():
    decision = build({"环境卫生": [{"id": "g", "keywords": ["垃圾"], "weight": 0.3}]}).classify("垃圾")
    assert decision.outcome == "none" and decision.category is None


def test_priority_rule_ranks_its_category_first():
    classifier = build({"环境卫生": [{"id": "g", "keywords": ["垃圾", "臭"], "weight": 2.0}],
                        "突发事件": [{"id": "fire", "keywords": ["着火了"], "weight": 1.0, "priority": 1}]})
    assert classifier.classify("垃圾站着火了，很臭").category == "突发事件"


def test_department_matter_is_no_grid_matter():
    decision = build({"税务": [{"id": "t", "keywords": ["个税"]}]}).classify("个税怎么退")
    assert decision.category == "税务" and decision.to_json()["grid_matter"] is False


@pytest.mark.parametrize(("rule", "field"), [
    ({"id": "x", "keywords": []}, "keywords"),
    ({"id": "x", "keywords": ["a"], "fuzzy": ["b"]}, "keywords/all/fuzzy/exclude"),
    ({"id": "x", "fuzzy": ["垃圾"], "threshold": 150}, "threshold"),
    ({"id": "x", "keywords": ["垃圾"], "threshold": 80}, "threshold"),
    ({"id": "x", "keywords": ["垃圾"], "weight": "heavy"}, "weight"),
    ({"id": "x", "keywords": ["垃圾"], "colour": "red"}, "colour"),
    ({"id": "x", "all": ["垃圾"]}, "all"),
    ({"id": "x", "fuzzy": ["垃圾"], "homophones": True}, "homophones"),
])
def test_invalid_rule_names_rule_and_field(rule, field):
    with pytest.raises(RuleConfigError) as raised:
        build({"环境卫生": [rule]})
    assert (raised.value.rule, raised.value.field) == ("x", field)


def test_unknown_category_and_duplicate_ids_are_refused():
    with pytest.raises(RuleConfigError, match="not in the catalogue"):
        build({"不存在": [{"id": "x", "keywords": ["a"]}]})
    with pytest.raises(RuleConfigError, match="duplicate rule id"):
        build({"环境卫生": [{"id": "x", "keywords": ["a"]}], "噪音扰民": [{"id": "x", "keywords": ["b"]}]})


def test_bad_catalogue_names_the_category_and_field():
    bad = {"categories": [{"name": "税务", "grid_matter": False}]}
    with pytest.raises(RuleConfigError) as raised:
        Classifier.from_data(bad, {})
    assert (raised.value.rule, raised.value.field) == ("税务", "department")
    with pytest.raises(RuleConfigError, match="clock.take"):
        Classifier.from_data({"categories": [{"name": "a", "clock": {"take": "soon"}}]}, {})


def test_rule_set_round_trips_through_dicts_and_files(tmp_path):
    classifier = build({"环境卫生": [{"id": "g", "keywords": ["垃圾"]}]})
    again = Classifier.from_dict(classifier.to_dict())
    assert again.classify("垃圾满了").to_json() == classifier.classify("垃圾满了").to_json()
    catalogue, rules = classifier.to_data()
    write_config(tmp_path, catalogue, rules)
    assert read_config(tmp_path)[1] == rules
    assert load_classifier(tmp_path).classify("垃圾满了").category == "环境卫生"


def test_bad_file_error_names_the_file(tmp_path):
    write_config(tmp_path, CATALOGUE, {"环境卫生": [{"id": "g", "fuzzy": ["垃圾"], "threshold": 0}]})
    with pytest.raises(RuleConfigError) as raised:
        load_classifier(tmp_path)
    assert raised.value.source.endswith("环境卫生.yaml") and raised.value.field == "threshold"


def test_load_classifier_is_cached_and_reloads_on_change(tmp_path):
    write_config(tmp_path, CATALOGUE, {"环境卫生": [{"id": "g", "keywords": ["垃圾"]}]})
    first = load_classifier(tmp_path)
    assert load_classifier(tmp_path) is first
    write_config(tmp_path, CATALOGUE, {"环境卫生": [{"id": "g", "keywords": ["垃圾", "臭味"]}]})
    reloaded = load_classifier(tmp_path)
    assert reloaded is not first and reloaded.classify("有臭味").category == "环境卫生"


def test_a_text_read_again_is_not_classified_again_and_its_decision_cannot_change(monkeypatch):
    """One message's words are put to several checks in turn (a chase, a withdrawal, words while a question is
    open), each asking for a decision: the classifier reads them once and hands out the same frozen decision."""
    classifier = build({"环境卫生": [{"id": "garbage", "keywords": ["垃圾桶"]}]})
    scored = []
    real = classifier._score
    monkeypatch.setattr(classifier, "_score", lambda text: scored.append(text) or real(text))
    first = classifier.classify("门口的垃圾桶满了")
    assert classifier.classify("门口的垃圾桶满了") is first and scored == ["门口的垃圾桶满了"]
    assert classifier.classify("门口的垃圾桶又满了").category == "环境卫生" and len(scored) == 2
    with pytest.raises(AttributeError):
        first.outcome = "ask"
    stored = first.stored()
    stored["rules"][0]["span"][0] = 99
    assert first.rules[0]["span"] == [3, 6] and classifier.classify("门口的垃圾桶满了").stored()["rules"][0]["span"] == [3, 6]
