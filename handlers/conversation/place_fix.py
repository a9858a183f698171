"""A resident correcting the place of the case just reported, in a message of its own (哦不好意思，是8栋门口，不是6栋;
说错了 应该是二期3栋; 搞错了，是金桂园), or naming the building of a case placed at an estate only (是3号楼 after
桃源居的路灯坏了): the case moves to that place (handlers/cases/place_moves.py), not a note on it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.cases.authority import Actor
from handlers.cases.case_notices import tell_worker
from handlers.cases.duplicates import content, place_words, shares_a_piece
from handlers.cases.place_moves import MOVABLE, move_place
from handlers.cases.records import Place, latest_open_case_of
from handlers.cases.timing import clock_rules
from handlers.chat.commands import fold, says_only_where
from handlers.classify import Decision
from handlers.conversation import follow_ups
from handlers.conversation.matters import clear_report, corrects_an_added_matter, matter_rules
from handlers.conversation.opening import named_place
from handlers.places.address import (
    correcting_words,
    has_phases,
    in_estate,
    names_a_spot,
    says_only_spot,
    split_home,
)
from handlers.places.address_index import TIED_UNITS
from handlers.services import Services
from handlers.texts import render
from models import OPEN_STATES, Case, CaseState, Resident

ESTATE_WORDS_CHARS = 16  # words naming a building of an estate case this long at most (是桃源居3栋门口那边) are read


def moved(session: Session, services: Services, resident: Resident, text: str, now: datetime) -> str | None:
    """The reply when `text` corrects the place of the resident's latest open case to another place it names for
    sure (its numbers read in the case's estate unless it names one), or names only a building of the estate that
    case is placed at: the case moved there; a correction naming where it already is is kept on it for its worker.
    None for any other words: no correction, a case not yet placed or no longer worked, no sure place, or a report of
    another matter the classifier is sure of."""
    words = correcting_words(text)
    if words is None and (len(text) > ESTATE_WORDS_CHARS or not names_a_spot(text)):
        return None
    case = latest_open_case_of(session, resident)  # on the resident's own cases: not every open case read
    if case is None or case.state not in MOVABLE or case.grid is None:
        return None
    estate = _estate_of(case)
    if words is None and not _names_a_building_of(text, estate):
        return None
    place = _corrected_place(session, services, case, words or text, estate)
    if place is None or (words is None and not _within(place, estate)):
        return None
    decision, rules = services.classifier().classify(text), matter_rules(services.config_dir)
    if decision.category != case.category and clear_report(decision, rules.part_sure, rules.model_sure) \
            or words is not None and (_reports_beside(session, services, case, words, decision)
                                      or corrects_an_added_matter(text, rules)):
        return None
    if _same_place(case, place):  # 不是5栋是6栋 about 5-6栋: where it is; its worker hears which building
        return follow_ups.supplement(session, resident, case, text, now)
    category = services.classifier().catalogue.get(case.category)
    move_place(session, case, place, category, Actor.for_resident(resident.userid), now)
    return render("replies/place_moved", case=case, refined=words is None, building_asked=case.unit is None and
                  has_phases(_estate_of(case) or ""))


def on_linked(session: Session, services: Services, resident: Resident, text: str, now: datetime) -> str | None:
    """Words naming only where (在3栋, 东门那边) after the resident's latest report, sent within lifecycle.yaml's
    qr_arrival_window, was linked to a neighbour's open case of the matter (merged): kept on that case for its worker,
    and the resident told so and how to unlink; None for other words, or when the latest report stands on its own."""
    if len(text) > ESTATE_WORDS_CHARS or split_home(text)[0] or not (says_only_spot(text) or says_only_where(text)):
        return None
    latest = session.scalars(select(Case).where(Case.reporter_userid == resident.userid)
                             .order_by(Case.id.desc()).limit(1)).first()
    if latest is None or latest.state != CaseState.MERGED or latest.duplicate_of_id is None or \
            latest.created_at < now - clock_rules(services.config_dir).qr_arrival_window:
        return None
    original = session.get(Case, latest.duplicate_of_id)
    if original is None or original.state not in OPEN_STATES:
        return None
    tell_worker(session, original, "attach", resident.userid, now, text.strip())
    return render("replies/where_on_linked", case=latest, original=original, words=text.strip())


def _reports_beside(session: Session, services: Services, case: Case, words: str, decision: Decision) -> bool:
    """Whether the words of a correction, beside the places they name, report a matter that is not the case's: the
    classifier reads a matter in them or in the whole message (`decision`), neither of the case's category, or none
    of the case's own words (说错了，应该是二期3栋，有一棵大树倒在路中间 after the rubbish's case: a report of its own,
    whose place it corrects itself)."""
    rest = content(words, tuple(services.addresses.get(session).names_in(words)))
    if not rest:
        return False
    read = [found for found in (decision, services.classifier().classify(rest)) if found.outcome == "match"]
    return bool(read) and (all(found.category != case.category for found in read)
                           or not shares_a_piece(rest, content(case.text)))


def _estate_of(case: Case) -> str | None:
    """The estate a case is placed at when no building of it is known (桃源居的路灯坏了: its address, as the reply named
    it); None for a case at a unit."""
    return (case.location or {}).get("label") if case.unit is None else None


def _names_a_building_of(text: str, estate: str | None) -> bool:
    """Whether `text`, with no correction word, names only a building (or phase) of the `estate` a case is placed at,
    and nothing but where beside it (是3号楼, 在3栋, 3号楼那边, 是桃源居3栋): not where the resident lives (我住3栋)."""
    return estate is not None and not split_home(text)[0] and says_only_spot(text, place_words(estate))


def _corrected_place(session: Session, services: Services, case: Case, words: str, estate: str | None) -> Place | None:
    """The place the words name for sure: read as they are when they name a place in nothing but where (搞错了，是金桂园:
    that estate), else their numbers in the estate of the case's unit or of the `estate` it is placed at (是8栋门口
    after 湖景苑6栋: 湖景苑8栋, its phase kept unless they give one)."""
    index = services.addresses.get(session)
    names = index.names_in(words)
    if names and not names_a_spot(words) and not says_only_spot(words, names):
        return None  # 应该是桃源居物业的事: a place named in words about something else, not where the case is
    if not names:
        where = case.unit.address if case.unit is not None else estate
        if where is None or not names_a_spot(words):
            return None
        words = in_estate(where, words, phase_known=True)
    return named_place(session, index.match(fold(words), limit=TIED_UNITS), "text").place


def _same_place(case: Case, place: Place) -> bool:
    """Whether `place` is where `case` already is: its unit, or an estate that holds it (搞错了，是湖景苑 about 湖景苑3栋
    names no other place)."""
    if place.unit is not None:
        return place.unit.id == case.unit_id
    where, label = case.unit.address if case.unit is not None else _estate_of(case), (place.location or {}).get("label")
    return bool(where and label) and where.startswith(label)


def _within(place: Place, estate: str | None) -> bool:
    """Whether `place` is a building or a phase of the `estate` and no more than it (a unit whose address starts
    with it; 东岭花园二期, a part of 东岭花园)."""
    where = place.unit.address if place.unit is not None else (place.location or {}).get("label") or ""
    return estate is not None and where.startswith(estate) and where != estate
