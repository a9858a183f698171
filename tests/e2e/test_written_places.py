"""Places as residents write them, over the encrypted protocol: the report reaches the right grid, or the
resident is asked — never a guess routed silently."""

from __future__ import annotations

from tests.cli import cli_json
from tests.e2e.test_resident_loop import case_number


def test_a_misspelt_road_with_its_number_asks_which_part_of_the_estate_there(wecom, database_url):
    """胡滨路88号 for 湖滨路88号 (阳光小区, two phases in two grids): the estate is offered, its phase asked."""
    number = case_number(question := wecom.send_text("road-typo-resident", "胡滨路88号门口的垃圾桶满了好几天没人清理"))
    assert "湖滨路88号阳光小区”的哪一期" in question, question
    assert number in wecom.send_text("road-typo-resident", "二期3栋")
    case = cli_json(["case", "show", number, "--json"], database_url)
    assert (case["grid"], case["unit"]) == ("441999001001002", "441999001001002002")


def test_buildings_written_with_a_dot_are_not_read_as_one_joined_number(wecom, database_url):
    """阳光小区一期1.3栋 (buildings 1 and 3, or 1栋3单元): both lie in 阳光社区第一网格, so the case goes there at the
    estate, not to building 13 (a unit of its own)."""
    number = case_number(wecom.send_text("dotted-resident", "阳光小区一期1.3栋楼下的垃圾桶满了好几天没人清理"))
    case = cli_json(["case", "show", number, "--json"], database_url)
    assert (case["grid"], case["unit"]) == ("441999001001001", None)


def test_a_house_number_in_a_lane_places_the_case_at_that_house(wecom, database_url):
    """建设里5号 (a lane whose houses the registry lists as 1-6栋): house 5's unit, not the lane at large."""
    number = case_number(wecom.send_text("lane-resident", "建设里5号门口的垃圾桶满了好几天没人清理"))
    case = cli_json(["case", "show", number, "--json"], database_url)
    assert (case["grid"], case["unit"]) == ("441999001001006", "441999001001006009")
