"""The rule editor's forms: every shipped rule and category's settings survive a trip through the form unchanged,
and what staff type (full-width digits, Chinese separators and units, stray control characters) becomes clean data."""

from __future__ import annotations

import pytest

from config.settings import SHIPPED_CONFIG_DIR
from handlers.classify import read_config
from handlers.console.rule_forms import CategoryForm, RuleForm, RuleFormError, split_terms

SHIPPED_CATALOGUE, SHIPPED, _ = read_config(SHIPPED_CONFIG_DIR)


def _as_written(rule: dict) -> dict:
    """A rule as the form writes it: weight always (a float), a fuzzy rule's threshold always."""
    expected = {**rule, "weight": float(rule.get("weight", 1.0))}
    if "fuzzy" in rule:
        expected["threshold"] = float(rule.get("threshold", 85))
    return expected


@pytest.mark.parametrize("category", sorted(SHIPPED))
def test_every_shipped_rule_comes_back_from_the_form_unchanged(category):
    for rule in SHIPPED[category]:
        assert RuleForm.from_rule(rule).to_rule({}) == _as_written(rule)


def test_words_typed_with_chinese_separators_and_control_characters():
    assert split_terms("垃圾桶、垃圾箱，垃圾站;垃圾房\n 垃圾\x00池 ,垃圾桶") == ["垃圾桶", "垃圾箱", "垃圾站", "垃圾房", "垃圾池"]


def test_full_width_numbers_are_read_and_options_go_only_where_they_apply():
    rule = RuleForm(kind="fuzzy", terms="垃圾堆满了", weight="１.５", threshold="９０", priority="０",
                    homophones=True).to_rule({})
    assert rule == {"fuzzy": ["垃圾堆满了"], "weight": 1.5, "threshold": 90.0}


def test_every_wrong_field_is_named_at_once():
    with pytest.raises(RuleFormError) as refused:
        RuleForm(kind="all", groups=["垃圾"], weight="-1", priority="2.5", rule_id="bins",
                 note="长" * 201).to_rule({"bins": "环境卫生"})
    assert {name: error.code for name, error in refused.value.errors.items()} == {
        "groups": "groups_missing", "weight": "weight", "priority": "priority", "rule_id": "id_taken",
        "note": "note_long"}


@pytest.mark.parametrize("entry", SHIPPED_CATALOGUE["categories"], ids=lambda entry: entry["name"])
def test_every_shipped_categorys_settings_come_back_from_the_form_unchanged(entry):
    assert CategoryForm.from_entry(entry).to_entry(entry) == entry


def test_durations_typed_in_chinese_or_full_width_become_the_catalogues_and_empty_boxes_the_default():
    entry = {"name": "环境卫生", "priority": 3, "clock": {"take": "2h", "close": "15d"}}
    typed = CategoryForm(take="30分钟", plan="２小时", close=" 3 天 ", priority="５").to_entry(entry)
    assert typed == {"name": "环境卫生", "priority": 5, "clock": {"take": "30m", "plan": "2h", "close": "3d"}}
    assert CategoryForm(priority="3").to_entry(entry) == {"name": "环境卫生", "priority": 3}
    assert entry["clock"] == {"take": "2h", "close": "15d"}  # the stored entry itself is not touched


def test_every_wrong_settings_box_is_named_at_once():
    with pytest.raises(RuleFormError) as refused:
        CategoryForm(take="很快", plan="0小时", close="99999999999999999999天", priority="100").to_entry({"name": "x"})
    assert {name: error.code for name, error in refused.value.errors.items()} == {
        "take": "duration", "plan": "duration_range", "close": "duration", "category_priority": "category_priority"}
    with pytest.raises(RuleFormError) as refused:
        CategoryForm(close="366天", priority="2.5").to_entry({"name": "x"})
    assert {name: error.code for name, error in refused.value.errors.items()} == {
        "close": "duration_range", "category_priority": "category_priority"}
