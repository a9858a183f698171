"""The rule editor's form: every shipped rule survives a trip through the form unchanged, and what staff
type (full-width digits, Chinese separators, stray control characters) becomes a clean rule."""

from __future__ import annotations

import pytest

from config.settings import SHIPPED_CONFIG_DIR
from handlers.classify import read_config
from handlers.console.rule_forms import RuleForm, RuleFormError, split_terms

_, SHIPPED, _ = read_config(SHIPPED_CONFIG_DIR)


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
