"""A resident's report becomes a case: find the place, route it, link a likely duplicate, tell everyone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from handlers.cases.case_notices import notify_case_opened
from handlers.cases.case_work import announce
from handlers.cases.records import Place, open_case, place_case
from handlers.cases.timing import clock_rules
from handlers.chat import pending
from handlers.classify import Category
from handlers.departments import whistle
from handlers.places.routing import pick_assignee
from handlers.services import Services
from handlers.texts import render
from models import Case, InboundMessage, Resident, Unit
from models.db import add_inserted

# Built once; a report needs the resident's unit and its grid (find_place): one query, not three.
_RESIDENT = (select(Resident).options(joinedload(Resident.unit).joinedload(Unit.grid),
                                      joinedload(Resident.arrival_unit).joinedload(Unit.grid))
             .where(Resident.userid == bindparam("userid")))


@dataclass(frozen=True)
class Opened:
    """What opening a report gave: the reply to the resident and the case (None: a department matter)."""

    reply: str
    case: Case | None


def ensure_resident(session: Session, userid: str) -> Resident:
    """The resident behind `userid`, registered on first contact."""
    resident = session.scalars(_RESIDENT, {"userid": userid}).first()
    if resident is None:
        resident = add_inserted(session, Resident(userid=userid))
    return resident


def open_report(session: Session, services: Services, resident: Resident, text: str, category: Category,
                classification: dict | None, record: InboundMessage | None, now: datetime, *,
                attachments: list | None = None, sorted_later: bool = False) -> Opened:
    """Open the case (or name the department), place and route it; ask for the address when unknown.

    `sorted_later`: opened as 居民诉求-其他 without the resident's choice; the reply says the
    grid worker will set the category."""
    if not category.grid_matter:
        return _to_department(session, services, resident, text, category, classification, record, now)
    place, guess = find_place(session, services, resident, text, now)
    assignee = pick_assignee(session, place.grid.id, category.name, urgent=category.urgent) if place.grid else None
    rules = clock_rules(services.config_dir)
    case = open_case(session, text=text, category=category, reporter_userid=resident.userid,
                     resident=resident, place=place, assignee=assignee, now=now, rules=rules,
                     classification=classification, attachments=attachments)
    if record is not None:
        record.case_id = case.id
    if place.grid is None:
        if guess is not None:
            pending.expect(session, resident.userid, pending.CONFIRM_ADDRESS,
                           {"case_id": case.id, "unit_id": guess.id}, now)
            return Opened(render("replies/confirm_address", case=case, unit=guess), case)
        pending.expect(session, resident.userid, pending.AWAIT_ADDRESS, {"case_id": case.id}, now)
        return Opened(render("replies/ask_address", case=case), case)
    original = announce(session, case, rules, now, compare=not sorted_later)
    if original is not None:
        return Opened(render("replies/duplicate_linked", case=case, original=original), case)
    return Opened(render("replies/case_opened", case=case, category=category, sorted_later=sorted_later), case)


def _to_department(session: Session, services: Services, resident: Resident, text: str, category: Category,
                   classification: dict | None, record: InboundMessage | None, now: datetime) -> Opened:
    """Not a grid matter: whistled to the department that handles it (吹哨报到), else named to the resident."""
    place = known_place(resident, now, clock_rules(services.config_dir).qr_arrival_window) or Place(None, None, None)
    case = whistle.route_to_department(session, resident.userid, resident, place, text, category, classification,
                                       now, whistle.whistle_rules(services.config_dir), clock_rules(services.config_dir))
    if case is None:
        return Opened(render("replies/department", category=category), None)
    if record is not None:
        record.case_id = case.id
    return Opened(render("replies/routed_to_department", case=case, department=case.department), case)


def known_place(resident: Resident, now: datetime, window: timedelta) -> Place | None:
    """Where a report goes without asking: the building whose QR code the resident scanned within `window`
    (they are standing there, even if bound elsewhere), else their bound unit, else the last building
    scanned; None when gridbot knows none."""
    arrival, bound = resident.arrival_unit, resident.unit
    scanned_just_now = arrival is not None and resident.arrived_at is not None and now - resident.arrived_at <= window
    if arrival is not None and arrival != bound and (scanned_just_now or bound is None):
        return Place(arrival.grid, arrival, "qr")
    return Place(bound.grid, bound, "profile") if bound is not None else None


def find_place(session: Session, services: Services, resident: Resident, text: str,
               now: datetime) -> tuple[Place, Unit | None]:
    """A place known without asking (known_place), else a confident address in the text; plus a guess to
    confirm."""
    known = known_place(resident, now, clock_rules(services.config_dir).qr_arrival_window)
    if known is not None:
        return known, None
    matches = services.addresses.get(session).match(text, limit=1)
    if matches:
        unit = session.get(Unit, matches[0].unit_id)
        if matches[0].confident:
            return Place(unit.grid, unit, "text"), None
        return Place(None, None, None), unit
    return Place(None, None, None), None


def place_report(session: Session, services: Services, resident: Resident, case: Case, place: Place,
                 now: datetime) -> str:
    """A case that waited for its address gets it: routed, its people told."""
    pending.finish(session, resident.userid)
    category = services.classifier().catalogue.get(case.category)
    assignee = pick_assignee(session, place.grid.id, category.name, urgent=category.urgent)
    event = place_case(session, case, place, category, assignee, actor=resident.userid, now=now,
                       rules=clock_rules(services.config_dir))
    notify_case_opened(session, event)
    offer_bind = resident.unit is None and place.unit is not None
    return render("replies/case_opened", case=case, category=category, offer_bind=offer_bind)
