"""Case services: open a case, apply a transition with its audit event, look cases up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from handlers import facts
from handlers.cases.lifecycle import next_state
from handlers.cases.timing import ClockRules
from handlers.classify import Category
from models import (OPEN_STATES, Case, CaseEvent, CaseLink, CaseState, Grid, Resident, Unit, Worker, case_channel,
                    state_in)
from models.db import TransactionMemo
from models.rows import add_inserted, built, flush_pending, update_loaded
from models.statements import fetch_all


class StaleCase(Exception):
    """Another transaction moved the case first (e.g. two workers sent 接单 at once)."""


@dataclass(frozen=True)
class Place:
    """Where a case happened and how gridbot found out."""

    grid: Grid | None
    unit: Unit | None
    source: str | None  # profile / text / location / asked / worker
    location: dict | None = None


def deadlines(category: Category, start: datetime, rules: ClockRules) -> dict[str, datetime]:
    """The 117 clock from `start` (`take_due`, `plan_due`, `close_due`), with the category's own durations (and
    calendar, config/lifecycle.yaml); a non-urgent report in quiet hours starts its take clock when they end."""
    take_start = rules.take_clock_start(category.urgent, start)
    return {"take_due": rules.deadline(category.name, take_start, category.clock.take),
            "plan_due": rules.deadline(category.name, start, category.clock.plan),
            "close_due": rules.deadline(category.name, start, category.clock.close)}


def set_deadlines(case: Case, category: Category, start: datetime, rules: ClockRules) -> None:
    """The case's `deadlines` set on it."""
    for step, due in deadlines(category, start, rules).items():
        setattr(case, step, due)


def open_case(
    session: Session,
    *,
    text: str,
    category: Category,
    reporter_userid: str,
    resident: Resident | None,
    place: Place,
    assignee: Worker | None,
    now: datetime,
    rules: ClockRules,
    source: str = "resident",
    classification: dict | None = None,
    attachments: list | None = None,
) -> Case:
    """A new case and its first event, in the caller's transaction: written at once by two INSERTs
    (no unit-of-work flush), with `case.events` known without a query."""
    routed = place.grid is not None
    case = built(Case, dict(
        state=CaseState.PENDING if routed else CaseState.AWAITING_PLACE,
        category=category.name,
        priority=category.priority,
        urgent=category.urgent,
        text=text,
        source=source,
        resident=resident,
        reporter_userid=reporter_userid,
        grid=place.grid,
        unit=place.unit,
        place_source=place.source,
        location=place.location,
        assignee=assignee,
        classification=classification,
        created_at=now,
        updated_at=now,
        **(deadlines(category, now, rules) if routed else {}),
    ))
    add_inserted(session, case)
    action = "patrol" if source == "patrol" else "report"
    event = add_inserted(session, built(CaseEvent, dict(case_id=case.id, at=now, actor=reporter_userid, action=action,
                                                        from_state=None, to_state=case.state, note=None,
                                                        attachments=attachments or [])))
    set_committed_value(event, "case", case)
    set_committed_value(case, "events", [event])
    facts.note(session, "case_opened", category=category.name, source=source,
               channel=case_channel(reporter_userid, source))
    return case


def apply_action(
    session: Session,
    case: Case,
    action: str,
    *,
    actor: str,
    now: datetime,
    note: str | None = None,
    attachments: list | None = None,
    also: dict | None = None,
) -> CaseEvent:
    """Move `case` by `action` (checked in handlers.lifecycle) and record the event; `also`: more columns of
    the case written in the same UPDATE (e.g. a merge's `duplicate_of_id`).

    The move is a compare-and-set on the state read (`UPDATE … WHERE state = :before`):
    when another transaction moved the case first it raises StaleCase and changes nothing.
    On PostgreSQL the row stays locked until commit, so a case's transitions never interleave.
    """
    before = case.state
    after = next_state(before, action)
    moved = {"state": after} if after != before else {}  # a note leaves the state (and its indexes) alone
    if not update_loaded(session, case, {**moved, "updated_at": now, **(also or {})}, only_if={"state": before}):
        raise StaleCase(case.id)
    event = add_inserted(session, built(CaseEvent, dict(case_id=case.id, at=now, actor=actor, action=action,
                                                        from_state=before, to_state=after, note=note,
                                                        attachments=attachments or [])))
    set_committed_value(event, "case", case)
    if "events" in inspect(case).dict:  # loaded: the new event joins it, as a flush would have added it
        set_committed_value(case, "events", [*case.events, event])
    return event


def place_case(session: Session, case: Case, place: Place, category: Category,
               assignee: Worker | None, *, actor: str, now: datetime, rules: ClockRules) -> CaseEvent:
    """A case that waited for its address gets a place, an assignee and its clock."""
    case.grid, case.unit, case.place_source, case.location = place.grid, place.unit, place.source, place.location
    case.grid_id, case.unit_id = place.grid.id, place.unit.id if place.unit else None  # read before a flush
    case.assignee = assignee
    set_deadlines(case, category, now, rules)
    note = place.unit.address if place.unit else (place.location or {}).get("label")
    return apply_action(session, case, "place", actor=actor, now=now, note=note)


_LINKS = CaseLink.__table__.c
_FOLLOWERS = select(_LINKS.userid).where(_LINKS.case_id == bindparam("case_id")).order_by(_LINKS.id)


def followers_of(session: Session, case_id: int) -> list[str]:
    """The residents following a case (its likely duplicates' reporters), oldest first; without the reporter."""
    flush_pending(session, CaseLink)  # then straight to the driver: no autoflush of anything else
    return [userid for userid, in fetch_all(session, _FOLLOWERS, {"case_id": case_id})]


def get_case(session: Session, case_id: int) -> Case | None:
    return session.get(Case, case_id)


# Found on the resident's own cases (ix_cases_resident_id): by reporter alone SQLite reads every case newer than the one
# it finds, every case for someone with none open (a typhoon night's new residents), and `drafts.late_choice` asks on
# every text a resident sends.
_LATEST_OPEN_OF_RESIDENT = (select(Case.id)
                            .where(Case.resident_id == bindparam("resident_id"),
                                   Case.reporter_userid == bindparam("userid"),
                                   state_in([*OPEN_STATES, CaseState.CLOSED]))
                            .order_by(Case.id.desc()).limit(1))


# Residents registered in this transaction who have no case yet (a typhoon night's first-time reporters): their cases
# are not read, no statement is needed to find none. Forgotten at any write to cases (a case of theirs may be opened),
# at a savepoint rolled back and at the transaction's end.
_CASELESS = TransactionMemo("gridbot_caseless_residents", frozenset({Case.__tablename__}))


def registered_now(session: Session, resident: Resident) -> None:
    """`resident` was registered in this transaction (inserted just now): no case of theirs exists yet."""
    _CASELESS.get(session)[resident.id] = True


def has_no_case(session: Session, resident: Resident) -> bool:
    """Whether `resident` is known, without SQL, to have no case: registered in this transaction, and no case
    written since."""
    return resident.id in _CASELESS.get(session)


def latest_open_case_of(session: Session, resident: Resident) -> Case | None:
    """`latest_open_case` of a resident's own reports (the cases they reported as this resident), read on an index."""
    if has_no_case(session, resident):
        return None
    flush_pending(session, Case)  # then straight to the driver: no autoflush of anything else
    found = fetch_all(session, _LATEST_OPEN_OF_RESIDENT, {"resident_id": resident.id, "userid": resident.userid})
    return session.get(Case, found[0][0]) if found else None


def latest_open_case(session: Session, reporter_userid: str) -> Case | None:
    """The reporter's most recent case that is still open (or waiting for a rating)."""
    return session.scalars(
        select(Case)
        .where(Case.reporter_userid == reporter_userid, Case.state.in_([*OPEN_STATES, CaseState.CLOSED]))
        .order_by(Case.id.desc())
        .limit(1)
    ).first()
