"""Finding the unit a message talks about: place names, then building/phase/group numbers.

Every unit's address and aliases are normalised (handlers/places/address.py) into names
(小区, road number, hamlet) and designators (期, 栋, 组). A message is normalised the same
way; names are found exactly with an Aho-Corasick automaton (longest wins), or, when none
is there, fuzzily (rapidfuzz) among the names that share characters with the message.
Each unit scores its best name, less a penalty for every designator the message names
that the unit does not have. The best unit is *confident* only when it scores high and
clearly beats every other unit — a tie (阳光小区 without a building number) is a guess.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import ahocorasick
from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.places.address import (
    LANE_WORDS,
    Designators,
    designators,
    doors_as_buildings,
    lane_houses_as_buildings,
    normalise_address,
    numbers_on_roads,
    place_names,
    road_number,
)
from handlers.registry.records import Registry
from models import Area, Grid, Unit

CONFIDENT = 85.0  # the least score of a confident match
MARGIN = 5.0  # ... and by how much it must beat the best other unit
REPORTED = 55.0  # below this a unit is not offered even as a guess
MISMATCH = 40.0  # a phase/building/group the message names that the unit does not have
UNSTRUCTURED = 10.0  # the message names a building but the unit has none
SHORT_NAME = 90.0  # an exact two-character name (阳光, 上塘): likely, less certain
SHORT_IN_TEXT = 80.0  # ... in running text with nothing else of a place (下水道的水口堵了): a guess
AREA_WITH_NUMBER = 90.0  # 石湾村3组: the community's name plus a matching designator
AREA_ONLY = 50.0  # a community's name alone narrows nothing down
FUZZY_FLOOR = 60.0  # rapidfuzz partial ratio a misspelt name needs to count
FUZZY_CANDIDATES = 30
TIED_UNITS = 64  # the most units one place name is read as (an estate's buildings) when looking for their grid
COMMON_CHAR_SHARE = 0.05  # characters in more names than this share do not pick candidates
# Characters of the kind of place, not of its name (小区, 花园, 家园, 山庄 …): a candidate must share another
# character too, or three of them, so "小区里的路灯坏了" guesses no estate in a district too small for
# COMMON_CHAR_SHARE to leave them out, while 湖京苑 and 脆苑小区 (typos) still find 湖景苑 and 翠苑小区.
KIND_CHARS = frozenset("小区花园苑庭居寓厦广场社家庄城府村")


@dataclass(frozen=True)
class AddressMatch:
    unit_id: int
    score: float
    confident: bool


@dataclass(frozen=True)
class UnitPlace:
    """What the index knows of one unit."""

    unit_id: int
    address: str
    aliases: tuple[str, ...]
    area_names: tuple[str, ...]  # the unit's 村/社区 first, then every area above it


def _chain(areas: dict, key) -> tuple[str, ...]:
    """Area names from `key` up to the root of `areas` ({key: (name, parent key)})."""
    names: list[str] = []
    while key in areas and len(names) < len(areas):
        name, key = areas[key]
        names.append(name)
    return tuple(names)


def _area_keys(community: str) -> set[str]:
    """A community's name as residents say it: 石湾村 and 石湾, 阳光社区 and 阳光."""
    name = normalise_address(community)
    short = name.removesuffix("社区").removesuffix("村").removesuffix("居委会")
    return {name, short} if len(short) >= 2 else {name}


@dataclass(frozen=True)
class _Entry:
    unit_id: int
    numbers: Designators


RANKINGS_KEPT = 64  # normalised texts whose rankings an index keeps (`AddressIndex.match`)


class AddressIndex:
    """An immutable, thread-safe index of unit addresses (build once, match many)."""

    def __init__(self, places: Iterable[UnitPlace]) -> None:
        self._entries: list[_Entry] = []
        self._numbers: list[tuple[frozenset[str], ...]] = []  # each entry's designators by kind (Designators.kinds)
        self._by_name: dict[str, list[int]] = defaultdict(list)  # name -> entry indexes
        self._by_area: dict[str, list[int]] = defaultdict(list)
        area_forms: dict[tuple[str, ...], tuple[str, ...]] = {}
        for place in places:
            index = len(self._entries)
            numbers = Designators()
            names: set[str] = set()
            if place.area_names not in area_forms:
                area_forms[place.area_names] = tuple(map(normalise_address, place.area_names))
            areas = area_forms[place.area_names]
            for text in (place.address, *place.aliases):
                normalised = normalise_address(text)
                numbers |= designators(normalised)
                names.update(place_names(normalised, areas))
            self._entries.append(_Entry(place.unit_id, numbers))
            self._numbers.append(numbers.kinds())
            for name in names:
                self._by_name[name].append(index)
            for area in _area_keys(place.area_names[0] if place.area_names else ""):
                self._by_area[area].append(index)
        for area in [a for a in self._by_area if a in self._by_name]:
            del self._by_area[area]  # a place named like its community is matched as the place
        self._automaton = self._build_automaton()
        self._char_names = self._build_char_postings()
        self._roads_by_number: dict[str, list[tuple[str, str]]] = defaultdict(list)  # 88 -> [(湖滨路, 湖滨路88号)]
        for name in self._by_name:
            if (on_road := road_number(name)) is not None:
                self._roads_by_number[on_road[1]].append((on_road[0], name))
        self._roads = frozenset(road for pairs in self._roads_by_number.values() for road, _ in pairs)
        self._ranking = lru_cache(maxsize=RANKINGS_KEPT)(self._ranked)

    def _build_automaton(self):
        automaton = ahocorasick.Automaton()
        for name in [*self._by_name, *self._by_area]:
            automaton.add_word(name, name)
        if len(automaton):
            automaton.make_automaton()
        return automaton

    def _build_char_postings(self) -> dict[str, list[str]]:
        postings: dict[str, list[str]] = defaultdict(list)
        for name in self._by_name:
            if len(name) >= 3 and not numbers_on_roads(name):  # a road's name alone (湖滨路上) is no number on it
                for char in set(name):
                    postings[char].append(name)
        limit = max(50, int(len(self._by_name) * COMMON_CHAR_SHARE))
        return {char: names for char, names in postings.items() if len(names) <= limit}

    def __len__(self) -> int:
        return len(self._entries)

    @classmethod
    def from_session(cls, session: Session) -> AddressIndex:
        """The index of every unit in the database."""
        return cls(unit_places(session))

    @classmethod
    def from_registry(cls, registry: Registry) -> AddressIndex:
        """An index of registry records; a match's `unit_id` is the position in `registry.units`."""
        areas = {area.code: (area.name, area.parent_code) for area in registry.areas}
        grid_areas = {grid.code: grid.area_code for grid in registry.grids}
        return cls(UnitPlace(i, u.address, u.aliases, _chain(areas, grid_areas[u.grid_code]))
                   for i, u in enumerate(registry.units))

    def _exact_hits(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, name) of the names and community names in `text`, those inside a longer one left out."""
        if not len(self._automaton):
            return []
        spans = {(end - len(name) + 1, end + 1, name) for end, name in self._automaton.iter(text)}
        return [(start, end, name) for start, end, name in spans
                if not any(s <= start and end <= e and (s, e) != (start, end) for s, e, _ in spans)]

    def names_in(self, text: str) -> list[str]:
        """The place names `text` holds exactly (normalised, in the order written; not a community's name)."""
        return [name for _, _, name in sorted(self._exact_hits(normalise_address(text))) if name in self._by_name]

    def roads_in(self, text: str) -> list[str]:
        """The roads with houses of the index that `text` names (在湖滨路上，靠近公交站 → [湖滨路]): a place on no house."""
        normalised = normalise_address(text)
        return [road for road in self._roads if road in normalised]

    def units_named(self, text: str) -> frozenset[int]:
        """The units the place names `text` holds (exactly, in any known form) may mean, whatever numbers it gives:
        阳光小区3栋 → every unit of 阳光小区; none for a text naming no place (or only a community)."""
        return frozenset(self._entries[index].unit_id for name in self.names_in(text) for index in self._by_name[name])

    def _fuzzy_hits(self, text: str) -> dict[str, float]:
        shared: Counter[str] = Counter()
        named: set[str] = set()  # candidates sharing a character of the name itself, not only of its kind
        for char in set(text):
            names = self._char_names.get(char, ())
            shared.update(names)
            if char not in KIND_CHARS:
                named.update(names)
        ranked = [name for name, count in shared.most_common(FUZZY_CANDIDATES)
                  if count >= 3 or (count >= 2 and name in named)]
        scores = {name: fuzz.partial_ratio(name, text) for name in ranked}
        scores.update(self._misspelt_roads(text))
        return {name: score for name, score in scores.items() if score >= FUZZY_FLOOR}

    def _misspelt_roads(self, text: str) -> dict[str, float]:
        """Numbers on roads (湖滨路88号) the text writes with the number right and the road misspelt (胡滨路88号):
        only a number on a road makes one a candidate, so the road's name alone (湖滨路上) guesses no estate."""
        scores: dict[str, float] = {}
        for before, number in numbers_on_roads(text):
            for road, name in self._roads_by_number.get(number, ()):
                scores[name] = max(scores.get(name, 0.0), fuzz.ratio(road, before[-len(road):]))
        return scores

    def match(self, text: str, limit: int = 1) -> list[AddressMatch]:
        """The best units for `text`, best first; `confident` on the first only when it is clear. The rankings of the
        last `RANKINGS_KEPT` texts are kept: one report's words are matched by several checks (an address alone, the
        place of the report, a matter come back)."""
        normalised = normalise_address(text)
        if not normalised:
            return []
        ranked, clear = self._ranking(normalised)
        return [AddressMatch(self._entries[index].unit_id, round(score, 1), clear and i == 0)
                for i, (index, score) in enumerate(ranked[:limit])]

    def _ranked(self, normalised: str) -> tuple[tuple[tuple[int, float], ...], bool]:
        """Every unit `normalised` may mean as (entry index, score), best first, and whether the first is clear."""
        spans = self._exact_hits(normalised)
        lanes = [name for _, _, name in spans if name.endswith(LANE_WORDS)]
        if lanes and (houses := lane_houses_as_buildings(normalised, lanes)) != normalised:
            normalised, spans = houses, self._exact_hits(houses)
        if "号门" in normalised and (doors := self._doors_as_buildings(normalised, spans)) != normalised:
            normalised, spans = doors, self._exact_hits(doors)
        wanted = designators(normalised)
        hits = {name for _, _, name in spans}
        areas = [name for name in hits if name not in self._by_name]
        own = self._own_numbers(normalised, spans)
        names = {name: 100.0 if len(name) >= 3 else _short_name_score(name, normalised, own.get(name, wanted), areas)
                 for name in hits if name in self._by_name}
        if not names:
            names = self._fuzzy_hits(normalised)
        best: dict[int, float] = {}
        for name, base in names.items():
            self._scored(best, self._by_name[name], base, own.get(name, wanted))
        for area in areas:
            self._scored(best, self._by_area[area], 100.0, wanted, area=True)
        ranked = sorted(((index, score) for index, score in best.items() if score >= REPORTED),
                        key=lambda item: (-item[1], item[0]))
        return tuple(ranked), bool(ranked) and self._clear(ranked, spans, names, areas)

    def _doors_as_buildings(self, normalised: str, spans: list[tuple[int, int, str]]) -> str:
        """`normalised` with 新城家园18号门口 read as building 18's door when a unit of 新城家园 has a building 18."""
        buildings = {name: frozenset().union(*(self._entries[i].numbers.buildings for i in self._by_name[name]))
                     for _, _, name in spans if name in self._by_name}
        return doors_as_buildings(normalised, buildings)

    def _own_numbers(self, normalised: str, spans: list[tuple[int, int, str]]) -> dict[str, Designators]:
        """The designators each place name owns when the words name two places or more (从阳光小区一期3栋到湖景苑5栋:
        1期3栋 are 阳光小区's, 5栋 湖景苑's): those written from the name up to the next other place's name (those
        before the first name are the first's). Names of shared units (湖滨路88号阳光小区) are one place; {} when
        the words name one place (it owns every designator)."""
        named = sorted((start, name) for start, _, name in spans if name in self._by_name)
        places: list[set[int]] = []
        place_of: dict[str, int] = {}
        for _, name in named:
            if name not in place_of:
                units = set(self._by_name[name])
                place_of[name] = next((i for i, held in enumerate(places) if held & units), len(places))
                if place_of[name] == len(places):
                    places.append(set())
                places[place_of[name]] |= units
        if len(places) < 2:
            return {}
        owned = [Designators() for _ in places]
        cuts = [(0 if i == 0 else start, place_of[name]) for i, (start, name) in enumerate(named)
                if i == 0 or place_of[name] != place_of[named[i - 1][1]]]
        for (start, place), (end, _) in zip(cuts, [*cuts[1:], (len(normalised), -1)]):
            owned[place] |= designators(normalised[start:end])
        return {name: owned[place] for name, place in place_of.items()}

    def _clear(self, ranked: list[tuple[int, float]], spans: list[tuple[int, int, str]], names: dict,
               areas: list[str]) -> bool:
        """Whether the best entry is certain: it scores high, clearly above the next, and, when the words name a
        community, lies in it (翠苑社区湖景苑3栋: 湖景苑 is 阳光社区's, a slip or another estate of that name) and
        bears a place name the words give, if any (石湾村3组上塘: 3组 is 东坑, 上塘 is 1组)."""
        best, top = ranked[0]
        if top < CONFIDENT or (len(ranked) > 1 and top - ranked[1][1] < MARGIN):
            return False
        if not areas:  # then the best was found by a name: nothing can disagree with it
            return True
        if names and not any(_holds(self._by_name[name], best) for name in names):
            return False
        return all(_holds(self._by_area[area], best) for area in _apart(spans, self._by_name))

    def _scored(self, best: dict[int, float], indexes: list[int], base: float, wanted: Designators,
                area: bool = False) -> None:
        """Raise `best` of each entry of `indexes` to `base` less a penalty for every kind of designator `wanted`
        names that the entry has not (MISMATCH) or has none of (UNSTRUCTURED); `area`: found by its community's
        name, which with a matching designator scores AREA_WITH_NUMBER and alone at most AREA_ONLY. One loop over
        the entries (an estate's dozens of buildings), each entry's designators kept as a tuple of the kinds."""
        asked = [(kind, want) for kind, want in enumerate(wanted.kinds()) if want]
        numbers = self._numbers
        for index in indexes:
            score, matched, has = base, False, numbers[index]
            for kind, want in asked:
                present = has[kind]
                if not present:
                    score -= UNSTRUCTURED
                elif want.isdisjoint(present):
                    score -= MISMATCH
                else:
                    matched = True
            if area:
                score = score - (100.0 - AREA_WITH_NUMBER) if matched else min(score, AREA_ONLY)
            if score > best.get(index, 0.0):
                best[index] = score


def _holds(members: list[int], index: int) -> bool:
    """Whether ascending entry indexes hold `index` (a bisect: no scan of a community's units)."""
    found = bisect_left(members, index)
    return found < len(members) and members[found] == index


def _apart(spans: list[tuple[int, int, str]], places: dict) -> list[str]:
    """The community names among `spans` that overlap no place name (新村20栋 holds 村2, but names no 村2)."""
    named = [(start, end) for start, end, name in spans if name in places]
    return [name for start, end, name in spans
            if name not in places and not any(s < end and start < e for s, e in named)]


def _short_name_score(name: str, normalised: str, wanted: Designators, areas: list[str]) -> float:
    """A two-character name is a place when something says so: a building or group number, a community's name,
    or a message hardly longer than the name (an answer: 上塘, 在上塘). In running text it is often a plain word
    (水口, 石桥, 竹园), so there it is only a guess."""
    said_so = wanted != Designators() or bool(areas) or len(normalised) <= len(name) + 2
    return SHORT_NAME if said_so else SHORT_IN_TEXT


def unit_places(session: Session) -> list[UnitPlace]:
    """Every unit in the database as the index sees it (reading only: the index is built after)."""
    areas = {area.id: (area.name, area.parent_id) for area in session.scalars(select(Area))}
    grid_areas = {grid_id: area_id for grid_id, area_id in session.execute(select(Grid.id, Grid.area_id))}
    units = session.execute(select(Unit.id, Unit.address, Unit.aliases, Unit.grid_id).order_by(Unit.id))
    return [UnitPlace(unit_id, address, tuple(aliases or ()), _chain(areas, grid_areas[grid_id]))
            for unit_id, address, aliases, grid_id in units]
