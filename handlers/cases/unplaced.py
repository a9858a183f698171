"""Reports waiting for their place (待补地址): no grid, so no worker and no 117 clock of their own.

`place_waiting` routes one once its place is known (from its resident, or from staff: `place_by_staff`,
定位 N 地址 in chat or the console). `hand_over_due`, in the clock pass, gives those still waiting after
`place_wait` to the street's staff and asks the resident once more (once per case, a ClockMark; in quiet
hours only urgent ones), so no report waits unseen because its resident did not answer the question.

The matters of one message that all wait (`waiting_siblings`: none named its place, so they are where the
resident was) travel together: one card to staff, one question to the resident, and one place, given by
either, places them all.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from handlers.cases.authority import SYSTEM, Actor, covers
from handlers.cases.case_notices import notify_case_opened, to_reporter, to_worker
from handlers.cases.case_work import announce, repeat_of_their_own, still_unsorted
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
    """A case that waited for its place gets it: routed to the place's worker and compared as a report arriving
    placed is (`announce`, unless still to be sorted): linked to a likely duplicate (`Case.duplicate_of_id`), else
    its worker is told with the grid's group; the `place` event."""
    category = services.classifier().catalogue.get(case.category)
    assignee = pick_assignee(session, place.grid.id, category.name, urgent=category.urgent)
    rules = clock_rules(services.config_dir)
    event = place_case(session, case, place, category, assignee, actor=actor, now=now, rules=rules)
    if announce(session, case, rules, now, compare=not still_unsorted(case), tell=False, waited=True) is None:
        notify_case_opened(session, event)
    return event


def waiting_siblings(session: Session, case: Case) -> list[Case]:
    """The other cases of the message `case` is one matter of (a split message) that still wait for their place;
    none for one matter at several places (湖景苑5栋和阳光小区3栋都停水了): each part's place is its own."""
    split = (case.classification or {}).get("split")
    if not split or split.get("where"):
        return []
    found = session.scalars(select(Case).where(
        Case.resident_id == case.resident_id, Case.created_at == case.created_at, Case.id != case.id,
        Case.state == CaseState.AWAITING_PLACE).order_by(Case.id))
    return [other for other in found if ((other.classification or {}).get("split") or {}).get("message")
            == split["message"]]


class Placed(NamedTuple):
    """What 定位 did: the case's `place` event and the other matters of its message placed with it."""

    event: CaseEvent
    siblings: list[Case]


def place_by_staff(session: Session, services: Services, case: Case, words: str, actor: Actor,
                   now: datetime) -> Placed:
    """定位: staff place a waiting case, and the other matters of its message still waiting, at the unit `words`
    name (a confident match, within the actor's reach); routed, and its resident told where and who, once.
    Raises PlaceRefused."""
    if case.state != CaseState.AWAITING_PLACE:
        raise PlaceRefused("placed")
    found = services.addresses.get(session).match(fold(words), limit=1)
    unit = registry.unit(session, found[0].unit_id) if found else None
    if unit is None or not found[0].confident:
        raise PlaceRefused("not_found", unit)
    if not covers(actor, unit.grid):
        raise PlaceRefused("out_of_reach", unit)
    siblings = waiting_siblings(session, case)
    asking = pending.current(session, case.reporter_userid)
    answered = asking is not None and (asking.data or {}).get("case_id") in {case.id, *(each.id for each in siblings)}
    place = Place(unit.grid, unit, "staff")
    event = place_waiting(session, services, case, place, now, actor=actor.userid)
    for sibling in siblings:
        place_waiting(session, services, sibling, place, now, actor=actor.userid)
    still_waiting = ask_next(session, case.reporter_userid, case, now) if answered else None
    if case.duplicate_of_id is not None:
        to_reporter(session, event, "replies/duplicate_linked", original=session.get(Case, case.duplicate_of_id))
    else:
        to_reporter(session, event, "replies/case_opened", category=services.classifier().catalogue.get(case.category),
                    siblings=siblings, still_waiting=still_waiting, earlier=repeat_of_their_own(session, case))
    return Placed(event, siblings)


def ask_next(session: Session, userid: str, placed: Case, now: datetime) -> Case | None:
    """The address question about the cases just placed (`placed`, by staff or by the resident's answer) is answered:
    it moves on to the resident's latest other case still waiting for its place (a report of another message),
    returned, an answer such as 一样 meaning the place of `placed`; else it ends."""
    waiting = latest_waiting(session, userid)
    if waiting is None:
        pending.finish(session, userid)
    else:
        pending.expect(session, userid, pending.AWAIT_ADDRESS, {"case_id": waiting.id, "after": placed.id}, now)
    return waiting


def latest_waiting(session: Session, userid: str) -> Case | None:
    """The latest report of `userid` still waiting for its place."""
    return session.scalars(select(Case).where(Case.reporter_userid == userid, Case.state == CaseState.AWAITING_PLACE)
                           .order_by(Case.id.desc()).limit(1)).first()


def placing_staff(session: Session) -> list[Worker]:
    """Who places reports that have no place: the street staff on duty, else the community staff on duty."""
    for role in (WorkerRole.STREET, WorkerRole.COMMUNITY):
        staff = list(session.scalars(select(Worker).where(Worker.role == role, Worker.on_duty.is_(True))
                                     .order_by(Worker.id)))
        if staff:
            return staff
    return []


def hand_over_due(session: Session, rules: ClockRules, now: datetime) -> int:
    """Hand every report that has waited `place_wait` for its place to the staff who place it, the waiting matters
    of one message together; how many reports."""
    handed_over = 0
    marked = exists().where(ClockMark.case_id == Case.id, ClockMark.mark == MARK)
    query = select(Case).where(Case.state == CaseState.AWAITING_PLACE, Case.created_at <= now - rules.place_wait,
                               ~marked).order_by(Case.id)
    done: set[int] = set()
    for case in session.scalars(skip_locked(session, query)).all():
        if case.id in done:
            continue  # handed over with the first matter of its message
        together = [case, *waiting_siblings(session, case)]
        if rules.is_quiet(now) and not any(each.urgent for each in together):
            continue  # handed over when the quiet hours end
        try:
            with session.begin_nested():
                claimed = [each for each in together if claim(session, each, MARK, now)]
                if claimed:
                    _hand_over(session, claimed, now)
                    handed_over += len(claimed)
        except Exception:  # one case's failure does not stop the clock pass; it is tried again next pass
            log.exception("a report without a place could not be handed over", extra={"case_id": case.id})
        done.update(each.id for each in together)
    return handed_over


def hand_over_now(session: Session, rules: ClockRules, case: Case, said: str, now: datetime) -> bool:
    """A report whose resident cannot say where (不知道, 东门 of an estate in several grids) handed to the staff who
    place it now, not after `place_wait`, with the waiting matters of its message, the card quoting what the resident
    `said`; the resident, answered already, gets no notice. Claims the clock's mark, so it is handed over once; in
    quiet hours a report that is not urgent waits for the clock. Whether it was handed over now."""
    together = [case, *waiting_siblings(session, case)]
    if rules.is_quiet(now) and not any(each.urgent for each in together):
        return False
    claimed = [each for each in together if claim(session, each, MARK, now)]
    if claimed:
        _hand_over(session, claimed, now, said=said)
    return bool(claimed)


def _hand_over(session: Session, cases: list[Case], now: datetime, said: str | None = None) -> None:
    """The matters of one message (or one report) on each case's timeline, in one card to each of the staff (with
    what the resident `said` of where, when they answered the place question vaguely) and one notice to the resident
    when they did not (whose next words may be the address: it places them all)."""
    staff = placing_staff(session)
    if not staff:
        log.warning("a report without a place has nobody to place it", extra={"case_id": cases[0].id})
    events = [apply_action(session, case, "hand_over_unplaced", actor=SYSTEM.userid, now=now,
                           note="、".join(person.name for person in staff) or None) for case in cases]
    first, siblings = cases[0], cases[1:]
    for person in staff:
        to_worker(session, events[0], person, "notices/unplaced", siblings=siblings, said=said)
    if said is None:
        to_reporter(session, events[0], "notices/unplaced_resident", siblings=siblings)
    if pending.current(session, first.reporter_userid) is None:  # the resident's next words may be the address
        pending.expect(session, first.reporter_userid, pending.AWAIT_ADDRESS, {"case_id": first.id}, now)
