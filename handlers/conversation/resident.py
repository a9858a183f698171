"""The resident conversation: a report becomes a case; media, places and questions follow it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload

from handlers.chat import pending
from handlers.conversation import resident_requests
from handlers.cases import whistle
from handlers.cases.case_notices import notify_case_opened
from handlers.cases.case_work import announce
from handlers.cases.records import Place, latest_open_case, open_case, place_case
from handlers.classify import Category, Decision
from handlers.chat.commands import fold, is_greeting, is_thanks, parse_command
from handlers.chat.inbound import Inbound
from handlers.places.routing import locate_point, pick_assignee
from handlers.services import Services
from handlers.texts import render
from handlers.cases.timing import clock_rules
from models import Case, CaseEvent, CaseState, Grid, InboundMessage, Resident, Unit
from models.outbox import keep_media

MAX_CHOICES = 3
# Built once; a report needs the resident's unit and its grid (find_place): one query, not three.
_RESIDENT = (select(Resident).options(joinedload(Resident.unit).joinedload(Unit.grid),
                                      joinedload(Resident.arrival_unit).joinedload(Unit.grid))
             .where(Resident.userid == bindparam("userid")))
_UNIT_BY_CODE = select(Unit).where(Unit.code == bindparam("code"))
_YES = ("1", "是", "对", "是的", "确认")


def ensure_resident(session: Session, userid: str) -> Resident:
    """The resident behind `userid`, registered on first contact."""
    resident = session.scalars(_RESIDENT, {"userid": userid}).first()
    if resident is None:
        resident = Resident(userid=userid)
        session.add(resident)
        session.flush()
    return resident


def handle(session: Session, services: Services, inbound: Inbound, record: InboundMessage) -> str | None:
    """The reply to one resident message (None: answer with an empty 200)."""
    resident = ensure_resident(session, inbound.userid)
    if inbound.kind == "text":
        return _handle_text(session, services, resident, inbound.text, record)
    if inbound.kind == "location":
        return _handle_location(session, services, resident, inbound)
    if inbound.kind in ("image", "voice", "video", "file"):
        return _handle_media(session, services, resident, inbound)
    if inbound.kind == "event" and inbound.event == "enter_session":
        return _arrived(session, services, resident, inbound)
    if inbound.kind == "event":
        return render("replies/welcome") if inbound.event in ("subscribe", "enter_agent") else None
    return render("replies/help")


def _arrived(session: Session, services: Services, resident: Resident, inbound: Inbound) -> str | None:
    """The resident opened the chat, perhaps through a building's QR code (`arrival` = its unit code):
    later reports go to that building, and a greeting offers once to bind it as their address."""
    unit = session.scalars(_UNIT_BY_CODE, {"code": inbound.arrival}).first() if inbound.arrival else None
    if unit is not None:
        resident.arrival_unit = unit
    if inbound.channel == "kf" and not inbound.welcome_code:
        return None  # WeCom gives no way to greet now; the resident's first message is answered as usual
    offer_bind = unit is not None and resident.unit is None
    if offer_bind:
        pending.expect(session, resident.userid, pending.CONFIRM_BIND, {"unit_id": unit.id},
                            services.clock())
    return render("replies/welcome", unit=unit, offer_bind=offer_bind)


def _handle_text(session: Session, services: Services, resident: Resident, text: str,
                 record: InboundMessage) -> str:
    now = services.clock()
    convo = pending.current(session, resident.userid)
    if convo is not None:
        reply = _continue(session, services, resident, convo.state, convo.data, text, record, now)
        if reply is not None:
            return reply
    command = parse_command(text, "resident")
    if command is not None:
        return resident_requests.run(session, services, resident, command, now)
    if is_thanks(text):
        return render("replies/thanks")
    if is_greeting(text):
        return render("replies/help")
    return report(session, services, resident, text.strip(), record, now)


def report(session: Session, services: Services, resident: Resident, text: str,
           record: InboundMessage, now: datetime) -> str:
    """Classify a report and open its case, ask back, or point to a department."""
    decision: Decision = services.classifier().classify(text)
    record.category = decision.category
    if decision.outcome == "none" or decision.category is None:
        return render("replies/not_understood")
    if decision.outcome == "ask":
        choices = [decision.category, *[c.category for c in decision.candidates]]
        choices = list(dict.fromkeys(choices))[:MAX_CHOICES]
        pending.expect(session, resident.userid, pending.CHOOSE_CATEGORY,
                            {"text": text, "choices": choices}, now)
        return render("replies/ask_category", choices=choices)
    category = services.classifier().catalogue.get(decision.category)
    return _open(session, services, resident, text, category, decision.to_json(), record, now)


def _open(session: Session, services: Services, resident: Resident, text: str, category: Category,
          classification: dict | None, record: InboundMessage, now: datetime,
          attachments: list | None = None) -> str:
    if not category.grid_matter:
        place = Place(resident.unit.grid, resident.unit, "profile") if resident.unit else Place(None, None, None)
        case = whistle.route_to_department(session, resident.userid, resident, place, text, category, classification,
                                           now, whistle.whistle_rules(services.config_dir),
                                           clock_rules(services.config_dir))
        if case is None:
            return render("replies/department", category=category)
        record.case_id = case.id
        return render("replies/routed_to_department", case=case, department=case.department)
    place, guess = find_place(session, services, resident, text)
    assignee = pick_assignee(session, place.grid.id, category.name, urgent=category.urgent) if place.grid else None
    case = open_case(session, text=text, category=category, reporter_userid=resident.userid,
                     resident=resident, place=place, assignee=assignee, now=now,
                     rules=clock_rules(services.config_dir), classification=classification,
                     attachments=attachments)
    record.case_id = case.id
    if place.grid is None:
        if guess is not None:
            pending.expect(session, resident.userid, pending.CONFIRM_ADDRESS,
                                {"case_id": case.id, "unit_id": guess.id}, now)
            return render("replies/confirm_address", case=case, unit=guess)
        pending.expect(session, resident.userid, pending.AWAIT_ADDRESS, {"case_id": case.id}, now)
        return render("replies/ask_address", case=case)
    original = announce(session, case, clock_rules(services.config_dir).duplicate_window, now)
    if original is not None:
        return render("replies/duplicate_linked", case=case, original=original)
    return render("replies/case_opened", case=case, category=category)


def find_place(session: Session, services: Services, resident: Resident, text: str) -> tuple[Place, Unit | None]:
    """The resident's bound unit, else a confident address in the text; plus a guess to confirm."""
    if resident.unit is not None:
        return Place(resident.unit.grid, resident.unit, "profile"), None
    if resident.arrival_unit is not None:
        return Place(resident.arrival_unit.grid, resident.arrival_unit, "qr"), None
    matches = services.addresses.get(session).match(text, limit=1)
    if matches:
        unit = session.get(Unit, matches[0].unit_id)
        if matches[0].confident:
            return Place(unit.grid, unit, "text"), None
        return Place(None, None, None), unit
    return Place(None, None, None), None


def _continue(session: Session, services: Services, resident: Resident, state: str, data: dict,
              text: str, record: InboundMessage, now: datetime) -> str | None:
    """Answer what gridbot asked last; None when the text is not an answer to it."""
    folded = fold(text)
    if state == pending.CONFIRM_BIND:
        pending.finish(session, resident.userid)
        unit = session.get(Unit, data["unit_id"])
        if folded not in _YES or unit is None:
            return None
        resident.unit = unit
        return render("replies/bound", unit=unit)
    if state == pending.CHOOSE_CATEGORY:
        choices = data["choices"]
        if folded.isdigit() and 1 <= int(folded) <= len(choices):
            pending.finish(session, resident.userid)
            category = services.classifier().catalogue.get(choices[int(folded) - 1])
            return _open(session, services, resident, data["text"], category,
                         {"chosen_by_resident": category.name}, record, now,
                         attachments=data.get("attachments"))
        pending.finish(session, resident.userid)
        return None
    if state in (pending.AWAIT_ADDRESS, pending.CONFIRM_ADDRESS):
        case = session.get(Case, data["case_id"])
        if case is None or case.state != CaseState.AWAITING_PLACE:
            pending.finish(session, resident.userid)
            return None
        if state == pending.CONFIRM_ADDRESS and folded in _YES:
            unit = session.get(Unit, data["unit_id"])
            return _place(session, services, resident, case, Place(unit.grid, unit, "text"), now)
        if parse_command(text, "resident") is not None:
            return None
        matches = services.addresses.get(session).match(folded, limit=1)
        if not matches:
            return render("replies/address_not_found", case=case)
        unit = session.get(Unit, matches[0].unit_id)
        if not matches[0].confident:
            pending.expect(session, resident.userid, pending.CONFIRM_ADDRESS,
                                {"case_id": case.id, "unit_id": unit.id}, now)
            return render("replies/confirm_address", case=case, unit=unit)
        return _place(session, services, resident, case, Place(unit.grid, unit, "asked"), now)
    return resident_requests.continue_answer(session, services, resident, state, data, text, now)


def _place(session: Session, services: Services, resident: Resident, case: Case, place: Place,
           now: datetime) -> str:
    pending.finish(session, resident.userid)
    category = services.classifier().catalogue.get(case.category)
    assignee = pick_assignee(session, place.grid.id, category.name, urgent=category.urgent)
    event = place_case(session, case, place, category, assignee, actor=resident.userid, now=now,
                       rules=clock_rules(services.config_dir))
    notify_case_opened(session, event)
    offer_bind = resident.unit is None and place.unit is not None
    return render("replies/case_opened", case=case, category=category, offer_bind=offer_bind)


def _handle_location(session: Session, services: Services, resident: Resident, inbound: Inbound) -> str:
    now = services.clock()
    case = latest_open_case(session, resident.userid)
    if case is None:
        return render("replies/location_without_case")
    location = {"lat": inbound.lat, "lng": inbound.lng, "label": inbound.label}
    if case.state == CaseState.AWAITING_PLACE and inbound.lat is not None and inbound.lng is not None:
        point = locate_point(session, inbound.lat, inbound.lng)
        if point is not None:
            grid = session.get(Grid, point.grid_id)
            unit = session.get(Unit, point.unit_id) if point.unit_id else None
            return _place(session, services, resident, case, Place(grid, unit, "location", location), now)
    case.location = location
    session.add(CaseEvent(case=case, at=now, actor=resident.userid, action="attach", from_state=case.state,
                          to_state=case.state, note=inbound.label, attachments=[{"kind": "location", **location}]))
    return render("replies/attached", case=case, kind="location")


def _handle_media(session: Session, services: Services, resident: Resident, inbound: Inbound) -> str:
    now = services.clock()
    attachment = {"kind": inbound.kind, "media_id": inbound.media_id, "pic_url": inbound.pic_url}
    keep_media(session, attachment)
    convo = pending.current(session, resident.userid)
    if convo is not None and convo.state == pending.CHOOSE_CATEGORY:
        convo.data = {**convo.data, "attachments": [*convo.data.get("attachments", []), attachment]}
        return render("replies/attached_draft", kind=inbound.kind)
    case = latest_open_case(session, resident.userid)
    if case is None:
        return render("replies/media_without_case", kind=inbound.kind)
    session.add(CaseEvent(case=case, at=now, actor=resident.userid, action="attach", from_state=case.state,
                          to_state=case.state, note=None, attachments=[attachment]))
    return render("replies/attached", case=case, kind=inbound.kind)
