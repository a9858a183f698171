"""The labelled routing set: address variants → the right unit, and no confident wrong answer."""

from __future__ import annotations

import pytest

from config.settings import SHIPPED_CONFIG_DIR
from demo.district import build_demo_registry
from handlers.places.address_index import AddressIndex
from tests.routing_set import generated_rows, read_set

TARGET_TOP1 = 0.95


@pytest.fixture(scope="module")
def demo():
    registry = build_demo_registry(SHIPPED_CONFIG_DIR / "demo" / "district.yaml")
    return AddressIndex.from_registry(registry), [unit.code for unit in registry.units]


def labelled() -> list[dict[str, str]]:
    return read_set("generated.csv") + read_set("handwritten.csv")


def test_generated_set_matches_the_demo_district():
    assert read_set("generated.csv") == generated_rows(), "run: python -m tests.routing_set > tests/data/routing/generated.csv"


def test_labelled_set_has_at_least_300_variants_of_known_units(demo):
    _, codes = demo
    rows = labelled()
    assert len(rows) >= 300
    assert {row["unit"] for row in rows} <= set(codes)


def test_top1_accuracy_meets_target_and_no_confident_answer_is_wrong(demo):
    index, codes = demo
    rows = labelled()
    top1 = confident_wrong = 0
    for row in rows:
        matches = index.match(row["text"])
        right = bool(matches) and codes[matches[0].unit_id] == row["unit"]
        top1 += right
        confident_wrong += bool(matches) and matches[0].confident and not right
    assert top1 / len(rows) >= TARGET_TOP1
    assert confident_wrong == 0


def test_hand_written_variants_are_mostly_confident(demo):
    index, _ = demo
    rows = read_set("handwritten.csv")
    confident = sum(bool(m) and m[0].confident for m in (index.match(row["text"]) for row in rows))
    assert confident / len(rows) >= 0.9


@pytest.mark.parametrize("row", read_set("misleading.csv"), ids=lambda row: row["text"])
def test_misleading_or_unknown_address_is_never_confident(demo, row):
    index, _ = demo
    matches = index.match(row["text"])
    assert not (matches and matches[0].confident), row["reason"]


def test_a_guess_is_still_offered_when_the_building_is_missing(demo):
    index, codes = demo
    matches = index.match("阳光小区3栋", limit=3)
    assert len(matches) >= 2 and not matches[0].confident
    assert {codes[m.unit_id] for m in matches[:2]} == {"441999001001001002", "441999001001002002"}


@pytest.mark.parametrize("written", ["上塘", "在水口", "石湾村水口", "湖景3栋", "金桂3栋"])
def test_a_two_character_name_is_confident_when_something_says_it_is_a_place(demo, written):
    """The name alone, with the village's name or with a number: the same names in running text are guesses."""
    index, _ = demo
    matches = index.match(written)
    assert matches and matches[0].confident, written
