"""The shipped catalogue and rules classify the reports the resident loop relies on."""

from __future__ import annotations

from datetime import timedelta

import pytest

from config.settings import SHIPPED_CONFIG_DIR
from handlers.classify import load_classifier

CONTRACT_CATEGORIES = ["环境卫生", "噪音扰民", "市政设施", "消防安全", "违章搭建", "物业管理", "矛盾纠纷",
                       "治安隐患", "市容秩序", "社会救助", "突发事件"]


@pytest.fixture(scope="module")
def classifier():
    return load_classifier(SHIPPED_CONFIG_DIR)


def test_catalogue_has_the_contract_categories_as_grid_matters(classifier):
    for name in CONTRACT_CATEGORIES:
        assert classifier.catalogue.get(name).grid_matter, name
    with pytest.raises(KeyError):
        classifier.catalogue.get("不存在的类别")


def test_department_categories_name_where_to_go(classifier):
    departments = [c for c in classifier.catalogue if not c.grid_matter]
    assert {"税务", "社保待遇", "户籍"} <= {c.name for c in departments}
    assert all(c.department for c in departments)


def test_default_clock_is_117_and_emergencies_are_taken_faster(classifier):
    garbage = classifier.catalogue.get("环境卫生").clock
    assert (garbage.take, garbage.plan, garbage.close) == (timedelta(hours=1), timedelta(days=1), timedelta(days=7))
    emergency = classifier.catalogue.get("突发事件")
    assert emergency.urgent and emergency.clock.take <= timedelta(minutes=15)


@pytest.mark.parametrize(("text", "expected"), [
    ("阳光小区门口的垃圾桶满了好几天没人清理，臭气熏天，麻烦处理一下", "环境卫生"),
    ("隔壁装修电钻声从早到晚不停，吵得没法休息", "噪音扰民"),
    ("小区路灯坏了好几盏，晚上黑漆漆的", "市政设施"),
    ("小区里井盖丢了，有人差点掉下去", "市政设施"),
    ("楼道里堆满了杂物和纸箱，很危险", "消防安全"),
    ("想问一下个人所得税专项附加扣除怎么申报，退税什么时候到账", "税务"),
])
def test_resident_loop_reports_are_matched(classifier, text, expected):
    decision = classifier.classify(text)
    assert (decision.category, decision.outcome) == (expected, "match")
    assert decision.grid_matter == classifier.catalogue.get(expected).grid_matter
    assert decision.rules and all(rule["category"] for rule in decision.rules)


def test_decision_json_follows_the_contract(classifier):
    found = classifier.classify("小区路灯坏了好几盏，晚上黑漆漆的").to_json()
    assert {"category", "grid_matter", "score", "candidates", "rules"} <= set(found)
    assert found["grid_matter"] is True
    nothing = classifier.classify("今天天气不错").to_json()
    assert nothing["category"] is None and nothing["grid_matter"] is False
