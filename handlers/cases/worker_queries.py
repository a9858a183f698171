"""What a worker can look up: one case (查), their open cases (我的), overdue ones (超时), points (积分)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from handlers.cases.authority import AREA_ROLES, Actor, may_view
from handlers.cases.timing import CLOCK_STATES, due_by, open_steps, overdue_by
from handlers.points.ledger import balance_reply
from handlers.texts import render
from models import OPEN_STATES, Case, CaseState, Worker, WorkerRole

LIST_LIMIT = 20
SUPERVISED_LEVEL = {WorkerRole.LEADER: 1, WorkerRole.COMMUNITY: 2, WorkerRole.STREET: 3}  # 待我督办 from


def show(case: Case, now: datetime, *, masked: bool) -> str:
    """查 N: the case, its deadlines and its timeline."""
    return render("replies/worker_case", case=case, steps=open_steps(case), late=overdue_by(case, now),
                  now=now, masked=masked)


def _urgency(case: Case, now: datetime) -> tuple:
    """Overdue first (most late first), then by the next deadline, then newest."""
    late = overdue_by(case, now)
    steps = open_steps(case)
    return (late is None, -(late.total_seconds() if late else 0),
            steps[0][1] if steps else datetime.max.replace(tzinfo=now.tzinfo), -case.id)


def _rows(cases: list[Case], now: datetime) -> list[tuple[Case, timedelta | None]]:
    ordered = sorted(cases, key=lambda case: _urgency(case, now))[:LIST_LIMIT]
    return [(case, overdue_by(case, now)) for case in ordered]


def _in_reach(session: Session, worker: Worker, query) -> list[Case]:
    """The cases `query` finds in the worker's grids (community/street staff: their whole area)."""
    query = query.options(selectinload(Case.grid), selectinload(Case.assignee))
    if worker.role not in AREA_ROLES:
        query = query.where(Case.grid_id.in_([grid.id for grid in worker.grids]))
    actor = Actor.for_worker(worker)
    return [case for case in session.scalars(query) if may_view(actor, case)]


def mine(session: Session, worker: Worker, now: datetime) -> str:
    """我的: the worker's open cases, overdue first; for a leader or higher level also 待我督办, the cases
    escalated to their level or above that someone else holds."""
    cases = list(session.scalars(select(Case).where(Case.assignee_id == worker.id, Case.state.in_(OPEN_STATES))))
    level = SUPERVISED_LEVEL.get(worker.role)
    supervised = [] if level is None else [
        case for case in _in_reach(session, worker, select(Case).where(Case.state.in_(OPEN_STATES),
                                                                      Case.level >= level))
        if case.assignee_id != worker.id]
    return render("replies/worker_cases", title="mine", rows=_rows(cases, now), total=len(cases),
                  supervised=_rows(supervised, now))


def overdue(session: Session, worker: Worker, now: datetime) -> str:
    """超时: overdue and escalated cases in the worker's reach."""
    query = select(Case).where(Case.state.in_(CLOCK_STATES), or_(due_by(now), Case.state == CaseState.ESCALATED))
    cases = _in_reach(session, worker, query)
    return render("replies/worker_cases", title="overdue", rows=_rows(cases, now), total=len(cases))


def points(session: Session, worker: Worker) -> str:
    """积分: balance and rank among the workers of the same grids."""
    peers = sorted({peer.userid for grid in worker.grids for peer in grid.workers} | {worker.userid})
    return balance_reply(session, worker.userid, peers)
