"""Following requests (GET requests, requests/{id}, tokens/{token}): cases as GeoReport v2 requests.

Every case can be followed, whichever channel it came through, and nothing personal leaves:
no name, phone or e-mail; the description only of requests a partner filed (a resident's
chat words were not written for publication), numbers in texts masked; the place no finer
than the unit (its address, code and coordinates, never the reported location).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from handlers.cases.timing import open_steps
from handlers.chat.case_numbers import format_case_number, parse_case_number
from handlers.classify import Category, Classifier
from handlers.open311.errors import Open311Error
from handlers.open311.keys import SOURCE_PREFIX
from handlers.open311.services import service_code
from handlers.privacy.masking import mask_text
from handlers.texts import BEIJING, label
from models import OPEN_STATES, Case, CaseEvent, InboundMessage

MAX_SPAN = timedelta(days=90)
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
# Bookkeeping, not a step of the case (a 回头件's note names an earlier case: the partner follows that one itself).
_QUIET_ACTIONS = {"remind", "note", "attach", "follow_up", "archive", "overdue", "notice_undelivered", "repeat"}
_LOAD = (selectinload(Case.grid), selectinload(Case.unit), selectinload(Case.events))


@dataclass(frozen=True)
class RequestQuery:
    """The filters of GET requests, checked."""

    case_ids: list[int] | None  # service_request_id: overrides every other filter (the spec)
    categories: list[str] | None  # from service_code
    start: datetime
    end: datetime
    statuses: set[str]  # open / closed; empty: both
    page: int
    page_size: int


def _moment(value: str, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise Open311Error(400, f"{name} is not a W3C date-time such as 2026-11-01T00:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _positive(params: Mapping[str, str], name: str, default: int, most: int) -> int:
    value = params.get(name) or str(default)
    if not value.isdigit() or not 1 <= int(value) <= most:
        raise Open311Error(400, f"{name} must be a whole number from 1 to {most}")
    return int(value)


def _listed(value: str | None) -> list[str]:
    return [item.strip() for item in (value or "").split(",") if item.strip()]


def parse_query(params: Mapping[str, str], classifier: Classifier, now: datetime) -> RequestQuery:
    """GET requests' parameters as a `RequestQuery`; Open311Error 400 for a bad one."""
    ids = _listed(params.get("service_request_id"))
    case_ids = [parse_case_number(item) for item in ids]
    if None in case_ids:
        raise Open311Error(400, "service_request_id must list case numbers such as GB-000123")
    codes = _listed(params.get("service_code"))
    by_code = {service_code(category): category.name for category in classifier.catalogue}
    start = _moment(params["start_date"], "start_date") if params.get("start_date") else None
    end = _moment(params["end_date"], "end_date") if params.get("end_date") else None
    start, end = start or (end or now) - MAX_SPAN, end or (min(start + MAX_SPAN, now) if start else now)
    if end < start or end - start > MAX_SPAN:
        raise Open311Error(400, "start_date must come before end_date, at most 90 days apart")
    statuses = set(_listed(params.get("status")))
    if not statuses <= {"open", "closed"}:
        raise Open311Error(400, "status must be open, closed or both (comma separated)")
    return RequestQuery(case_ids=case_ids or None, categories=[by_code.get(code, code) for code in codes] or None,
                        start=start, end=end, statuses=statuses if len(statuses) == 1 else set(),
                        page=_positive(params, "page", 1, 10**6),
                        page_size=_positive(params, "page_size", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE))


def find_requests(session: Session, classifier: Classifier, query: RequestQuery) -> list[dict]:
    """One page of matching cases as requests, newest first."""
    statement = select(Case).options(*_LOAD)
    if query.case_ids is not None:
        statement = statement.where(Case.id.in_(query.case_ids))
    else:
        statement = statement.where(Case.created_at >= query.start, Case.created_at <= query.end)
        if query.categories is not None:
            statement = statement.where(Case.category.in_(query.categories))
        if query.statuses == {"open"}:
            statement = statement.where(Case.state.in_(OPEN_STATES))
        elif query.statuses == {"closed"}:
            statement = statement.where(Case.state.not_in(OPEN_STATES))
    statement = (statement.order_by(Case.created_at.desc(), Case.id.desc())
                 .offset((query.page - 1) * query.page_size).limit(query.page_size))
    return [request_view(case, classifier) for case in session.scalars(statement)]


def request_detail(session: Session, classifier: Classifier, number: str) -> list[dict]:
    """GET requests/{id}: a one-item list; Open311Error 404 when there is no such case."""
    case_id = parse_case_number(number)
    case = session.scalars(select(Case).where(Case.id == case_id).options(*_LOAD)).first() if case_id else None
    if case is None:
        raise Open311Error(404, f"no request {number!r}")
    return [request_view(case, classifier)]


def token_status(session: Session, token: str) -> list[dict]:
    """GET tokens/{token}: the request id a queued filing got (null while it waits)."""
    row = session.execute(select(InboundMessage.status, InboundMessage.case_id).where(
        InboundMessage.msg_key == token, InboundMessage.channel == "open311")).first()
    if row is None or row.status == "failed":
        raise Open311Error(404, f"no request was filed under token {token!r}")
    return [{"service_request_id": format_case_number(row.case_id) if row.case_id else None, "token": token}]


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with the Beijing offset, e.g. 2026-11-29T10:00:00+08:00."""
    return moment.astimezone(BEIJING).isoformat(timespec="seconds") if moment else None


def _status_notes(case: Case) -> str:
    steps = [event for event in case.events if event.action not in _QUIET_ACTIONS]
    latest: CaseEvent | None = steps[-1] if steps else None
    notes = label("states", case.state)
    if latest is not None and latest.note:
        notes += f"（{label('actions', latest.action)}：{mask_text(latest.note)}）"
    return notes


def _agency(case: Case, category: Category | None) -> str | None:
    """The grid; for a department matter, the department it went to."""
    if case.department and category is not None and not category.grid_matter:
        return case.department
    return case.grid.name if case.grid else case.department


def _media_url(case: Case) -> str | None:
    report = case.events[0] if case.events else None
    urls = [item["url"] for item in (report.attachments if report else []) if item.get("url")]
    return urls[0] if urls else None


def request_view(case: Case, classifier: Classifier) -> dict:
    """A case as a GeoReport v2 request, in the spec's field order."""
    category = classifier.catalogue.categories.get(case.category or "")
    still_open = case.state in OPEN_STATES
    steps = open_steps(case) if still_open else []
    return {
        "service_request_id": format_case_number(case.id),
        "status": "open" if still_open else "closed",
        "status_notes": _status_notes(case),
        "service_name": case.category,
        "service_code": service_code(category) if category else case.category,
        "description": mask_text(case.text) if case.source.startswith(SOURCE_PREFIX) else None,
        "agency_responsible": _agency(case, category),
        "service_notice": None,
        "requested_datetime": iso(case.created_at),
        "updated_datetime": iso(case.updated_at),
        "expected_datetime": iso(steps[0][1]) if steps else None,
        "address": case.unit.address if case.unit else None,
        "address_id": case.unit.code if case.unit else None,
        "zipcode": None,
        "lat": case.unit.lat if case.unit else None,
        "long": case.unit.lng if case.unit else None,
        "media_url": _media_url(case),
    }
