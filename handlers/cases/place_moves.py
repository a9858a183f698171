"""A routed case's place corrected after the report (说错了，应该是8栋): the case moves there.

Within its grid it stays with its worker, who is told the new place; in another grid it goes to that grid's worker
(转派, to be taken there: a taken case too), and the worker who had it hears it is no longer theirs.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from handlers.cases.authority import Actor
from handlers.cases.case_notices import notify_event
from handlers.cases.case_work import reassign
from handlers.cases.records import Place, apply_action
from handlers.classify import Category
from handlers.places.routing import pick_assignee
from models import Case, CaseEvent, CaseState

MOVABLE = frozenset({CaseState.PENDING, CaseState.IN_PROGRESS, CaseState.ESCALATED, CaseState.SUSPENDED})


def move_place(session: Session, case: Case, place: Place, category: Category, actor: Actor,
               now: datetime) -> CaseEvent:
    """`case` (in a MOVABLE state) moved to `place`: the `move_place` event (from where to where), its assignee told,
    and, in another grid, handed to that grid's worker for `category` (the previous one told they need not go on)."""
    previous = _label(case)
    other_grid = place.grid is not None and place.grid.id != case.grid_id
    case.grid, case.unit, case.place_source, case.location = place.grid, place.unit, place.source, place.location
    case.grid_id, case.unit_id = place.grid.id, place.unit.id if place.unit else None  # read before a flush
    event = apply_action(session, case, "move_place", actor=actor.userid, now=now, note=f"{previous} → {_label(case)}")
    assignee = pick_assignee(session, case.grid_id, category.name, urgent=category.urgent) if other_grid else None
    moves = assignee is not None and assignee.id != case.assignee_id
    notify_event(session, event, tell_reporter=False, handed_to=assignee if moves else None)
    if moves:
        reassign(session, case, actor, assignee, now, category.clock.take, tell_reporter=False,
                 place_change={"previous": previous})
    return event


def _label(case: Case) -> str:
    """Where a case is, as its notices say it: the unit's address, else its grid's name."""
    if case.unit is not None:
        return case.unit.address
    return case.grid.name if case.grid is not None else ""
