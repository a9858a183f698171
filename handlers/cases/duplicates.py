"""Likely duplicates (重复反映): a new report like a recent open case of the same matter and place.

Same place and category are not enough (a loose manhole cover is not a broken street light):
the words must be alike too, compared on the normalised texts without place words and fillers,
and two reports that name different spots of the place (building, entrance, floor or room) are
about different things (the lift of 3单元 is not the lift of 5单元).
Alike enough (`link`), and nothing says they differ (`same_matter`), the report follows the earlier case;
somewhat alike (`suspect`) and it opens as a case of its own marked 疑似重复 for the worker to merge with
one word (合并): a wrong link hides a resident's report in someone else's case, a wrong mark costs a word.
A report like a case of the place closed not long before (`likely_repeat`) is a 回头件: the problem came back, so it
opens as a case of its own that names the earlier one and how it was closed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein
from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    String,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from handlers.cases.timing import Thresholds
from handlers.chat.commands import holds_words, one_name, without_words
from handlers.classify import normalise
from models import Case, CaseState, state_in
from models.db import TransactionMemo
from models.rows import flush_pending, held, in_session
from models.statements import fetch_all

LINKABLE = (CaseState.PENDING, CaseState.IN_PROGRESS, CaseState.SUSPENDED, CaseState.ESCALATED)
CANDIDATES = 20  # the most recent open cases of the matter there that are compared
THING_CHARS = 3  # the run of content a 回头件 classified in another category shares with the earlier case (下水道)
PAST_EVERY_ID = 2**31 - 1  # `before` for a case compared after it waited (later cases count too): an INTEGER key's last

# Built once on the table, compiled once and run through the driver (`fetch_all`). A case with a unit is
# found on ix_cases_unit_category (unit, category, id), one without on ix_cases_grid_category (grid, category, id).
_CASES = Case.__table__.c


def _by_place(query: Select) -> tuple[Select, Select]:
    """`query` for the cases of a unit, and for those of a grid without a unit (a case of one building is no duplicate
    of one placed at the estate: tested through coalesce so that SQLite never reads them on ix_cases_unit_category,
    every unit-less case of the category), the CANDIDATES most recent: the pair `_of_the_place` chooses from."""
    newest = (_CASES.id.desc(),)
    return (query.where(_CASES.unit_id == bindparam("place")).order_by(*newest).limit(CANDIDATES),
            query.where(_CASES.grid_id == bindparam("place"), func.coalesce(_CASES.unit_id, 0) == 0).order_by(
                *newest).limit(CANDIDATES))


def _closed(category: ColumnElement[bool]) -> Select:
    """Cases closed there (办结, then perhaps rated and archived) since `closed_since`, before `case_id`, of the
    categories `category` admits."""
    return select(_CASES.id, _CASES.text, _CASES.reporter_userid).where(
        _CASES.id < bindparam("case_id"), category,
        state_in((CaseState.CLOSED, CaseState.ARCHIVED)), _CASES.closed_at >= bindparam("closed_since"),
    )


# Those before `case` (`before`: its id), or every other one for a case placed or sorted later (`before`: past every
# id), which meets the cases opened while it waited.
_IN_UNIT, _IN_GRID = _by_place(select(_CASES.id, _CASES.text).where(
    _CASES.id < bindparam("before"), _CASES.id != bindparam("case_id"), _CASES.category == bindparam("category"),
    state_in(LINKABLE), _CASES.created_at >= bindparam("since"), _CASES.duplicate_of_id.is_(None),
    _CASES.reporter_userid != bindparam("reporter"),
))
_CASE = select(Case.__table__).where(_CASES.id == bindparam("case_id"))  # the one found, every column
# Cases of the matter there closed since `closed_since`, on the same indexes.
_CLOSED_IN_UNIT, _CLOSED_IN_GRID = _by_place(_closed(_CASES.category == bindparam("category")))
# ... of the other categories there (a problem back, classified otherwise this time): asked only of a report saying it
# is back (又, 还是), on the same indexes' place prefix.
_OTHER_CLOSED_IN_UNIT, _OTHER_CLOSED_IN_GRID = _by_place(_closed(_CASES.category != bindparam("category")))

def _open_and_closed(earlier: Select, closed: Select) -> CompoundSelect:
    """Both searches in one statement (a report opened is compared with both): (id, text, reporter, closed) rows."""
    opened, ended = earlier.subquery(), closed.subquery()
    nobody = cast(null(), String).label("reporter_userid")
    return union_all(select(opened.c.id, opened.c.text, nobody, literal_column("0").label("closed")),
                     select(ended.c.id, ended.c.text, ended.c.reporter_userid, literal_column("1").label("closed")))


_BOTH_IN_UNIT = _open_and_closed(_IN_UNIT, _CLOSED_IN_UNIT)
_BOTH_IN_GRID = _open_and_closed(_IN_GRID, _CLOSED_IN_GRID)
# The closed cases of the place read with the open ones for a case (case id, closed_since) → rows, for the 回头件 check
# that follows in the same transaction; forgotten at any write that could change which cases they are.
_CLOSED_READ = TransactionMemo("gridbot_closed_of_place", frozenset({Case.__tablename__}),
                               columns=frozenset({"state", "closed_at", "category", "unit_id", "grid_id"}))

# Words that say where, when or fill the sentence (sentence particles too: 啦, 嘛, 哦, 咯), not what is wrong: left
# out of the comparison (楼道, 楼上 and 楼下 stay: 楼道灯 is not a 路灯, the flat above is not the flat below); pleas and
# thanks are commands.yaml's.
_NOT_CONTENT = re.compile(
    r"[0-9a-z一二三四五六七八九十]+(?:号楼|栋|座|幢|单元|号|室|层|楼|期|区)|小区|门口|门前|附近|旁边"
    r"|[0-9一两三四五六七八九十几好]+个?(?:星期|礼拜|周|天|日|月)"
    r"|这里|那里|我们|你们|他们|大家|[的了吧啊呢吗呀很太都也还又在有是这那个些啦嘛哦喔咯哈嘞呗哟噢吖]|[^\w]")
# Where a report places the matter relative to the reporter's own home: each reporter's own, never the same spot.
_AT_HOME = re.compile(r"楼上|隔壁|对门|我家|我们家|家里|家中")
# A day a report names: the same words about two days are two events (a fight yesterday is not today's).
_DAY = re.compile(r"[今昨前明][天早晚夜]|(?:周|星期|礼拜)[一二三四五六日天]")
# A spot inside a unit: a building (8栋 = 8号楼 = 8幢 = 8座), entrance, floor or room number, on normalised text.
_SPOT = re.compile(r"(\d+)(号楼|栋|幢|座|单元|层|楼|室)")
_SPOT_KIND = {"号楼": "栋", "幢": "栋", "座": "栋", "楼": "层"}
# An address cut into its parts ("湖滨路", "88号", "阳光小区"), each also without its suffix ("阳光"); a name of no
# such suffix ends where its building's number starts (金桂园 of 金桂园3-4栋).
_ADDRESS_PART = re.compile(r".+?(?:街道|社区|小区|花园|新村|大厦|区|路|街|巷|号|期|栋|座|幢|单元|室|(?<=[^\d\s]{2})(?=\d)|$)")
_PART_SUFFIX = re.compile(r"(?:街道|社区|小区|花园|新村|大厦|区|路|街|巷|号|期|栋|座|幢|单元|室)$")


@dataclass(frozen=True)
class Found:
    """The earlier case a report is like, how alike (0–100), and whether that is sure enough to link."""

    case_id: int
    score: float
    sure: bool
    session: Session = field(repr=False, compare=False)

    @property
    def case(self) -> Case:
        """The earlier case, loaded when asked (a case only marked 疑似重复 needs just its id): the session's
        instance, else one read through the driver (`fetch_all`: without the ORM's compile and result steps, nor
        the Core's execution context, ~3 % of a report's samples in a burst where many are likely duplicates)."""
        known = in_session(self.session, Case, self.case_id)
        if known is not None:
            return known
        [values] = fetch_all(self.session, _CASE, {"case_id": self.case_id})
        return held(self.session, Case, Case.__table__, dict(zip(_CASE.selected_columns, values, strict=True)))


@lru_cache(maxsize=4096)
def place_words(*addresses: str) -> tuple[str, ...]:
    """The parts of the case's address and grid name as a resident may write them, longest first (kept
    per address: a unit's reports ask the same)."""
    words: set[str] = set()
    for address in addresses:
        for part in _ADDRESS_PART.findall(normalise(address)):
            words.add(part)
            stem = _PART_SUFFIX.sub("", part)
            if len(stem) >= 2:
                words.add(stem)
    return tuple(sorted((word for word in words if word.strip()), key=len, reverse=True))


@lru_cache(maxsize=4096)
def content(text: str, places: tuple[str, ...] = ()) -> str:
    """What a report says is wrong: the normalised text without its place, time spans, fillers, pleas and thanks
    (请尽快处理, 谢谢), punctuation and emoji, each thing named by one word of its `same_things` (按键 as 按钮) (kept:
    the same earlier cases are compared with every new report of their unit)."""
    folded = one_name(normalise(text))
    for word in places:
        folded = folded.replace(word, "")
    return _NOT_CONTENT.sub("", without_words(folded, "pleas", "thanks"))


@lru_cache(maxsize=4096)
def spots(text: str) -> dict[str, frozenset[str]]:
    """The numbered spots a report names, by kind: "3单元302室" → {"单元": {"3"}, "室": {"302"}} (kept as `content`)."""
    found: dict[str, set[str]] = {}
    for number, kind in _SPOT.findall(normalise(text)):
        found.setdefault(_SPOT_KIND.get(kind, kind), set()).add(number)
    return {kind: frozenset(numbers) for kind, numbers in found.items()}


def elsewhere(a: str, b: str) -> bool:
    """Whether two reports name different spots of one kind (5栋 and 6栋, 3单元 and 5单元): not the same problem."""
    first, second = spots(a), spots(b)
    return any(first[kind].isdisjoint(second[kind]) for kind in first.keys() & second.keys())


def same_matter(a: str, b: str, places: tuple[str, ...] = ()) -> bool:
    """Whether nothing in two alike reports says they are about different things: neither names a thing where
    the other names another (楼道灯 / 路灯, 不牵绳 / 不捡粪便: `replaced`), they name no different days, and
    neither places it relative to its reporter's home (楼上, 隔壁, 我家: another home for another reporter)."""
    first, second = normalise(a), normalise(b)
    if _at_home(first, second):
        return False
    days = set(_DAY.findall(first)), set(_DAY.findall(second))
    if all(days) and days[0].isdisjoint(days[1]):
        return False
    return not replaced(content(a, places), content(b, places))


def _at_home(*texts: str) -> bool:
    """Whether a normalised report places its matter relative to its reporter's home (楼上, 隔壁, 我家)."""
    return any(_AT_HOME.search(text) for text in texts)


def replaced(first: str, second: str) -> bool:
    """Whether a run of `first` stands where `second` has another (three characters or more between them): one
    says one thing where the other says another, not merely more or less (车一过 / 车压过去 is a wording)."""
    differing = [0, 0]
    for op in [*Levenshtein.opcodes(first, second), None]:
        if op is None or op.tag == "equal":
            if min(differing) > 0 and sum(differing) >= 3:
                return True
            differing = [0, 0]
        else:
            differing[0] += op.src_end - op.src_start
            differing[1] += op.dest_end - op.dest_start
    return False


def similarity(a: str, b: str, places: tuple[str, ...] = ()) -> float:
    """0–100: how alike two reports' contents are (the mean of whole and best-partial alignment)."""
    first, second = content(a, places), content(b, places)
    if not first or not second:
        return 0.0
    return (fuzz.ratio(first, second) + fuzz.partial_ratio(first, second)) / 2


def likely_duplicate(session: Session, case: Case, window: timedelta, thresholds: Thresholds, *,
                     waited: bool = False, repeat_window: timedelta | None = None) -> Found | None:
    """The most alike open case of the same category in the same unit (without a unit: the same grid, also without),
    reported by someone else within `window` before `case` (`waited`: or since, `case` having waited for its place or
    category), if at least `thresholds.suspect` alike
    (a resident's own repeat stays a case; a case naming another building, entrance, floor or room is
    not compared). `repeat_window`: the same statement reads the closed cases `likely_repeat` asks for next."""
    if case.grid_id is None:
        return None
    params = {"since": case.created_at - window, "reporter": case.reporter_userid,
              "before": PAST_EVERY_ID if waited else case.id}
    if repeat_window is None:
        rows, places = _of_the_place(session, case, (_IN_UNIT, _IN_GRID), **params)
    else:
        closed_since = case.created_at - repeat_window
        both, places = _of_the_place(session, case, (_BOTH_IN_UNIT, _BOTH_IN_GRID), **params,
                                     closed_since=closed_since)
        rows = [(case_id, text) for case_id, text, _, closed in both if not closed]
        _CLOSED_READ.get(session)[case.id, closed_since] = [row[:3] for row in both if row[3]]
    scored = [(similarity(case.text, text, places), -case_id, case_id, text) for case_id, text in rows
              if not elsewhere(case.text, text)]
    if not scored:
        return None
    score, _, best, text = max(scored)
    if score < thresholds.suspect:
        return None
    return Found(best, score, score >= thresholds.link and same_matter(case.text, text, places), session)


def likely_repeat(session: Session, case: Case, window: timedelta, thresholds: Thresholds) -> int | None:
    """The case of the same category and place (`likely_duplicate`'s) closed within `window` before `case` of which
    `case` is a 回头件, by anyone: the most alike from `thresholds.suspect`, or, when `case` says the problem is back
    (又, 还是: `again`), one sharing a piece of its matter, or, when it also points back at the reporter's own report
    (我上个月反映的那个噪音问题又开始了: `refer_back`), their own; with none of its category, a report saying the
    problem is back is a 回头件 of a case there of another category naming the same thing (`_back_in_another_category`).
    Not one naming another spot, nor, for another reporter, a matter placed at its reporter's home (楼上: their own
    upstairs)."""
    if case.grid_id is None:
        return None
    closed_since = case.created_at - window
    rows = _CLOSED_READ.get(session).pop((case.id, closed_since), None)
    if rows is not None:
        places = _place_words(case)
    else:
        rows, places = _of_the_place(session, case, (_CLOSED_IN_UNIT, _CLOSED_IN_GRID), closed_since=closed_since)
    again = holds_words(case.text, "again")
    said = again, again and holds_words(case.text, "refer_back")
    scored = [(similarity(case.text, text, places), case_id, text, reporter) for case_id, text, reporter in rows]
    alike = [(score, case_id) for score, case_id, text, reporter in scored
             if _back_again(case, text, reporter == case.reporter_userid, places, said, score >= thresholds.suspect)]
    if not alike and again:
        alike = _back_in_another_category(session, case, places, closed_since=closed_since)
    return max(alike)[1] if alike else None


def _back_in_another_category(session: Session, case: Case, places: tuple[str, ...], **params) -> list[tuple]:
    """(similarity, id) of the place's cases of other categories closed since `closed_since` that `case`, saying the
    problem is back (`likely_repeat`), reports again though classified otherwise this time (下水道又堵了，臭气熏天 as 环境卫生
    after 下水道堵了，污水漫出来了 as 市政设施): naming the same thing, a run of THING_CHARS of their contents (下水道堵),
    not a spot or home apart. Words alike by the matter's usual words only (楼道灯又坏了 after 楼道里堆满了杂物: 楼道)
    are no link: another category says another matter unless the thing is the same."""
    rows, _ = _of_the_place(session, case, (_OTHER_CLOSED_IN_UNIT, _OTHER_CLOSED_IN_GRID), **params)
    first = content(case.text, places)
    return [(similarity(case.text, text, places), case_id) for case_id, text, reporter in rows
            if not _apart(case, text, reporter == case.reporter_userid)
            and shares_a_piece(first, content(text, places), THING_CHARS)]


def _apart(case: Case, earlier: str, same_reporter: bool) -> bool:
    """Whether `case` and an earlier report are about different spots, or, for another reporter, each about their own
    home (楼上: their own upstairs)."""
    return elsewhere(case.text, earlier) or not same_reporter and _at_home(normalise(case.text), normalise(earlier))


def _of_the_place(session: Session, case: Case, queries: tuple, **params) -> tuple[list, tuple[str, ...]]:
    """The rows of the first of `queries` (cases of `case`'s unit), or of the second when it has none (of its grid,
    also without a unit), for its category, and the words naming its place (left out when words are compared)."""
    flush_pending(session, Case)  # then straight to the driver: no autoflush needed
    rows = fetch_all(session, queries[0] if case.unit_id else queries[1], {
        "case_id": case.id, "category": case.category, "place": case.unit_id or case.grid_id, **params})
    return rows, _place_words(case)


def _place_words(case: Case) -> tuple[str, ...]:
    """The words naming `case`'s place (`place_words` of its unit's address and its grid's name)."""
    return place_words(case.unit.address if case.unit else "", case.grid.name)


def _back_again(case: Case, earlier: str, same_reporter: bool, places: tuple[str, ...], said: tuple[bool, bool],
                alike: bool) -> bool:
    """Whether `case` reports again the problem a closed case's words `earlier` reported (`likely_repeat`); `said`:
    whether its words say it is back, and whether they also point back at a report made before; `alike`: whether
    their similarity reaches the suspect threshold."""
    if _apart(case, earlier, same_reporter):
        return False
    again, referred = said
    if referred and same_reporter:
        return True
    first, second = content(case.text, places), content(earlier, places)
    if again and shares_a_piece(first, second):
        return True
    return alike and not replaced(first, second)


def shares_a_piece(first: str, second: str, size: int = 2) -> bool:
    """Whether two reports' contents share a piece of `size` characters (路灯 in 路灯不亮 and 单元盏路灯坏晚上黑乎乎)."""
    return not {first[i:i + size] for i in range(len(first) - size + 1)}.isdisjoint(
        second[i:i + size] for i in range(len(second) - size + 1))
