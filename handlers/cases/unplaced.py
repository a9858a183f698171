"""Reports waiting for their place (待补地址): no grid, so no worker and no 117 clock of their own.

`place_waiting` routes one once its place is known (from its resident, or from staff: `place_by_staff`,
定位 N 地址 in chat or the console). `hand_over_due`, in the clock pass, gives those still waiting after
`place_wait` to the street's staff and asks the resident once more (once per case, a ClockMark; in quiet
hours only urgent ones), so no report waits unseen because its resident did not answer the question.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from handlers.cases.authority import SYSTEM, Actor, covers
from handlers.cases.case_notices import notify_case_opened, to_reporter, to_worker
from handlers.cases.clock import claim, skip_locked
from handlers.cases.records import Place, apply_action, place_case
from handlers.cases.timing import ClockRules, clock_rules
from handlers.chat import pending
from handlers.chat.commands import fold
from handlers.places.routing import pick_assignee
from handlers.registry import cache as registry
from handlers.services import Services
from models import Case, CaseEvent, CaseState, ClockMark, Unit, Worker, WorkerRole

log = logging.getLogger("gridbot.clock")

MARK = "place:handover"


class PlaceRefused(ValueError):
    """定位 not done: the case has its place (`placed`), the words name no known unit (`not_found`, with the
    closest `unit` if any), or the unit lies outside the actor's reach (`out_of_reach`)."""

    def __init__(self, reason: str, unit: Unit | None = None) -> None:
        super().__init__(reason)
        self.reason, self.unit = reason, unit


def place_waiting(session: Session, services: Services, case: Case, place: Place, now: datetime, *,
                  actor: str) -> CaseEvent:
    """A case that waited for its place gets it: routed to the place's worker, who is told with the grid's
    group; the `place` event."""
    category = services.classifier().catalogue.get(case.category)
    assignee = pick_assignee(session, place.grid.id, category.name, urgent=category.urgent)
    event = place_case(session, case, place, category, assignee, actor=actor, now=now,
                       rules=clock_rules(services.config_dir))
    notify_case_opened(session, event)
    return event


def place_by_staff(session: Session, services: Services, case: Case, words: str, actor: Actor,
                   now: datetime) -> CaseEvent:
    """定位: staff place a waiting case at the unit `words` name (a confident match, within the actor's reach);
    routed, and its resident told where and who. Raises PlaceRefused."""
    if case.state != CaseState.AWAITING_PLACE:
        raise PlaceRefused("placed")
    found = services.addresses.get(session).match(fold(words), limit=1)
    unit = registry.unit(session, found[0].unit_id) if found else None
    if unit is None or not found[0].confident:
        raise PlaceRefused("not_found", unit)
    if not covers(actor, unit.grid):
        raise PlaceRefused("out_of_reach", unit)
    asking = pending.current(session, case.reporter_userid)
    if asking is not None and (asking.data or {}).get("case_id") == case.id:
        pending.finish(session, case.reporter_userid)  # the address question is answered
    event = place_waiting(session, services, case, Place(unit.grid, unit, "staff"), now, actor=actor.userid)
    to_reporter(session, event, "replies/case_opened", category=services.classifier().catalogue.get(case.category))
    return event


def placing_staff(session: Session) -> list[Worker]:
    """Who places reports that have no place: the street staff on duty, else the community staff on duty."""
    for role in (WorkerRole.STREET, WorkerRole.COMMUNITY):
        staff = list(session.scalars(select(Worker).where(Worker.role == role, Worker.on_duty.is_(True))
                                     .order_by(Worker.id)))
        if staff:
            return staff
    return []


def hand_over_due(session: Session, rules: ClockRules, now: datetime) -> int:
    """Hand every report that has waited `place_wait` for its place to the staff who place it; how many."""
    handed_over = 0
    marked = exists().where(ClockMark.case_id == Case.id, ClockMark.mark == MARK)
    query = select(Case).where(Case.state == CaseState.AWAITING_PLACE, Case.created_at <= now - rules.place_wait,
                               ~marked).order_by(Case.id)
    for case in session.scalars(skip_locked(session, query)).all():
        if rules.is_quiet(now) and not case.urgent:
            continue  # handed over when the quiet hours end
        try:
            with session.begin_nested():
                if claim(session, case, MARK, now):
                    _hand_over(session, case, now)
                    handed_over += 1
        except Exception:  # one case's failure does not stop the clock pass; it is tried again next pass
            log.exception("a report without a place could not be handed over", extra={"case_id": case.id})
    return handed_over


def _hand_over(session: Session, case: Case, now: datetime) -> None:
    staff = placing_staff(session)
    if not staff:
        log.warning("a report without a place has nobody to place it", extra={"case_id": case.id})
    event = apply_action(session, case, "hand_over_unplaced", actor=SYSTEM.userid, now=now,
                         note="、".join(person.name for person in staff) or None)
    for person in staff:
        to_worker(session, event, person, "notices/unplaced")
    to_reporter(session, event, "notices/unplaced_resident")
    if pending.current(session, case.reporter_userid) is None:  # the resident's next words may be the address
        pending.expect(session, case.reporter_userid, pending.AWAIT_ADDRESS, {"case_id": case.id}, now)
