"""Address text as residents write it, folded into one canonical form and taken apart.

三栋 = 3栋 = 3号楼 = 3座 = 3幢 = 3#楼 become `3栋` (3-2-301 is 3栋2单元301, 湖景苑3-2 is 3栋2单元); 二期 = 2区 become
`2期` (Ⅱ期 too), and an estate's part named by direction or letter (东区, a区) `东期`, `a期`; 第三村民小组 = 3队 become `3组`; full
width, traditional characters and common typos are folded first.
What is left after the numbered parts are taken out are the place *names*.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from config.settings import SHIPPED_CONFIG_DIR
from handlers.chat.scripts import nfkc
from handlers.classify._normalise import chinese_number, to_simplified

MAX_RANGE = 60  # a building range wider than this is not a range ("1-501" is building 1, room 501)
# 拾 left out (收拾楼道 is no 10楼), and 两, which counts (两栋楼中间: between two buildings), never names one
_CN_NUMERAL = "零〇一二三四五六七八九十百壹贰叁参肆伍陆柒捌玖"
_SEPARATORS = "-~至到、,，和及/.。·"  # of the numbers of a range or list: 三到五栋, 1、3栋, 1.3栋
_ROOM = re.compile(r"\d+(?:单元|楼|层|室|户|号房)|\d{3,4}")
# A road's own name holds no road word: 龙津西路永兴巷12号 is 12 on 永兴巷 (off 龙津西路), never on 津西路永兴巷
_ROAD_NAME = r"(?:(?!大道)[\u4e00-\u9fff](?<![路街巷弄])){2,5}?(?:大道|路|街|巷|弄)"
_ROAD = re.compile(rf"({_ROAD_NAME})(\d+)号")
_ROAD_ALONE = re.compile(_ROAD_NAME)
_NUMBER_ON_ROAD = re.compile(r"(?:大道|[路街巷弄])(\d+)号")
LANE_WORDS = ("里", "弄", "巷", "坊", "胡同")  # a number after them is a house of the lane (建设里5号)
_LANE_HOUSE = re.compile(r"(?:(?<=[里弄巷坊])|(?<=胡同))(\d+)号")  # 5号门口 in a lane: at house 5 (in an estate: gate 5)
_NOISE = re.compile(r"[^\w-]+|_")
_BUILDING = re.compile(r"(?<![a-z0-9])(\d+|[a-z])栋")
_PHASE = re.compile(r"(?<![\da-z])(\d+|[a-z东南西北])期")
# The last character of an estate's name (阳光小区, 湖景苑, 明湖新村, 荔枝湾), of its phase or of its number on a road
# (湖滨路120号): what a part (东区, a区) or a building-unit shorthand (3-2) follows. 城 is left out: 城东区 is a district.
_ESTATE_END = "区园苑庭居寓厦场家庄府村湾舍邨期号"
_GROUP = re.compile(r"(?<!\d)(\d+)组")
_COUNTERS = "|".join("点 号 月 日 天 元 块 米 个 岁 次 年 分 秒 小时 周 斤 度 % 人 只 辆 户".split())
_LEADING_ZERO = re.compile(r"(?<!\d)0+(?=\d)")


@dataclass(frozen=True)
class Designators:
    """The numbered parts of an address: phases (期), buildings (栋) and village groups (组)."""

    phases: frozenset[str] = frozenset()
    buildings: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()

    def __or__(self, other: Designators) -> Designators:
        return Designators(self.phases | other.phases, self.buildings | other.buildings, self.groups | other.groups)

    def kinds(self) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
        """(phases, buildings, groups)."""
        return self.phases, self.buildings, self.groups


class _Rules:
    """The compiled rewrite rules of config/address.yaml."""

    def __init__(self, spec: dict) -> None:
        def alternation(words) -> str:
            return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))

        buildings = alternation([*spec["building_words"], *spec["building_typos"]])
        phases = alternation([*spec["phase_words"], *spec["phase_typos"]])
        groups = alternation(spec["group_words"])
        counters = alternation([*spec["building_words"], *spec["building_typos"], *spec["phase_words"],
                                *spec["phase_typos"], *spec["group_words"], "号", "单元", "楼", "层", "室"])
        self.typos = [(str(k), str(v)) for k, v in sorted(spec["typos"].items(), key=lambda kv: -len(kv[0]))]
        # 一座山, 一栋楼都停电了: a count (not after a place's name or phase: 阳光小区一栋楼下 is building 1)
        count = rf"(?<![{_ESTATE_END}\d第])一(?:{buildings})(?:{alternation(spec['counted_things'])})"
        self.numeral = re.compile(rf"(?!{count})第?([{_CN_NUMERAL}]+)(?=(?:[{_SEPARATORS}][0-9{_CN_NUMERAL}]+)*({counters}))")
        # Ⅲ期, Ⅴ栋 (Unicode Roman numerals, full width or not: III期, V栋 once NFKC folds them) are numbers
        self.roman = re.compile(rf"(?<![a-z0-9])(?=[ivx])(x{{0,2}}(?:ix|iv|v?i{{0,3}}))(?=(?:{counters}))")
        self.ordinal = re.compile(r"第(?=\d)")
        self.building = re.compile(rf"(?<![a-z])(\d+|[a-z])(?:{buildings})")
        self.phase = re.compile(rf"(\d+)(?:{phases})")
        self.group = re.compile(rf"(\d+)(?:{groups})")
        self.bare_number = re.compile(r"(?<![路街道巷弄里月\d])(\d+)号(?![门铺店楼栋院房\d])")
        # 1、3栋 and 1,3栋 list buildings; so does a dot (1.3栋), which may also mean 1栋3单元: either way
        # building 1 or 3 is meant, never 13, and an estate splitting them between units is asked
        self.listed = re.compile(r"((?:\d+[、,，和及/.。· ])+\d+)栋")  # a space too: 5 6栋
        self.ranged = re.compile(r"(\d+)[-~至到](\d+)栋")
        self.unit_room = re.compile(r"(?<![\d-])(\d{1,2})-(\d{1,2})-(\d{3,4})(?![\d-])")  # 3-2-301: 栋-单元-室
        self.room_shorthand = re.compile(r"(?<![\d-])(\d{1,2})-(\d{3,4})(?!\d)")
        # 湖景苑3-2: 栋-单元 after an estate's name; never a count, a time or a date (3-5个, 8-9点, 3-2号)
        self.unit_shorthand = re.compile(rf"(?<=[{_ESTATE_END}])(\d{{1,2}})-(\d)(?:单元)?+(?![\d.-]|栋|{_COUNTERS})")
        # 东区, a区: a part of an estate, after its name or alone (an answer: 东区3栋)
        self.part = re.compile(rf"(?:(?<=[{_ESTATE_END}])|^)([东南西北a-z])区(?!域)")
        # normalise_address's passes after the numerals, in order: (pattern, replacement, the words it cannot match
        # without — a pass is skipped when the text holds none of them: most hold no 号, 组 or dash; () always runs)
        self.passes = ((self.building, r"\1栋", ()), (self.phase, r"\1期", (*spec["phase_words"], *spec["phase_typos"])),
                       (self.group, r"\1组", tuple(spec["group_words"])), (self.bare_number, r"\1栋", ("号",)),
                       (self.listed, _listed, ("栋",)), (self.ranged, _expand_range, ("栋",)),
                       (self.unit_room, r"\1栋\2单元\3", ("-",)), (self.room_shorthand, r"\1栋\2", ("-",)),
                       (self.unit_shorthand, r"\1栋\2单元", ("-",)), (self.part, r"\1期", ("区",)))
        self.suffixes = tuple(sorted(spec["name_suffixes"], key=len, reverse=True))
        self.correction = re.compile(rf"(?:{alternation(spec['correction_words'])})[，,。；;！!\s]*"
                                     rf"|(?:{alternation(spec['correction_alone'])})[，,。；;！!\s]+"
                                     rf"|(?:{alternation(spec['correction_ends'])})")
        self.correction_ends = frozenset(spec["correction_ends"])
        self.positions = re.compile(alternation(spec["position_words"]))
        self.joins = re.compile(alternation(spec["place_joins"]))
        self.between = re.compile(alternation(spec["between_words"]))
        self.home = re.compile(rf"(?:{alternation(spec['home_words'])}).*?(?=[，,。；;！!？?\s]|但|可是|不过|$)")


@lru_cache(maxsize=4)
def _rules(config_dir: Path = SHIPPED_CONFIG_DIR) -> _Rules:
    path = config_dir / "address.yaml"
    if not path.is_file():
        path = SHIPPED_CONFIG_DIR / "address.yaml"
    return _Rules(yaml.safe_load(path.read_text(encoding="utf-8")))


def _read_numeral(found: re.Match) -> str:
    """三 → 3, 十二 → 12, 一零一 → 101; two consecutive digits right before their counter are both and the number
    they join (三四栋 → 3栋4栋34栋): residents write 三四栋 for buildings 3 and 4, seldom for 34 (三十四栋), so a unit
    holding 3 and 4 is certain, and one with a building 34 as likely (asked)."""
    run, counter = found.group(1), found.group(2)
    digits = [chinese_number(char) for char in run] if found.end() == found.start(2) else []
    if len(digits) == 2 and 0 < digits[0] and digits[1] == digits[0] + 1 and all(c not in "十百" for c in run):
        return f"{digits[0]}{counter}{digits[1]}{counter}{digits[0]}{digits[1]}"
    return str(chinese_number(run))


_ROMAN_VALUES = {"i": 1, "v": 5, "x": 10}


def _read_roman(found: re.Match) -> str:
    """iii → 3, iv → 4, xii → 12 (a letter before a greater one is taken off it)."""
    values = [_ROMAN_VALUES[letter] for letter in found.group(1)]
    return str(sum(-v if v < after else v for v, after in zip(values, [*values[1:], 0])))


def _listed(found: re.Match) -> str:
    """1、3栋 → 1栋3栋."""
    return "".join(f"{n}栋" for n in re.split(r"\D+", found.group(1)))


def _expand_range(match: re.Match) -> str:
    first, last = int(match.group(1)), int(match.group(2))
    if first > last or last - first > MAX_RANGE:
        return match.group(0)
    return "".join(f"{n}栋" for n in range(first, last + 1))


def normalise_address(text: str) -> str:
    """The canonical form of an address or message: what names and designators are read from."""
    rules = _rules()
    text = to_simplified(nfkc(text or "").casefold())
    for wrong, right in rules.typos:
        text = text.replace(wrong, right)
    text = rules.roman.sub(_read_roman, text)
    text = rules.numeral.sub(_read_numeral, text)
    text = rules.ordinal.sub("", text)
    for pattern, replacement, needs in rules.passes:
        if not needs or any(word in text for word in needs):
            text = pattern.sub(replacement, text)
    return _NOISE.sub("", text)


def designators(normalised: str) -> Designators:
    """The phases, buildings and groups a normalised text names, numbers without leading zeros (03栋 is 3栋)."""
    normalised = _LEADING_ZERO.sub("", normalised)
    return Designators(frozenset(_PHASE.findall(normalised)), frozenset(_BUILDING.findall(normalised)),
                       frozenset(_GROUP.findall(normalised)))


def road_number(name: str) -> tuple[str, str] | None:
    """(the road, the number) when a place name is a number on a road: 湖滨路88号 → ("湖滨路", "88")."""
    found = _ROAD.fullmatch(name)
    return (found.group(1), found.group(2)) if found else None


def numbers_on_roads(normalised: str) -> list[tuple[str, str]]:
    """(the text up to the road's end, the number) for each number on a road a text names: 住在胡滨路120号门口 →
    [("住在胡滨路", "120")]. A misspelt road is recognised by its number (see AddressIndex)."""
    return [(normalised[:found.start(1)], found.group(1)) for found in _NUMBER_ON_ROAD.finditer(normalised)]


def lane_houses_as_buildings(normalised: str, lanes: Collection[str]) -> str:
    """`normalised` with each house number right after one of the `lanes` it names (place names ending in
    LANE_WORDS) written as a building of the lane: 建设里5号 → 建设里5栋. After any other word (这里5号: a date) it
    stays. A registry's addresses are read as written (龙津西路永兴巷12号 is a house of its own)."""
    def house(found: re.Match) -> str:
        known = any(normalised.endswith(lane, 0, found.start()) for lane in lanes)
        return f"{found.group(1)}栋" if known else found.group(0)
    return _LANE_HOUSE.sub(house, normalised)


_DOOR_NUMBER = re.compile(r"(\d+)号(?=门[口前])")  # 18号门口: at the door of number 18 (a gate's, or a building's)


def doors_as_buildings(normalised: str, buildings: dict[str, frozenset[str]]) -> str:
    """`normalised` with a number at a door right after a place's name written as its building when the place has a
    building of that number (`buildings`: each name's): 新城家园18号门口 → 新城家园18栋门口; a gate's number (2号门口 where
    no building 2 is) stays."""
    def door(found: re.Match) -> str:
        known = any(found.group(1) in numbers and normalised.endswith(name, 0, found.start())
                    for name, numbers in buildings.items())
        return f"{found.group(1)}栋" if known else found.group(0)
    return _DOOR_NUMBER.sub(door, normalised)


def without_numbers(normalised: str, mark: str = "") -> str:
    """A normalised text with its phases, buildings and groups replaced by `mark`: 湖景苑3栋4栋 → 湖景苑."""
    return _GROUP.sub(mark, _PHASE.sub(mark, _BUILDING.sub(mark, normalised)))


_DENIED = re.compile(r"不是[^，,。；;！!？?\s是]*[，,。；;！!？?\s]*")


def without_denied(text: str) -> str:
    """The words without what they deny: 不是一期，是二期的 → 是二期的 (an answer that corrects a guessed place)."""
    return _DENIED.sub("", text)


_AROUND_A_CHOICE = re.compile(r"^(?:就是|就在|是|在|系|喺)?(.+?)(?:那边|那里|那儿|这边|嗰边|𠮶边|嗰度|𠮶度|的|嘅)?$")
# 是第二个, 后面那个, and as Cantonese writes them: 系第二个, 后面嗰个 (嗰: that, 𠮶 once OpenCC has read it); emoji
# and marks left out first
_ORDINAL = re.compile(r"(?:就是|就系|是|系)?(?:第([1-9一二三四五六七八九])(?:个|处)?|([1-9])|最?([前后])(?:者|一个|一处|面?(?:那|嗰|𠮶)?[个处]|面的|面))"
                      r"(?:的|嘅|啊|呀|吧|啦|喔)?")
_NOT_WORDS = re.compile(r"[\W_]+")


def turn_of(choices: Collection[str], answer: str) -> int | None:
    """The place an answer to “请问地点是A还是B？” picks by its turn (第二个 → 2, 后面那个 → the last), counted from 1
    and perhaps beyond the choices (第三个 of two); None when it names no turn."""
    turn = _ORDINAL.fullmatch(_NOT_WORDS.sub("", answer))
    if turn is None:
        return None
    said = turn.group(1) or turn.group(2) or ""
    return {"前": 1, "后": len(choices)}.get(turn.group(3)) or (int(said) if said.isdigit() else chinese_number(said))


def chosen_place(choices: Collection[str], answer: str) -> str:
    """The one of `choices` (“请问地点是A还是B？”) an answer names by its turn (第二个, 后面那个) or by what sets it
    apart (湖景苑那边, 是东区: words of that choice only), else the answer itself, to be read as any address is."""
    words = _AROUND_A_CHOICE.match(answer.strip())
    if words is None or not choices:
        return answer
    if (number := turn_of(choices, answer)) is not None:
        return list(choices)[number - 1] if number <= len(choices) else answer
    wanted = normalise_address(words.group(1))
    named = [choice for choice in choices if wanted and wanted in normalise_address(choice)]
    return named[0] if len(named) == 1 else answer


_CLAUSE_END = re.compile(r"[，,。；;！!？?\s]")
_FILLER = re.compile(r"^(?:应该|就|还|其实)?(?:是|在|系|喺)?")


def corrected(text: str) -> str:
    """The words with the place a correction takes back left out (config/address.yaml's correction words), for
    reading the place: 阳光小区一期3栋，不对，是二期3栋 → 阳光小区，是二期3栋 (a correction naming only numbers keeps the
    name before it), 湖景苑3栋，说错了，是阳光小区二期3栋 → ，是阳光小区二期3栋 (simplified, full width folded); the text
    as it is when no correction names a number. The last correction wins."""
    rules, text = _rules(), to_simplified(nfkc(text))
    for found in reversed(list(rules.correction.finditer(text))):
        if found.group(0) in rules.correction_ends:  # 二期3栋才对: the clause it closes corrects
            fix_start = max((m.end() for m in _CLAUSE_END.finditer(text, 0, found.start())), default=0)
            fix, before = text[fix_start:found.start()], text[:fix_start]
        else:
            fix, before = text[found.end():], text[:found.start()]
            fix = fix[:end.start()] if (end := _CLAUSE_END.search(fix)) else fix
        fixed = normalise_address(fix)
        if designators(fixed) == Designators():
            continue
        clause = _taken_back(before)
        if clause is None:
            continue
        start, end = clause
        own_name = _FILLER.sub("", without_numbers(fixed, "|").split("|")[0])
        kept = "" if len(own_name) >= 2 else without_numbers(normalise_address(before[start:end]))
        return before[:start] + kept + text[end:]
    return text


def corrects_itself(text: str) -> bool:
    """Whether a correction in `text` takes back a place `text` itself names before it (滨江花园一期3栋门口，说错了，应该是
    二期3栋), not one written in an earlier message (说错了，应该是二期3栋)."""
    simplified = to_simplified(nfkc(text))
    return corrected(simplified) != simplified


def correcting_words(text: str) -> str | None:
    """The words naming the right place when `text`, sent on its own, takes back a place written before (说错了
    应该是8栋, 是8栋门口，不是6栋, 二期3栋才对, 搞错了，是金桂园): `text` without the correction's own words and what it
    denies; None when it says no correction (a correction word, or 不是 before a number). Whether the words name a
    place is for the address index to say."""
    rules, text = _rules(), to_simplified(nfkc(text))
    denied = [found.group(0) for found in _DENIED.finditer(text)]
    if not any(names_a_spot(words) for words in denied) and rules.correction.search(text) is None:
        return None
    return rules.correction.sub("，", without_denied(text))


_PARTICLES = "的嘅啊呀吧呢哦"  # closing a place said alone: 是3栋的, 在3栋啊


def names_a_spot(text: str) -> bool:
    """Whether `text` names a phase, building or group (3号楼, 二期, 3组)."""
    return designators(normalise_address(text)) != Designators()


def has_phases(address: str) -> bool:
    """Whether a registry `address` names a phase (阳光小区2期3栋): its estate has phases."""
    return bool(designators(normalise_address(address)).phases)


def says_only_spot(text: str, names: Collection[str] = ()) -> bool:
    """Whether `text` says nothing but where beside the phase, building or group it names and the place `names` given
    (是3号楼, 在3栋, 3号楼那边, 就在二期5栋门口; 是桃源居3栋 when 桃源居 is given): not 3栋楼道灯也坏了."""
    rest = without_numbers(normalise_address(text))
    for name in sorted(names, key=len, reverse=True):
        rest = rest.replace(normalise_address(name), "")
    return not _FILLER.sub("", without_positions(rest)).rstrip(_PARTICLES)


def spot_words(text: str) -> str:
    """The numbered spot words that say only where name, normalised (是3号楼, 3号楼那边 → 3栋; 就在二期5栋门口 → 2期5栋)."""
    return _FILLER.sub("", without_positions(normalise_address(text))).rstrip(_PARTICLES)


def _taken_back(before: str) -> tuple[int, int] | None:
    """Where the last clause of `before` that names a number lies (the place a correction takes back)."""
    ends = [0, *(m.end() for m in _CLAUSE_END.finditer(before)), len(before) + 1]
    for start, end in reversed(list(zip(ends, ends[1:]))):
        if designators(normalise_address(before[start:end - 1])) != Designators():
            return start, end - 1
    return None


_WRITTEN_NUMBER = re.compile(r"[0-9０-９一二三四五六七八九十两零Ⅰ-Ⅻⅰ-ⅻ]+\s*(?:号楼|栋|幢|座|单元|期|区|组|号)")


def joined_places(text: str) -> list[str]:
    """The words of the first clause of `text` that joins pieces (config/address.yaml's place_joins), split there, the
    last up to its last number (the matter after it left out): 湖景苑5栋和阳光小区3栋都停水了 → [湖景苑5栋, 阳光小区3栋];
    [] when no clause joins two, or the words say what lies between or around the places (湖景苑和阳光小区中间). Whether
    each piece is a place is for the address index to say."""
    rules = _rules()
    if rules.between.search(text):
        return []
    for clause in _CLAUSE_END.split(text):
        pieces = rules.joins.split(clause)
        if len(pieces) >= 2:
            numbers = list(_WRITTEN_NUMBER.finditer(pieces[-1]))
            pieces[-1] = pieces[-1][:numbers[-1].end()] if numbers else pieces[-1]
            return pieces
    return []


def without_positions(words: str) -> str:
    """Words without those that only say where beside a place (config/address.yaml's position_words): 就是我家楼下 → ""."""
    return _rules().positions.sub("", to_simplified(words))


def split_home(text: str) -> tuple[str, str]:
    """(where the words say the resident lives, the rest of them): 住在湖景苑3栋，但是5栋门口… → ("住在湖景苑3栋",
    "，但是5栋门口…"); ("", text) when they say nothing of home."""
    found = _rules().home.search(text)
    return (found.group(0), text[:found.start()] + text[found.end():]) if found else ("", text)


def in_estate(address: str, words: str, phase_known: bool) -> str:
    """`words` that name only numbers (5栋门口, 二期3栋) put in the estate of a unit's `address`, as one normalised
    text: its names, and its phase when `phase_known` and the words name none (湖景苑3-4栋 + 5栋门口 → 湖景苑5栋门口)."""
    normalised, wanted = normalise_address(address), normalise_address(words)
    if phase_known and not designators(wanted).phases:
        return _GROUP.sub("", _BUILDING.sub("", normalised)) + wanted
    return without_numbers(normalised) + wanted


def place_names(normalised: str, area_names: tuple[str, ...] = ()) -> list[str]:
    """The names in a normalised registry address or alias, without area names and numbers.

    "明湖区湖滨街道湖滨路88号阳光小区1期1栋2栋" → ["湖滨路88号", "阳光小区"]; a number on a lane written after the
    road it is off is named with and without it, the road alone never: "龙津西路永兴巷12号" → ["龙津西路永兴巷12号",
    "永兴巷12号"] (a road's name alone, 龙津西路上, names no house on it).
    """
    rest = without_numbers(normalised, "|")
    for area in sorted(area_names, key=len, reverse=True):
        rest = rest.replace(area, "|")
    pieces: list[str] = []
    for chunk in rest.split("|"):
        start = 0
        for road in _ROAD.finditer(chunk):
            before = chunk[start:road.start()]
            if _ROAD_ALONE.fullmatch(before):
                pieces.append(before + road.group(0))
            else:
                pieces += _ROOM.sub("|", before).split("|")
            pieces.append(road.group(0))
            start = road.end()
        pieces += _ROOM.sub("|", chunk[start:]).split("|")
    names = []
    for piece in pieces:
        piece = piece.strip("-")
        for suffix in _rules().suffixes:
            if piece.endswith(suffix) and len(piece) > len(suffix):
                piece = piece[: -len(suffix)]
                break
        if len(piece) >= 2:
            names.append(piece)
    return names
