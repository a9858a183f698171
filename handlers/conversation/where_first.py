"""Words saying only where, sent before the matter (东门那边, 对面, 阳光小区二期): no report yet. People type in pieces,
so the words are kept and the report that follows is read with them; a place of the registry is kept for
lifecycle.yaml's qr_arrival_window, as a building named alone is (resident_requests.address_first). The clock forgets
words whose matter never followed (`forget_due`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from handlers.cases.records import latest_open_case_of
from handlers.cases.timing import clock_rules
from handlers.chat import pending
from handlers.chat.commands import fold, holds_words, says_only_where, without_where
from handlers.classify import Decision
from handlers.conversation import drafts, follow_ups, resident_requests
from handlers.conversation.opening import TIED_UNITS, named_place
from handlers.places.address import has_phases, names_a_spot, says_only_spot
from handlers.services import Services
from handlers.texts import render
from models import Conversation, Resident


def keep(session: Session, services: Services, resident: Resident, text: str, decision: Decision,
         now: datetime) -> str | None:
    """Words naming only where, kept for the matter that follows, and the reply; None for other words. Position words
    whatever the classifier reads in them (`decision`: 东门那边 reads like an emergency to the model); a building alone
    likewise (3号楼那边), or added to the case open, if any, for its worker; a place of the registry and no matter from
    a resident with no case open (as `address_first`: with one open, the words are for its worker), a building noted
    as `address_first` notes it (阳光小区二期, then 3栋)."""
    if says_only_where(text):
        return _kept(session, services, resident, text, now)
    if says_only_spot(text):
        case = latest_open_case_of(session, resident)
        return _kept(session, services, resident, text, now) if case is None else \
            follow_ups.supplement(session, resident, case, text, now)
    if decision.outcome == "match" or latest_open_case_of(session, resident) is not None or \
            not _a_place_alone(session, services, text):
        return None
    noted = resident_requests.address_first(session, services, resident, text, now)
    return noted or _kept(session, services, resident, text, now)


def _kept(session: Session, services: Services, resident: Resident, text: str, now: datetime) -> str:
    """`text` kept as where the matter that follows is, and the reply: the place the registry gives for it (an estate
    in one grid: 阳光小区二期), noted as a building is, else the words (东门那边; 阳光小区3栋, in two grids)."""
    pending.expect(session, resident.userid, pending.WHERE_SAID, {"text": text}, now)
    named = named_place(session, services.addresses.get(session).match(fold(text), limit=TIED_UNITS), "text")
    if named.place is None:  # what is missing asked: 阳光小区东门那边, its phase and building; 3号楼那边, its estate
        phases = named.estate is not None and named.guess is not None and has_phases(named.guess.address)
        return render("replies/where_noted", words=text.strip(), estate=named.estate, phases=phases,
                      building=names_a_spot(text))
    address = named.place.unit.address if named.place.unit is not None else named.place.location["label"]
    return render("replies/address_noted", address=address, grid=named.place.grid, offer_bind=False,
                  window=clock_rules(services.config_dir).qr_arrival_window)


def _a_place_alone(session: Session, services: Services, text: str) -> bool:
    """Whether `text` names a place of the registry and no matter, perhaps with words saying where beside it
    (阳光小区二期, 湖景苑东门那边: the model may read 东门那边 as a matter)."""
    return names_only_a_place(session, services, text) or (
        holds_words(text, "near_here") and names_only_a_place(session, services, without_where(text)))


def joined(session: Session, services: Services, kept: str, text: str) -> str:
    """The report `text` read with the words kept before it (东门那边 + 垃圾桶满了), as one report typed in pieces;
    `text` alone when both name a place of the registry (阳光小区二期, then 湖景苑5栋垃圾桶满了: its own place)."""
    index = services.addresses.get(session)
    if index.units_named(text) and index.units_named(kept):
        return text
    return f"{kept} {text}"


def names_only_a_place(session: Session, services: Services, text: str) -> bool:
    """Whether `text` names a place of the registry and no matter (an address written after a question; what the
    classifier reads in a place's own name is no matter: 工人新村4栋)."""
    if not services.addresses.get(session).match(fold(text), limit=1):
        return False
    decision = services.classifier().classify(text)
    if decision.outcome == "none" or not drafts.choices_for(decision, services.classifier().catalogue):
        return True
    return resident_requests.only_a_place(session, services, text) is not None


def forget_due(session: Session, services: Services, now: datetime) -> int:
    """Words saying only where whose matter did not follow within qr_arrival_window, forgotten (there is no report to
    open); how many."""
    wait = clock_rules(services.config_dir).qr_arrival_window
    return session.execute(delete(Conversation).where(
        Conversation.state == pending.WHERE_SAID, Conversation.updated_at <= now - wait,
    ).execution_options(synchronize_session=False)).rowcount
