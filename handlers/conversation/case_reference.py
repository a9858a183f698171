"""Which of a resident's cases their everyday words point at (那个路灯的事, 垃圾站那个): the cases whose own words
share the most two-character pieces of matter with them; when the words name no matter, all of them (the
resident is then asked, unless there is only one)."""

from __future__ import annotations

import re

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from handlers.cases.duplicates import THING_CHARS, content, elsewhere, place_words, shares_a_piece
from handlers.chat.commands import word_characters
from models import OPEN_STATES, Case, CaseState

_NUMBERS = re.compile(r"[0-9\s-]+$")  # the building numbers that end a unit's address (11-12, normalised 11 12)
IN_PLAY_LIMIT = 10  # the resident's latest cases words may point at
ABOUT_A_CASE_MAX_CHARS = 40  # words about a case already reported are short: a letter that says 还没解决 is a report

_IN_PLAY = (*OPEN_STATES, CaseState.CLOSED)  # a closed case waits for its rating: still theirs to ask after


def cases_in_play(session: Session, userid: str) -> list[Case]:
    """The resident's own cases still open or waiting for their rating, and their reports linked to such a case of
    another's (their own words, standing for the case they follow), newest first."""
    return reports_in(session, userid, _IN_PLAY)


def reports_in(session: Session, userid: str, states: tuple[str, ...]) -> list[Case]:
    """The resident's own cases in `states`, and their reports linked to a case of another's in `states`, newest
    first."""
    followed = select(Case.id).where(Case.state.in_(states))
    return list(session.scalars(select(Case).where(
        Case.reporter_userid == userid,
        or_(Case.state.in_(states), and_(Case.state == CaseState.MERGED, Case.duplicate_of_id.in_(followed))),
    ).order_by(Case.id.desc()).limit(IN_PLAY_LIMIT)))


def finished_cases(session: Session, userid: str) -> list[Case]:
    """The resident's own cases closed, rated and archived, newest first: theirs to ask after, not to chase."""
    return list(session.scalars(select(Case).where(Case.reporter_userid == userid, Case.state == CaseState.ARCHIVED)
                                .order_by(Case.id.desc()).limit(IN_PLAY_LIMIT)))


def latest_in_play(session: Session, userid: str) -> Case | None:
    """The case the resident's latest report in play stands for: their own, or the neighbour's case it was linked to
    (what they send next, a photo or a phone number, is for that case's worker)."""
    in_play = cases_in_play(session, userid)
    return followed_case(session, in_play[0]) if in_play else None


def followed_case(session: Session, case: Case) -> Case:
    """The case `case` stands for: the one it follows when it is a report linked to another's, else itself."""
    return session.get(Case, case.duplicate_of_id) if case.state == CaseState.MERGED else case


def may_be_about_a_case(text: str) -> bool:
    """Whether `text` is short enough to be words about a case already reported (a chase, a withdrawal)."""
    return len(word_characters(text)) <= ABOUT_A_CASE_MAX_CHARS


def pointed_at(cases: list[Case], words: str) -> list[Case]:
    """The cases `words` name: those sharing the most two-character pieces of matter (their place left out) with
    them, newest first; [] when the words share none with any (they name nothing, or another matter)."""
    pieces = _pairs(content(words))
    if not pieces:
        return []
    shared = [(len(pieces & _pairs(_matter(case))), case) for case in cases]
    best = max((count for count, _ in shared), default=0)
    return [case for count, case in shared if best and count == best]


def names_its_thing(case: Case, words: str) -> bool:
    """Whether `words` name the very thing `case` reports (a run of THING_CHARS of its matter: 楼道灯 of a stairwell
    lamp, not 楼道 alone, which 楼道里堆满了纸箱 shares; its place's name left out of both) and no other spot of the
    place (5栋 of a case at 3栋)."""
    return shares_a_piece(content(words, _place_names(case)), _matter(case), THING_CHARS) \
        and not elsewhere(case.text, words)


def _matter(case: Case) -> str:
    """What the case says is wrong, without the words of its place (金桂园 is no matter)."""
    return content(case.text, _place_names(case))


def _place_names(case: Case) -> tuple[str, ...]:
    """The words naming `case`'s place (`place_words`), each also without its numbers (桃源居 of 桃源居11-12栋)."""
    words = place_words(case.unit.address if case.unit else "", case.grid.name if case.grid else "")
    names = {name for word in words if len(name := _NUMBERS.sub("", word)) >= 2}
    return tuple(sorted(names.union(words), key=len, reverse=True))


def _pairs(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)}
