"""上报 (日巡查): a worker reports what they found on patrol as a case in their own grid."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from handlers.cases.case_notices import notify_case_opened
from handlers.cases.records import Place, apply_action, open_case
from handlers.cases.timing import clock_rules
from handlers.points.ledger import award
from handlers.services import Services
from handlers.texts import render
from models import Grid, InboundMessage, Unit, Worker, WorkerRole


def _place(session: Session, services: Services, worker: Worker, text: str, chat_id: str | None) -> Place | None:
    """A unit of the worker's grids named in the text, else the grid whose group it was said in,
    else the worker's first grid."""
    grids = worker.grids
    if not grids:
        return None
    for match in services.addresses.get(session).match(text, limit=1):
        unit = session.get(Unit, match.unit_id)
        if match.confident and unit is not None and unit.grid in grids:
            return Place(unit.grid, unit, "worker")
    grid: Grid = next((g for g in grids if chat_id and g.chat_id == chat_id), grids[0])
    return Place(grid, None, "worker")


def report(session: Session, services: Services, worker: Worker, text: str, record: InboundMessage,
           now: datetime, chat_id: str | None = None, *, place: Place | None = None,
           reply: str = "replies/patrol_opened") -> str:
    """A patrol case, classified like a resident's report, in the worker's grid (or at `place` when the
    caller knows it, e.g. a visited person's unit) and in their hands: they found it, they hold it."""
    if not text:
        return render("replies/worker_usage", command="patrol")
    place = place or _place(session, services, worker, text, chat_id)
    if place is None:
        return render("replies/patrol_no_grid")
    classifier = services.classifier()
    decision = classifier.classify(text)
    record.category = decision.category
    name = decision.category or next((c.category for c in decision.candidates), None)
    if name is None:
        return render("replies/patrol_not_understood")
    category = classifier.catalogue.get(name)
    if not category.grid_matter:
        return render("replies/department", category=category)
    case = open_case(session, text=text, category=category, reporter_userid=worker.userid, resident=None,
                     place=place, assignee=worker, now=now,
                     rules=clock_rules(services.config_dir), source="patrol",
                     classification=decision.stored())
    record.case_id = case.id
    notify_case_opened(session, case.events[0])
    apply_action(session, case, "take", actor=worker.userid, now=now)  # found it, holds it: 处置中
    case.taken_at = now
    if worker.role == WorkerRole.UNIT_HEAD:  # 单元长 duty: reporting from their building earns
        award(session, worker.userid, "worker", "unit_head_report", case.id, now)
    return render(reply, case=case, category=category)
