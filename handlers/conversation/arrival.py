"""A resident opening the chat, perhaps through a building's QR code: a greeting that offers to bind the
building, and a report waiting for its place placed there.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from handlers.cases.records import Place
from handlers.cases.timing import clock_rules
from handlers.chat import pending
from handlers.chat.inbound import Inbound
from handlers.conversation.opening import place_report
from handlers.services import Services
from handlers.texts import render
from models import Case, CaseState, Conversation, Resident, Unit

_UNIT_BY_CODE = select(Unit).where(Unit.code == bindparam("code"))


def arrived(session: Session, services: Services, resident: Resident, convo: Conversation | None,
            inbound: Inbound) -> str | None:
    """The resident opened the chat, perhaps through a building's QR code (`arrival` = its unit code):
    later reports go to that building, and a greeting offers once to bind it as their address, unless
    gridbot still waits for another answer (a report asked back): that question stays the one answered. A report
    waiting for its place is placed at that building."""
    unit = session.scalars(_UNIT_BY_CODE, {"code": inbound.arrival}).first() if inbound.arrival else None
    now = services.clock()
    if unit is not None:
        resident.arrival_unit, resident.arrived_at = unit, now
    if inbound.channel == "kf" and not inbound.welcome_code:  # WeCom gives no way to greet now (the resident wrote
        # within 48 hours): no greeting, but a report waiting for its place is placed at the building, told in the window
        return _placed_by_arrival(session, services, resident, convo, unit, now) if unit is not None else None
    asking = convo is not None and convo.state not in (pending.CONFIRM_BIND, pending.WHERE_SAID)  # no question asked
    offer_bind = unit is not None and resident.unit is None and not asking
    if offer_bind:
        pending.expect(session, resident.userid, pending.CONFIRM_BIND, {"unit_id": unit.id}, now)
    bound_elsewhere = resident.unit if unit is not None and resident.unit not in (None, unit) else None
    welcome = render("replies/welcome", unit=unit, offer_bind=offer_bind, bound=bound_elsewhere,
                     window=clock_rules(services.config_dir).qr_arrival_window)
    placed = _placed_by_arrival(session, services, resident, convo, unit, now) if unit is not None else None
    return f"{welcome}\n{placed}" if placed else welcome


def _placed_by_arrival(session: Session, services: Services, resident: Resident, convo: Conversation | None,
                       unit: Unit, now: datetime) -> str | None:
    """The report whose place is being asked, placed at the building whose code the resident just came through (the
    greeting tells them reports are recorded there); None when no place is asked."""
    if convo is None or convo.state not in (pending.AWAIT_ADDRESS, pending.CONFIRM_ADDRESS):
        return None
    case = session.get(Case, convo.data["case_id"])
    if case is None or case.state != CaseState.AWAITING_PLACE or case.reporter_userid != resident.userid:
        return None
    return place_report(session, services, resident, case, Place(unit.grid, unit, "qr"), now)
