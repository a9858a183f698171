"""A resident correcting the place of the case just reported, in a message of its own (哦不好意思，是8栋门口，不是6栋;
说错了 应该是二期3栋): the case moves to the corrected place (handlers/cases/place_moves.py), not a note on it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from handlers.cases.authority import Actor
from handlers.cases.place_moves import MOVABLE, move_place
from handlers.cases.records import Place, latest_open_case
from handlers.chat.commands import fold
from handlers.conversation.matters import clear_report, matter_rules
from handlers.places.address import correcting_words, in_estate
from handlers.registry import cache as registry
from handlers.services import Services
from handlers.texts import render
from models import Case, Resident, Unit


def moved(session: Session, services: Services, resident: Resident, text: str, now: datetime) -> str | None:
    """The reply when `text` corrects the place of the resident's latest open case to another unit it names for
    sure (its numbers read in the case's estate unless it names one): the case moved there. None for any other words:
    no correction, a case not yet placed or no longer worked, no sure unit or the same one, or a report of another
    matter the classifier is sure of."""
    words = correcting_words(text)
    if words is None:
        return None
    case = latest_open_case(session, resident.userid)
    if case is None or case.state not in MOVABLE or case.grid is None:
        return None
    unit = _corrected_unit(session, services, case, words)
    if unit is None or unit.id == case.unit_id:
        return None
    decision, rules = services.classifier().classify(text), matter_rules(services.config_dir)
    if decision.category != case.category and clear_report(decision, rules.part_sure, rules.model_sure):
        return None
    category = services.classifier().catalogue.get(case.category)
    move_place(session, case, Place(unit.grid, unit, "text"), category, Actor.for_resident(resident.userid), now)
    return render("replies/place_moved", case=case)


def _corrected_unit(session: Session, services: Services, case: Case, words: str) -> Unit | None:
    """The unit the correcting words name for sure: read as they are when they name a place, else in the estate of
    the case's unit (是8栋门口 after 湖景苑6栋: 湖景苑8栋, its phase kept unless they give one)."""
    index = services.addresses.get(session)
    if not index.units_named(words):
        if case.unit is None:
            return None
        words = in_estate(case.unit.address, words, phase_known=True)
    found = index.match(fold(words), limit=1)
    return registry.unit(session, found[0].unit_id) if found and found[0].confident else None
