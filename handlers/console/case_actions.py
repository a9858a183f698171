"""Case actions taken in the console: the chat commands' lifecycle code, with the console user as the
`Actor` (`admin:<username>`, scoped like their account), checked by the same authority rules as chat."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers.cases import case_work, unplaced
from handlers.cases.authority import Actor, may_act, may_assign
from handlers.cases.case_notices import notify_event
from handlers.cases.escalation import escalate
from handlers.cases.records import apply_action
from handlers.chat.case_numbers import format_case_number
from handlers.classify import Category
from handlers.console.audit import record
from handlers.places.routing import pick_assignee
from handlers.services import Services
from models import Case, CaseEvent, Worker

ACTIONS = ("assign", "escalate", "close", "note", "recategorize", "place")


class Acted(NamedTuple):
    """What a console action did: its event, and the other matters of the case's message that 定位 placed with it."""

    event: CaseEvent
    placed_with: tuple[int, ...] = ()


class ActionError(ValueError):
    """The console cannot do this (unknown worker, worker on leave, out of scope, nothing above the case's level,
    empty note, a place not found: `place_not_found` …)."""


def act(session: Session, case: Case, action: str, *, username: str, scope: frozenset[int] | None, now: datetime,
        note: str = "", worker_userid: str = "", take_window: timedelta = timedelta(hours=1),
        category: Category | None = None, services: Services | None = None) -> Acted:
    """Apply one console action to `case` as `username` (whose account covers the grids `scope`; None: all),
    audit it, and return its event (with, for 定位, the other matters of the message placed with it).

    `recategorize` (改类) needs `category`; it is stored as a correction like a worker's 改类 in chat.
    `place` (定位) needs `services` and the address in `note`, as 定位 N 地址 in chat.

    Raises handlers.cases.lifecycle.IllegalTransition when the case's state does not allow it.
    """
    actor, placed_with = Actor.for_console(username, scope), ()
    if not may_act(actor, case):
        raise ActionError("scope")
    note = note.strip()
    if action == "assign":
        target = session.scalars(select(Worker).where(Worker.userid == worker_userid.strip())).first()
        if target is None:
            raise ActionError("worker")
        if not target.on_duty:  # as 转派 in chat: a case is not handed to someone on leave
            raise ActionError("on_leave")
        if not may_assign(actor, case, target):
            raise ActionError("scope")
        event = case_work.reassign(session, case, actor, target, now, take_window)
    elif action == "escalate":
        event = escalate(session, case, action="escalate", actor=actor.userid, now=now, note=note or None)
        if event is None:
            raise ActionError("top_level")
    elif action == "close":
        event = case_work.close(session, case, actor, note, now)
    elif action == "recategorize":
        event = _recategorize(session, case, actor, category, now)
        note = event.note or ""
    elif action == "place" and services is not None:
        try:
            placed = unplaced.place_by_staff(session, services, case, note, actor, now)
            event, placed_with = placed.event, tuple(sibling.id for sibling in placed.siblings)
        except unplaced.PlaceRefused as refused:
            raise ActionError(f"place_{refused.reason}") from None
    elif action == "note":
        if not note:
            raise ActionError("empty_note")
        event = apply_action(session, case, "note", actor=actor.userid, now=now, note=note)
        notify_event(session, event, tell_reporter=False)
    else:
        raise ActionError("action")
    record(session, actor=username, action=f"case_{action}", target=format_case_number(case.id), now=now,
           note=note or None, worker=worker_userid or None, state=case.state)
    return Acted(event, placed_with)


def _recategorize(session: Session, case: Case, actor: Actor, category: Category | None,
                  now: datetime) -> CaseEvent:
    """改类 from the console: a grid matter other than the case's own, routed like the chat command."""
    if category is None or not category.grid_matter:
        raise ActionError("category")
    if category.name == case.category:
        raise ActionError("same_category")
    assignee = pick_assignee(session, case.grid_id, category.name, urgent=category.urgent) if case.grid_id else None
    return case_work.recategorize(session, case, actor, category, assignee, now, source="console")
