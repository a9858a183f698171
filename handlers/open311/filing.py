"""Filing a request (POST requests): checked at the edge, then handled like a chat report.

`check` validates a request's form values before anything is written (a 400/404 then
writes nothing) and returns a `Filing`; `inbound_for` makes it the intake's plain `Inbound`
(channel `open311`), recorded and processed exactly as an app callback is; `handle` is what
the dispatcher runs for it: the same routing (`pick_assignee`), case opening, duplicate
check, notices and clock as a resident's report (a department matter goes straight to the
department that takes it, as a resident's does), with the case's source naming the API key.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.cases.case_work import announce
from handlers.cases.records import Place, open_case
from handlers.cases.timing import clock_rules
from handlers.chat.case_numbers import format_case_number
from handlers.chat.commands import fold
from handlers.chat.inbound import Inbound
from handlers.classify import Attribute, Category
from handlers.console.audit import record as audit
from handlers.departments.whistle import route_to_department, taking_department, whistle_rules
from handlers.open311.errors import Open311Error
from handlers.open311.keys import FILED, auditor, reporter_of
from handlers.open311.services import category_for, service_code
from handlers.places.routing import locate_point, pick_assignee
from handlers.services import Services
from handlers.texts import render
from models import ApiKey, Grid, InboundMessage, Resident, Unit

CHANNEL = "open311"
MAX_DESCRIPTION = 4000  # the spec's limit
_LIMITS = {"first_name": 25, "last_name": 25, "phone": 20, "email": 100, "device_id": 64, "account_id": 64,
           "media_url": 500, "address_string": 200, "address_id": 32}


@dataclass(frozen=True)
class Filing:
    """A checked request, as plain values (stored as the inbound message's payload)."""

    key_name: str
    service_code: str
    category: str
    text: str  # the description, with the attributes' values below it
    grid_id: int
    unit_id: int | None
    place_source: str  # location (lat/long) or open311 (address_id / address_string)
    location: dict | None
    attributes: dict[str, str | list[str]] = field(default_factory=dict)
    media_url: str | None = None
    account_id: str | None = None
    person: dict[str, str] = field(default_factory=dict)  # first_name, last_name, phone, email, device_id


def _fields(form: Sequence[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Plain fields (first value wins) and `attribute[code]` / `attribute[code][]` values."""
    plain: dict[str, str] = {}
    attributes: dict[str, list[str]] = {}
    for name, value in form:
        if name.startswith("attribute[") and "]" in name:
            attributes.setdefault(name[len("attribute["):name.index("]")], []).append(value.strip())
        else:
            plain.setdefault(name, value.strip())
    for name, limit in _LIMITS.items():
        if len(plain.get(name, "")) > limit:
            raise Open311Error(400, f"{name} is longer than {limit} characters")
    return plain, attributes


def _coordinate(value: str, name: str, bound: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise Open311Error(400, f"{name} is not a number") from None
    if not math.isfinite(number) or abs(number) > bound:
        raise Open311Error(400, f"{name} is out of range")
    return number


def _place(session: Session, services: Services, plain: dict[str, str]) -> tuple[Grid, Unit | None, str, dict | None]:
    """(grid, unit, place source, location) from address_id, lat/long or address_string, in that order."""
    label = plain.get("address_string") or None
    if plain.get("address_id"):
        unit = session.scalars(select(Unit).where(Unit.code == plain["address_id"])).first()
        if unit is None:
            raise Open311Error(400, f"no unit with address_id {plain['address_id']!r}")
        return unit.grid, unit, CHANNEL, None
    if plain.get("lat") or plain.get("long"):
        lat, lng = _coordinate(plain.get("lat", ""), "lat", 90), _coordinate(plain.get("long", ""), "long", 180)
        point = locate_point(session, lat, lng)
        if point is None:
            raise Open311Error(400, "lat/long lies outside every grid of this district")
        unit = session.get(Unit, point.unit_id) if point.unit_id else None
        return session.get(Grid, point.grid_id), unit, "location", {"lat": lat, "lng": lng, "label": label}
    if label:
        matches = services.addresses.get(session).match(fold(label), limit=1)
        if not matches or not matches[0].confident:
            raise Open311Error(400, "address_string names no known unit clearly; send address_id (a unit code) "
                                    "or lat/long")
        unit = session.get(Unit, matches[0].unit_id)
        return unit.grid, unit, CHANNEL, None
    raise Open311Error(400, "a location is required: lat and long, address_string or address_id")


def _attribute_values(category: Category, given: dict[str, list[str]]) -> dict[str, str | list[str]]:
    """The category's attributes as sent, checked against their definitions; unknown codes are ignored."""
    values: dict[str, str | list[str]] = {}
    for attribute in category.attributes:
        sent = [value for value in given.get(attribute.code, []) if value]
        if not sent:
            if attribute.required:
                raise Open311Error(400, f"attribute[{attribute.code}] ({attribute.name}) is required")
            continue
        values[attribute.code] = _checked(attribute, sent)
    return values


def _checked(attribute: Attribute, sent: list[str]) -> str | list[str]:
    where = f"attribute[{attribute.code}]"
    if attribute.values:
        keys = {key for key, _ in attribute.values}
        if any(value not in keys for value in sent):
            raise Open311Error(400, f"{where} must be one of {', '.join(sorted(keys))}")
        return sent if attribute.datatype == "multivaluelist" else sent[0]
    if attribute.datatype == "number":
        _coordinate(sent[0], where, math.inf)
    if attribute.datatype == "datetime":
        try:
            datetime.fromisoformat(sent[0])
        except ValueError:
            raise Open311Error(400, f"{where} is not an ISO 8601 date-time") from None
    if len(sent[0]) > 200:
        raise Open311Error(400, f"{where} is longer than 200 characters")
    return sent[0]


def _text(description: str, category: Category, values: dict[str, str | list[str]]) -> str:
    """The case text workers read: the description, then each attribute as `名称：值`."""
    lines = [description or category.name]
    for attribute in category.attributes:
        if attribute.code in values:
            names = dict(attribute.values)
            chosen = values[attribute.code]
            shown = [names.get(v, v) for v in (chosen if isinstance(chosen, list) else [chosen])]
            lines.append(f"{attribute.name}：{'、'.join(shown)}")
    return "\n".join(lines)


def check(session: Session, services: Services, key: ApiKey, form: Sequence[tuple[str, str]]) -> Filing:
    """The request's values checked (Open311Error 400 when not acceptable); nothing is written."""
    plain, given = _fields(form)
    code = plain.get("service_code", "")
    if not code:
        raise Open311Error(400, "service_code is required")
    try:
        category = category_for(services.classifier(), code)
    except Open311Error:
        raise Open311Error(400, f"unknown service_code {code!r}; GET services lists them") from None
    if not category.grid_matter and not _department_takes(session, services, category):
        raise Open311Error(400, render("open311/department", category=category))
    description = plain.get("description", "")
    if len(description) > MAX_DESCRIPTION:
        raise Open311Error(400, f"description is longer than {MAX_DESCRIPTION} characters")
    media_url = plain.get("media_url") or None
    if media_url and not media_url.startswith(("https://", "http://")):
        raise Open311Error(400, "media_url must be an http(s) URL")
    values = _attribute_values(category, given)
    grid, unit, source, location = _place(session, services, plain)
    person = {name: plain[name] for name in ("first_name", "last_name", "phone", "email", "device_id")
              if plain.get(name)}
    return Filing(key_name=key.name, service_code=service_code(category), category=category.name,
                  text=_text(description, category, values), grid_id=grid.id, unit_id=unit.id if unit else None,
                  place_source=source, location=location, attributes=values, media_url=media_url,
                  account_id=plain.get("account_id") or None, person=person)


def _department_takes(session: Session, services: Services, category: Category) -> bool:
    """Whether a department matter goes straight to a registered department (direct routing)."""
    return whistle_rules(services.config_dir).direct_routing and taking_department(session, category.name) is not None


def inbound_for(filing: Filing) -> Inbound:
    """The filing as the intake's message (a fresh key: the spec has no idempotency key)."""
    payload = {"channel": CHANNEL, "msg_key": f"o311-{uuid.uuid4().hex}", **asdict(filing)}
    return inbound_from_payload(payload)


def inbound_from_payload(payload: dict) -> Inbound:
    """A stored Open311 message back as its `Inbound` (the intake rebuilds every message it processes)."""
    return Inbound(msg_key=payload["msg_key"], userid=reporter_of(payload["key_name"]), kind="text",
                   channel=CHANNEL, text=payload["text"], raw=payload)


def _filing(payload: dict) -> Filing:
    return Filing(**{name: payload[name] for name in Filing.__dataclass_fields__ if name in payload})


def _reporter(session: Session, filing: Filing) -> Resident | None:
    """The person behind the request, when the partner named them: workers see them as they see residents."""
    person = filing.person
    name = " ".join(part for part in (person.get("last_name"), person.get("first_name")) if part) or None
    identity = filing.account_id or person.get("email") or person.get("phone") or person.get("device_id")
    if name is None and "phone" not in person:
        return None
    userid = f"{reporter_of(filing.key_name)}:{identity or uuid.uuid4().hex}"[:64]
    resident = session.scalars(select(Resident).where(Resident.userid == userid)).first()
    if resident is None:
        resident = Resident(userid=userid)
        session.add(resident)
    resident.name = name or resident.name
    resident.phone = person.get("phone") or resident.phone
    return resident


def handle(session: Session, services: Services, inbound: Inbound, record: InboundMessage) -> str:
    """Open the request's case — routed to the grid (announced, on the 117 clock) or, for a department
    matter, straight to its department — and the service notice for the partner."""
    filing = _filing(inbound.raw)
    now = services.clock()
    category = services.classifier().catalogue.get(filing.category)
    grid = session.get(Grid, filing.grid_id)
    place = Place(grid, session.get(Unit, filing.unit_id) if filing.unit_id else None, filing.place_source,
                  filing.location)
    source, rules, resident = reporter_of(filing.key_name), clock_rules(services.config_dir), _reporter(session, filing)
    classification = {"open311": {"service_code": filing.service_code, "attributes": filing.attributes}}
    attachments = [{"kind": "image", "url": filing.media_url}] if filing.media_url else []
    original = None
    if category.grid_matter:
        case = open_case(session, text=filing.text, category=category, reporter_userid=source, resident=resident,
                         place=place, assignee=pick_assignee(session, grid.id, category.name, urgent=category.urgent),
                         now=now, rules=rules, source=source, classification=classification, attachments=attachments)
        original = announce(session, case, rules, now)
    else:
        case = route_to_department(session, source, resident, place, filing.text, category, classification, now,
                                   whistle_rules(services.config_dir), rules, source=source)
        if case is None:
            raise LookupError(f"no department takes {category.name} any more")
        case.events[0].attachments = attachments
    record.case_id, record.category = case.id, category.name
    key = session.scalars(select(ApiKey).where(ApiKey.name == filing.key_name)).first()
    if key is not None:
        key.last_used_at = now
    audit(session, actor=auditor(filing.key_name), action=FILED, target=format_case_number(case.id),
          now=now, service_code=filing.service_code, msg_key=inbound.msg_key)
    return render("open311/service_notice", case=case, category=category, original=original)


def filed(session: Session, msg_key: str, account_id: str | None) -> dict:
    """POST requests' answer once the intake has the message: the case number, else a token to ask later."""
    row = session.execute(select(InboundMessage.status, InboundMessage.case_id, InboundMessage.reply)
                          .where(InboundMessage.msg_key == msg_key)).one()
    if row.case_id is not None:
        return {"service_request_id": format_case_number(row.case_id), "service_notice": row.reply,
                "account_id": account_id}
    if row.status == "received":  # behind a backlog: the processor files it shortly
        return {"token": msg_key, "service_notice": render("open311/queued"), "account_id": account_id}
    raise Open311Error(500, "the request could not be filed; try again")
