"""Cases as plain dicts: the shape `gridbot case show/list --json` prints (the contract)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from handlers.cases.authority import SYSTEM
from handlers.chat.case_numbers import format_case_number, parse_case_number
from handlers.texts import label
from models import Case, Resident, Worker

CONSOLE_PREFIX = "admin:"


def case_summary(case: Case) -> dict:
    return {
        "number": format_case_number(case.id),
        "state": case.state,
        "state_label": label("states", case.state),
        "category": case.category,
        "grid": case.grid.code if case.grid else None,
        "unit": case.unit.code if case.unit else None,
        "assignee": case.assignee.userid if case.assignee else None,
        "reporter": case.reporter_userid,
        "source": case.source,
        "level": case.level,
        "urgent": case.urgent,
        "place_source": case.place_source,
        "text": case.text,
        "created_at": case.created_at.isoformat(),
        "take_due": case.take_due.isoformat() if case.take_due else None,
        "plan_due": case.plan_due.isoformat() if case.plan_due else None,
        "close_due": case.close_due.isoformat() if case.close_due else None,
        "rating": case.rating,
        "duplicate_of": format_case_number(case.duplicate_of_id) if case.duplicate_of_id else None,
        "department": case.department,
        "suspect_of": format_case_number(case.suspect_of_id) if case.suspect_of_id else None,
        "repeat_of": format_case_number(case.repeat_of_id) if case.repeat_of_id else None,
    }


def case_detail(case: Case) -> dict:
    return {
        **case_summary(case),
        "events": [
            {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "state": e.to_state,
             "from_state": e.from_state, "note": e.note, "attachments": e.attachments}
            for e in case.events
        ],
    }


_LOAD = (selectinload(Case.grid), selectinload(Case.unit), selectinload(Case.assignee))


def find_case(session: Session, ref: str) -> Case | None:
    case_id = parse_case_number(ref)
    if case_id is None:
        return None
    return session.scalars(select(Case).where(Case.id == case_id).options(*_LOAD, selectinload(Case.events))).first()


def list_cases(session: Session, state: str | None = None, limit: int = 1000) -> list[Case]:
    query = select(Case).options(*_LOAD).order_by(Case.id.desc()).limit(limit)
    if state:
        query = query.where(Case.state == state)
    return list(session.scalars(query))


def actor_names(session: Session, actors: set[str]) -> dict[str, str]:
    """How a timeline names each actor: a worker's or resident's name, 系统, or a console user's name."""
    names = {actor: f"{actor.removeprefix(CONSOLE_PREFIX)}（控制台）" for actor in actors
             if actor.startswith(CONSOLE_PREFIX)}
    if SYSTEM.userid in actors:
        names[SYSTEM.userid] = SYSTEM.name
    for model in (Worker, Resident):
        rows = session.execute(select(model.userid, model.name).where(model.userid.in_(actors - names.keys())))
        names.update({userid: name for userid, name in rows if name})
    return names
