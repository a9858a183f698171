"""The explain box says who won and why: the winner and its rules first, other categories' rules marked as
such, the score in words (the console's template over `explain_decision`)."""

from __future__ import annotations

import re
from html import unescape

from bot.admin.common.rendering import environment
from handlers.classify import Classifier, explain_decision

CATALOGUE = {
    "decision": {"threshold": 1.0, "ask_threshold": 0.5, "margin": 0.25},
    "categories": [{"name": "环境卫生", "priority": 3}, {"name": "噪音扰民", "priority": 4}],
}
RULES = {
    "环境卫生": [{"id": "bins", "keywords": ["垃圾桶"], "weight": 1.5},
                 {"id": "uncollected", "all": ["垃圾", "没人收|没人管"], "weight": 1.0},
                 {"id": "piled-up", "fuzzy": ["垃圾堆满了楼道"], "threshold": 80, "weight": 2.0}],
    "噪音扰民": [{"id": "noise", "keywords": ["噪音"], "weight": 0.5}],
}


def _box(decision: dict, classifier: Classifier | None = None) -> str:
    template = environment().from_string('{% import "admin/_explain.html.j2" as e %}{{ e.box(x, "box", "") }}')
    return template.render(x=explain_decision(decision, classifier))


def _reason(html: str) -> str:
    return unescape(re.search(r'<p class="reason">(.*?)</p>', html, re.S).group(1))


def _rows(html: str) -> list[str]:
    return [unescape(re.sub(r"<[^>]+>", " ", row)) for row in re.findall(r'<tr class="(?:winner|other)">.*?</tr>', html, re.S)]


def test_the_winner_comes_first_with_its_keyword_and_weight_and_the_rest_is_marked_other():
    classifier = Classifier.from_data(CATALOGUE, RULES)
    html = _box(classifier.classify("门口的垃圾桶满了，楼上还有噪音").to_json(), classifier)
    assert 'class="decision">环境卫生<' in html
    assert _reason(html) == "关键词“垃圾桶”命中，权重 1.5。"
    rows = _rows(html)
    assert "环境卫生" in rows[0] and "胜出" in rows[0]
    assert "噪音扰民" in rows[1] and "其他类别" in rows[1] and len(rows) == 2


def test_co_occurrence_and_fuzzy_phrases_are_put_in_words_with_a_total():
    classifier = Classifier.from_data(CATALOGUE, RULES)
    decision = classifier.classify("垃圾堆满楼道了好几天没人收").to_json()
    reason = _reason(_box(decision, classifier))
    assert "同时出现“垃圾”和“没人收”，权重 1.0" in reason
    similarity = re.search(r"模糊短语“垃圾堆满了楼道”相似 (\d+)%（门槛 80%），得 ([\d.]+) 分", reason)
    assert similarity and 80 <= int(similarity.group(1)) <= 100
    assert "规则合计" in reason


def test_a_model_decision_names_the_rules_choice_and_the_models_confidence():
    decision = {"category": "环境卫生", "outcome": "match", "decided_by": "model", "score": 0.82,
                "rules": [{"id": "noise", "category": "噪音扰民", "kind": "keywords", "match": "噪音", "score": 0.5}],
                "model": {"ranking": [{"category": "环境卫生", "probability": 0.82},
                                      {"category": "噪音扰民", "probability": 0.1}]}}
    html = _box(decision)
    assert _reason(html) == "规则倾向“噪音扰民”；模型把握 82%，由模型决定。"
    assert "由模型决定" in html and "其他类别" in _rows(html)[0]


def test_no_rule_and_no_model_says_so():
    classifier = Classifier.from_data(CATALOGUE, RULES)
    html = _box(classifier.classify("今天天气不错").to_json(), classifier)
    assert "无（非网格事项）" in html and _reason(html) == "没有规则命中。"
