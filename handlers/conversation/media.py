"""Media, locations and shared things a resident sends: added to a waiting report or to their latest open case,
a location placing the case that waits for its place.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from handlers.cases.case_notices import tell_worker
from handlers.cases.records import latest_open_case
from handlers.chat import pending
from handlers.chat.commands import fold
from handlers.chat.inbound import MEDIA_KINDS, Inbound, attachment_of
from handlers.conversation import drafts
from handlers.conversation.case_reference import latest_in_play
from handlers.conversation.opening import TIED_UNITS, ask_place, located, named_place, place_report
from handlers.places.address import without_denied
from handlers.services import Services
from handlers.texts import render
from models import Case, CaseState, Conversation, Resident
from models.outbox import keep_media

def handle_location(session: Session, services: Services, resident: Resident, convo: Conversation | None,
                    inbound: Inbound) -> str:
    """A location places the case waiting for its place; else it joins a waiting report (it becomes its place
    when nothing else gives one) or the latest open case; with none of them it waits for words, as media does."""
    now = services.clock()
    location = {"lat": inbound.lat, "lng": inbound.lng, "label": inbound.label}
    if convo is not None and convo.state in (pending.CHOOSE_CATEGORY, pending.AWAIT_WORDS):
        return drafts.add_attachment(session, convo, {"kind": "location", **location}, now)
    if convo is not None and convo.state == pending.WHERE_SAID:  # 东门那边, then a pin: the report's, words to come
        return drafts.wait_for_words(session, services, resident, {"kind": "location", **location}, now,
                                     convo.data["text"])
    case = latest_open_case(session, resident.userid)
    if case is None:
        return drafts.wait_for_words(session, services, resident, {"kind": "location", **location}, now)
    place = located(session, location) if case.state == CaseState.AWAITING_PLACE else None
    if place is not None:
        return place_report(session, services, resident, case, place, now)
    case.location = location
    attached = _attached(session, resident, case, {"kind": "location", **location}, inbound.label, now)
    if case.state != CaseState.AWAITING_PLACE:
        return attached
    return _place_by_name(session, services, resident, case, inbound.label, now)


def _place_by_name(session: Session, services: Services, resident: Resident, case: Case, name: str | None,
                   now: datetime) -> str:
    """A pin that places nothing (WeCom gave it without coordinates, or it lies outside the district) for a case
    waiting for its place: its name, when a registry address, places the case; else the address is asked again."""
    matches = services.addresses.get(session).match(without_denied(fold(name)), limit=TIED_UNITS) if name else []
    if not matches:
        return render("replies/address_not_found", case=case)
    named = named_place(session, matches, "asked")
    if named.place is None:
        return ask_place(session, resident.userid, case, named, now)
    return place_report(session, services, resident, case, named.place, now)


def handle_media(session: Session, services: Services, resident: Resident, convo: Conversation | None,
                 inbound: Inbound) -> str:
    """Media, or something shared (a link, a mini-program card, a 视频号 post), joins a waiting report, else the
    latest open case; with neither it waits for words."""
    now = services.clock()
    attachment, note = attachment_of(inbound), None
    if inbound.kind in MEDIA_KINDS:
        keep_media(session, attachment)
    else:  # shared, or chat records without words: its title and address are what the worker opens or looks up
        note = " ".join(filter(None, (inbound.title, inbound.url))) or None
    if convo is not None and convo.state in (pending.CHOOSE_CATEGORY, pending.AWAIT_WORDS):
        return drafts.add_attachment(session, convo, attachment, now)
    if convo is not None and convo.state == pending.WHERE_SAID:  # 东门那边, then a photo: the report's, words to come
        return drafts.wait_for_words(session, services, resident, attachment, now, convo.data["text"])
    case = latest_in_play(session, resident.userid)  # a photo after a report linked to a neighbour's: that case's
    if case is None:
        return drafts.wait_for_words(session, services, resident, attachment, now)
    return _attached(session, resident, case, attachment, note, now)


def _attached(session: Session, resident: Resident, case: Case, attachment: dict, note: str | None,
              now: datetime) -> str:
    """Media or a location added to the resident's case and told to its worker (a voice message may hold the
    report's details), as words added with 补充 are."""
    tell_worker(session, case, "attach", resident.userid, now, note, [attachment])
    holder = resident.userid if case.reporter_userid != resident.userid else None  # a case they follow: their link
    return render("replies/attached", case=case, kind=attachment["kind"], holder=holder)
