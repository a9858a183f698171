"""What a worker can look up: one case (查), their open cases (我的), overdue ones (超时), points (积分)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from handlers.cases.authority import AREA_ROLES, Actor, may_view
from handlers.cases.points import balance_reply
from handlers.texts import render
from handlers.cases.timing import CLOCK_STATES, due_by, open_steps, overdue_by
from models import OPEN_STATES, Case, Worker

LIST_LIMIT = 20


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


def mine(session: Session, worker: Worker, now: datetime) -> str:
    """我的: the worker's open cases, overdue first."""
    cases = list(session.scalars(select(Case).where(Case.assignee_id == worker.id, Case.state.in_(OPEN_STATES))))
    return render("replies/worker_cases", title="mine", rows=_rows(cases, now), total=len(cases))


def overdue(session: Session, worker: Worker, now: datetime) -> str:
    """超时: overdue cases in the worker's grids (community/street staff: their whole area)."""
    query = (select(Case).where(Case.state.in_(CLOCK_STATES), due_by(now))
             .options(selectinload(Case.grid), selectinload(Case.assignee)))
    if worker.role not in AREA_ROLES:
        query = query.where(Case.grid_id.in_([grid.id for grid in worker.grids]))
    actor = Actor.for_worker(worker)
    cases = [case for case in session.scalars(query) if may_view(actor, case)]
    return render("replies/worker_cases", title="overdue", rows=_rows(cases, now), total=len(cases))


def points(session: Session, worker: Worker) -> str:
    """积分: balance and rank among the workers of the same grids."""
    peers = sorted({peer.userid for grid in worker.grids for peer in grid.workers} | {worker.userid})
    return balance_reply(session, worker.userid, peers)
