"""Address normalisation: the many ways residents write one building fold into one form."""

from __future__ import annotations

import pytest

from handlers.places.address import chosen_place, designators, normalise_address, place_names, split_home
from handlers.places.address_index import AddressIndex, UnitPlace

AREAS = ("明湖区", "湖滨街道", "青山镇", "石湾村")


@pytest.mark.parametrize("written", ["阳光小区3栋", "阳光小区三栋", "阳光小区3号楼", "阳光小区3座", "阳光小区3幢",
                                     "阳光小区三号楼", "陽光小區3棟", "阳光小区３栋", "阳光小区 3 栋", "阳光小区3洞"])
def test_building_spellings_fold_into_one_form(written):
    assert normalise_address(written) == "阳光小区3栋"


@pytest.mark.parametrize("written", ["翠苑二期5栋", "翠苑2期5栋", "翠苑2区5栋", "翠苑二区五栋", "翠苑2其5栋"])
def test_phase_and_district_numbers_are_the_same_phase(written):
    found = designators(normalise_address(written))
    assert found.phases == {"2"} and found.buildings == {"5"}


@pytest.mark.parametrize("written", ["陽光小區貳期伍棟", "阳光小区贰期五栋", "阳光小区二期伍号楼"])
def test_capital_numerals_name_phases_and_buildings(written):
    """壹贰叁… (大写数字), as on forms and receipts: 贰期伍栋 is 2期5栋."""
    assert normalise_address(written) == "阳光小区2期5栋"


@pytest.mark.parametrize("written", ["阳光小区两栋楼中间的路灯坏了", "两期之间的路", "两号楼之间"])
def test_two_of_something_is_a_count_not_a_number(written):
    """两栋楼中间 is between two buildings: 两 counts, it never names building 2 (that is 二栋, 2栋)."""
    found = designators(normalise_address(written))
    assert (found.phases, found.buildings) == (frozenset(), frozenset())


@pytest.mark.parametrize("written", ["湖景苑三到五栋", "湖景苑三至五号楼", "湖景苑三、五栋", "湖景苑3到五栋"])
def test_a_range_or_list_in_chinese_numerals_names_every_building(written):
    assert designators(normalise_address(written)).buildings >= {"3", "5"}


@pytest.mark.parametrize("written", ["阳光小区01期03栋", "阳光小区1期003号楼", "阳光小区一期3栋"])
def test_leading_zeros_do_not_change_the_number(written):
    found = designators(normalise_address(written))
    assert (found.phases, found.buildings) == ({"1"}, {"3"})


def test_ranges_lists_and_room_shorthand_name_their_buildings():
    assert designators(normalise_address("阳光小区一期1-3栋")).buildings == {"1", "2", "3"}
    assert designators(normalise_address("阳光小区1、3、5栋")).buildings == {"1", "3", "5"}
    assert designators(normalise_address("阳光小区3-501漏水")).buildings == {"3"}


@pytest.mark.parametrize("written", ["阳光小区1.3栋", "阳光小区1．3号楼", "阳光小区1。3幢", "阳光小区1·3栋"])
def test_a_dot_between_building_numbers_names_both_never_the_joined_number(written):
    """1.3栋 is buildings 1 and 3, or 1栋3单元: either way building 1 or 3, never 13."""
    assert designators(normalise_address(written)).buildings == {"1", "3"}


def test_buildings_written_with_a_dot_in_two_units_are_no_confident_answer():
    index = AddressIndex([UnitPlace(1, "阳光小区1栋", (), ()), UnitPlace(2, "阳光小区3栋", (), ()),
                          UnitPlace(3, "阳光小区13栋", (), ())])
    matches = index.match("阳光小区1.3栋楼下的灯坏了", limit=3)
    assert not matches[0].confident and {m.unit_id for m in matches[:2]} == {1, 2}


def test_words_matched_again_are_ranked_once_each_limit_cut_from_the_same_ranking():
    """A report's words are matched by several checks (an address alone with limit 1, the report's place with the
    tied units): the ranking of words read once is kept, the answers are those of the first reading."""
    index = AddressIndex([UnitPlace(1, "阳光小区1栋", (), ()), UnitPlace(2, "阳光小区3栋", (), ()),
                          UnitPlace(3, "阳光小区13栋", (), ())])
    tied = index.match("阳光小区3栋楼下的灯坏了", limit=3)
    assert index.match("阳光小区３栋楼下的灯坏了", limit=1) == tied[:1] and tied[0].unit_id == 2 and tied[0].confident
    assert index.match("阳光小区1.3栋楼下的灯坏了", limit=1)[0].confident is False
    assert index._ranking.cache_info().misses == 2  # the full-width 3 folds to the words read first


def test_village_groups_in_any_wording():
    for written in ("石湾村3组", "石湾村三队", "石湾村第三村民小组", "石灣村第三村民小組"):
        assert designators(normalise_address(written)).groups == {"3"}, written


def test_numbers_that_are_not_buildings_stay_out():
    found = designators(normalise_address("湖滨路88号阳光小区2号门口有3个垃圾桶"))
    assert found.buildings == frozenset()


def test_letter_buildings_and_full_width_letters():
    assert designators(normalise_address("富华大厦Ａ座")).buildings == {"a"}


def test_place_names_leave_out_areas_roads_split_and_suffixes_dropped():
    assert place_names(normalise_address("明湖区湖滨街道湖滨路88号阳光小区一期1-2栋"), AREAS) == ["湖滨路88号", "阳光小区"]
    assert place_names(normalise_address("明湖区青山镇石湾村上塘村民小组"), AREAS) == ["上塘"]
    assert place_names(normalise_address("石湾村3组"), AREAS) == []


@pytest.mark.parametrize("written", ["湖景苑3-2-301", "湖景苑3-2-301室", "湖景苑3#楼", "湖景苑3#", "湖景苑３＃楼２单元"])
def test_building_unit_room_dashes_and_the_hash_sign_name_the_building(written):
    """栋-单元-室 (3-2-301) and 3#楼 as residents write them: building 3."""
    assert designators(normalise_address(written)).buildings == {"3"}


def _small_index() -> AddressIndex:
    """A district too small for COMMON_CHAR_SHARE to leave 小/区/花/园 out of the fuzzy candidates."""
    areas = ("阳光社区", "湖滨街道", "明湖区")
    return AddressIndex([UnitPlace(1, "湖滨路88号阳光小区1栋", ("阳光花园小区",), areas),
                         UnitPlace(2, "湖滨路120号湖景苑3栋", (), areas),
                         UnitPlace(3, "湖滨路126号金桂园2栋", (), areas)])


@pytest.mark.parametrize("text", ["小区里的路灯坏了好几天", "花园里的树倒了", "我们小区门口的花园没人管"])
def test_words_for_the_kind_of_place_alone_guess_no_estate(text):
    assert _small_index().match(text) == []


@pytest.mark.parametrize(("text", "unit_id"), [("湖京苑3栋漏水", 2), ("金贵园2栋", 3)])
def test_a_misspelt_estate_name_is_still_guessed(text, unit_id):
    assert [m.unit_id for m in _small_index().match(text)] == [unit_id]


def test_a_date_is_no_building():
    assert designators(normalise_address("湖景苑从11月5号起天天半夜装修")).buildings == frozenset()


@pytest.mark.parametrize("written, home", [("住在湖景苑3栋，但是5栋门口堵了", "住在湖景苑3栋"),
                                           ("我家是1栋但是5栋楼下很吵", "我家是1栋"), ("5栋门口堵了", "")])
def test_where_the_resident_lives_is_told_apart_from_the_rest(written, home):
    found, rest = split_home(written)
    assert (found, rest) == (home, written.replace(home, "", 1))


@pytest.mark.parametrize("text", ["胡滨路120号门口的井盖松了", "湖宾路120号", "住在胡滨路１２０号"])
def test_a_misspelt_road_with_its_number_is_still_guessed(text):
    """The number on the road is what residents get right: a slip in the road's name is asked about, not dropped."""
    assert [(m.unit_id, m.confident) for m in _small_index().match(text)] == [(2, False)]


@pytest.mark.parametrize("text", ["胡滨路121号", "建设路120号", "湖滨路上有人乱摆摊", "胡滨路那边有人乱摆摊"])
def test_another_number_another_road_or_a_road_alone_guesses_no_road_number(text):
    assert _small_index().match(text) == []


def _lane_index() -> AddressIndex:
    """Lanes whose houses the registry lists as numbers (幸福巷1-4号) or buildings (建设里5-6栋)."""
    return AddressIndex([UnitPlace(1, "建设路9号建设里1-4栋", ("建设里老街",), ()),
                         UnitPlace(2, "建设路9号建设里5-6栋", ("建设里老街",), ()),
                         UnitPlace(3, "幸福巷1-4号", (), ()), UnitPlace(4, "幸福巷5-8号", (), ()),
                         UnitPlace(5, "康乐弄1-9号", (), ()), UnitPlace(6, "康乐弄10-12号", (), ())])


@pytest.mark.parametrize(("text", "unit_id"), [("建设里5号门口的垃圾桶满了", 2), ("建設里５號", 2),
                                               ("幸福巷6号漏水", 4), ("康乐弄11号门口堆满杂物", 6)])
def test_a_house_number_in_a_known_lane_places_like_a_building(text, unit_id):
    assert [(m.unit_id, m.confident) for m in _lane_index().match(text)] == [(unit_id, True)]


@pytest.mark.parametrize("text", ["和平里5号漏水", "帽儿胡同12号门口", "和平里五号"])
def test_houses_the_registry_lists_one_by_one_in_a_lane_are_found_however_written(text):
    index = AddressIndex([UnitPlace(1, "和平里5号", (), ()), UnitPlace(2, "和平里6号", (), ()),
                          UnitPlace(3, "帽儿胡同12号", (), ()), UnitPlace(4, "帽儿胡同13号", (), ())])
    assert [m.confident for m in index.match(text)] == [True]
    assert index.match(text)[0].unit_id == (3 if "胡同" in text else 1)


def _two_community_index() -> AddressIndex:
    return AddressIndex([UnitPlace(1, "湖滨路120号湖景苑3栋", (), ("阳光社区", "湖滨街道")),
                         UnitPlace(2, "江南大道301号翠苑小区3栋", (), ("翠苑社区", "湖滨街道"))])


def test_an_estate_named_with_another_community_is_a_guess_to_confirm():
    """翠苑社区湖景苑3栋: 湖景苑 lies in 阳光社区; the community may be wrong, or the estate another of that name."""
    assert [(m.unit_id, m.confident) for m in _two_community_index().match("翠苑社区湖景苑3栋门口漏水")] == [(1, False)]


def test_an_estate_named_with_its_own_community_stays_certain():
    assert [(m.unit_id, m.confident) for m in _two_community_index().match("阳光社区湖景苑3栋门口漏水")] == [(1, True)]


def test_a_village_group_contradicting_the_hamlet_named_is_no_confident_answer():
    """石湾村3组上塘: 上塘 is 1组 and 3组 is 东坑 — one of the two is wrong, so neither is certain."""
    areas = ("石湾村", "青山镇")
    index = AddressIndex([UnitPlace(1, "石湾村上塘村民小组", ("上塘", "石湾村1组"), areas),
                          UnitPlace(2, "石湾村东坑村民小组", ("东坑", "石湾村3组"), areas)])
    assert not index.match("石湾村3组上塘的路灯坏了")[0].confident
    assert index.match("石湾村3组的路灯坏了")[0].confident


def test_a_house_on_a_lane_off_a_road_ranks_above_its_neighbour():
    """龙津西路永兴巷12号 (a lane off a road, one house a unit): 永兴巷12号 prefers that house to number 14."""
    index = AddressIndex([UnitPlace(1, "龙津西路永兴巷12号", (), ()), UnitPlace(2, "龙津西路永兴巷14号", (), ())])
    matches = index.match("永兴巷12号门口漏水", limit=2)
    assert matches[0].unit_id == 1 and (len(matches) == 1 or matches[0].score > matches[1].score)


def test_a_lane_off_a_road_is_read_whole_not_with_the_road_cut_in_two():
    """龙津西路永兴巷12号 is house 12 on 永兴巷, off 龙津西路: never 津西路永兴巷 (the road's first character lost)."""
    assert place_names(normalise_address("龙津西路永兴巷12号")) == ["龙津西路永兴巷12号", "永兴巷12号"]


def test_a_house_on_a_lane_is_found_by_the_lane_alone_and_a_lane_of_two_roads_is_asked():
    index = AddressIndex([UnitPlace(1, "龙津西路永兴巷12号", (), ()), UnitPlace(2, "龙津西路永兴巷14号", (), ())])
    assert [(m.unit_id, m.confident) for m in index.match("永兴巷12号门口漏水")] == [(1, True)]
    index = AddressIndex([UnitPlace(1, "龙津西路永兴巷12号", (), ()), UnitPlace(2, "东风路永兴巷12号", (), ())])
    assert not index.match("永兴巷12号门口漏水")[0].confident
    assert [(m.unit_id, m.confident) for m in index.match("东风路永兴巷12号门口漏水")] == [(2, True)]
    assert index.match("龙津西路上有人摆摊") == []


def test_each_place_named_owns_the_numbers_written_after_it():
    """从阳光小区一期3栋到湖景苑5栋: 5栋 is 湖景苑's; 阳光小区's building 5 is not named, so it is not a candidate."""
    index = AddressIndex([UnitPlace(1, "湖滨路88号阳光小区1期3栋", (), ()), UnitPlace(2, "湖滨路88号阳光小区1期5栋", (), ()),
                          UnitPlace(3, "湖滨路120号湖景苑5栋", (), ())])
    matches = index.match("从阳光小区一期3栋到湖景苑5栋的路灯都不亮", limit=3)
    assert {m.unit_id for m in matches[:2]} == {1, 3} and not matches[0].confident
    assert matches[2].unit_id == 2 and matches[2].score < matches[1].score
    assert [(m.unit_id, m.confident) for m in index.match("湖滨路88号阳光小区一期5栋")] == [(2, True)]


@pytest.mark.parametrize("written", ["湖景苑3-2", "湖景苑3-2楼道灯不亮", "湖景苑3-2单元", "翠苑2期3-2", "金桂园３－２",
                                     "湖滨路120号3-2"])
def test_building_unit_shorthand_after_an_estate_names_the_building(written):
    """3-2 after an estate's name is 3栋2单元 (as 3-2-301 is 3栋2单元301)."""
    assert designators(normalise_address(written)).buildings == {"3"}


@pytest.mark.parametrize("written", ["湖景苑3-5个人在吵", "湖景苑8-9点最吵", "湖景苑12-25停水", "等了2-3天",
                                     "11号3-5点停电"])
def test_counts_times_and_dates_with_a_dash_name_no_building(written):
    assert designators(normalise_address(written)).buildings == frozenset()


def _parts_index() -> AddressIndex:
    """An estate in parts named by direction (东区/西区), as some registries list them."""
    return AddressIndex([UnitPlace(1, "湖滨路8号阳光小区东区1-5栋", (), ()), UnitPlace(2, "湖滨路8号阳光小区西区1-5栋", (), ()),
                         UnitPlace(3, "湖滨路8号阳光小区西区6-9栋", (), ())])


@pytest.mark.parametrize(("text", "unit_id"), [("阳光小区7栋漏水", 3), ("阳光小区东区3栋漏水", 1), ("陽光小區西區3棟", 2)])
def test_an_estate_in_parts_is_found_with_or_without_its_part(text, unit_id):
    """东区/西区 are parts of 阳光小区 (as 一期/二期 are): a building only one part has is found without it."""
    assert [(m.unit_id, m.confident) for m in _parts_index().match(text)][:1] == [(unit_id, True)]


def test_a_building_two_parts_have_is_asked_and_a_district_is_no_part():
    assert not _parts_index().match("阳光小区3栋漏水")[0].confident
    assert designators(normalise_address("城东区阳光小区")).phases == frozenset()


@pytest.mark.parametrize(("answer", "chosen"), [("是东区", 0), ("西区那边", 1), ("西區", 1), ("阳光小区", None),
                                                ("湖景苑5栋", None)])
def test_an_answer_naming_what_sets_one_place_apart_picks_it(answer, chosen):
    """To 请问地点是“…阳光小区东区”还是“…阳光小区西区”？: 东区 picks the first; words both share, or neither has, pick none."""
    choices = ["明湖区湖滨路8号阳光小区东区", "明湖区湖滨路8号阳光小区西区"]
    assert chosen_place(choices, answer) == (answer if chosen is None else choices[chosen])


@pytest.mark.parametrize(("written", "buildings"), [("湖景苑三四栋中间", {"3", "4", "34"}), ("湖景苑五六号楼之间", {"5", "6", "56"}),
                                                    ("湖景苑5 6栋", {"5", "6"}), ("湖景苑十二栋", {"12"}),
                                                    ("湖景苑三五栋", {"35"})])
def test_two_consecutive_numerals_name_both_buildings_and_their_joint_number(written, buildings):
    """三四栋 is mostly buildings 3 and 4 (34 is 三十四栋): both readings are kept, so a unit holding 3 and 4 is found
    and an estate with a building 34 too is asked; 5 6栋 (a space) is a list, never 56."""
    assert designators(normalise_address(written)).buildings == buildings


@pytest.mark.parametrize(("answer", "chosen"), [("第二个", 1), ("2", 1), ("后面那个", 1), ("前者", 0), ("第3个", None)])
def test_an_answer_naming_a_place_by_its_turn_picks_it(answer, chosen):
    choices = ["明湖区湖滨路8号阳光小区东区", "明湖区湖滨路8号阳光小区西区"]
    assert chosen_place(choices, answer) == (answer if chosen is None else choices[chosen])


@pytest.mark.parametrize("written", ["湖景苑后面一座山上有人在烧垃圾", "一栋楼都停电了，电梯也停了", "对面一座桥的栏杆断了",
                                     "我们这一栋楼都没有水"])
def test_one_of_a_thing_counted_with_a_building_word_is_no_building_1(written):
    """一座山, 一栋楼都停电了: 座 and 栋 count the thing after them there; before, building 1 was read (and the report
    placed at an estate's first building)."""
    assert designators(normalise_address(written)).buildings == frozenset()


@pytest.mark.parametrize("written", ["阳光小区一栋楼下的灯坏了", "金桂园一座门口", "湖景苑一期一栋楼顶漏水", "我住一栋",
                                     "第一栋楼门口"])
def test_building_1_after_a_place_or_written_alone_is_still_building_1(written):
    assert designators(normalise_address(written)).buildings == {"1"}


def _numbered_estate() -> AddressIndex:
    areas = ("东岭社区", "青山镇", "明湖区")
    return AddressIndex([UnitPlace(1, "东岭大道99号新城家园17-18栋", ("新城",), areas),
                         UnitPlace(2, "东岭大道99号新城家园1-2栋", ("新城",), areas)])


def test_a_number_at_a_door_after_an_estate_with_that_building_is_the_building():
    """新城家园18号门口 (at number 18's door): building 18 of 新城家园, no longer the estate at large."""
    assert [(m.unit_id, m.confident) for m in _numbered_estate().match("新城家园18号门口的垃圾桶满了")] == [(1, True)]


def test_a_number_at_a_door_the_estate_has_no_building_of_is_a_gate():
    """新城家园5号门口: no building 5 there, so gate 5: the estate, no building guessed."""
    assert not _numbered_estate().match("新城家园5号门口的垃圾桶满了")[0].confident
